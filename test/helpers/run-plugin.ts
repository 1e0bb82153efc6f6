/**
 * Test-only exec-protocol entry for one built-in plugin:
 *   node dist/test/helpers/run-plugin.js <type>
 * reads CNI_* from the environment and the config from stdin, runs the
 * plugin through src/cni/skel.ts, and writes exactly the result or error JSON.
 * Used to run our host-local side by side with the reference binary.
 */
import {runSkel} from '../../src/cni/skel.js';
import {makeDeps} from '../../src/deps.js';
import {loadBuiltin} from '../../src/plugins/registry.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const type = process.argv[2];
  if (!type) {
    process.stderr.write('usage: run-plugin <type>\n');
    process.exit(2);
  }
  const env = process.env;
  const stdin = env.CNI_COMMAND && env.CNI_COMMAND !== 'VERSION' ? await readStdin() : '';
  const out = await runSkel(env, stdin, loadBuiltin, makeDeps(), {name: type});
  if (out.stderr) process.stderr.write(out.stderr);
  process.stdout.write(out.stdout);
  process.exitCode = out.exitCode;
}

void main();
