import {execFile} from 'node:child_process';
import {fileURLToPath} from 'node:url';

/** The command npm links (the sh launcher of bin/run.cjs): what a user runs. */
export const CLI_BIN = fileURLToPath(new URL('../../../bin/cni-docker', import.meta.url));
export const CONFIGS = fileURLToPath(new URL('../../../configs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (`bin/cni-docker ...`) and collect its output. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(CLI_BIN, args, {env: {...process.env, ...env}, maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({code, stdout, stderr});
    });
  });
}

/** Run the CLI, expect exit 0, and parse its --json output. */
export async function cliJson<T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const r = await cli([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`cni-docker ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}
