/**
 * One injected runner for every subprocess: argv in, stdout/stderr/exit code out.
 * Nothing is ever passed through a shell. execa is imported lazily so that
 * commands that never spawn a process do not pay for it at start-up.
 */
export interface RunOptions {
  /** Data written to the child's stdin. */
  input?: string | Buffer;
  /** Throw CommandError on a non-zero exit (default true). */
  reject?: boolean;
  /** Extra environment variables (merged over process.env unless extendEnv is false). */
  env?: Record<string, string | undefined>;
  /** When false, the child sees only `env`. Default true. */
  extendEnv?: boolean;
  /** Kill the child after this many milliseconds. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Runner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** A subprocess that failed: carries argv, exit code and stderr. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number, stdout: string, stderr: string) {
    const detail = stderr.trim() || stdout.trim() || `exit status ${exitCode}`;
    super(`${argv.join(' ')}: ${detail}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** The child's own words, without the argv prefix. */
  get detail(): string {
    return this.stderr.trim() || this.stdout.trim() || `exit status ${this.exitCode}`;
  }
}

type ExecaFn = typeof import('execa').execa;
let execaFn: ExecaFn | undefined;

async function loadExeca(): Promise<ExecaFn> {
  if (!execaFn) execaFn = (await import('execa')).execa;
  return execaFn;
}

/** The real runner, backed by execa. */
export function execaRunner(): Runner {
  return {
    async run(file, args, options = {}) {
      const execa = await loadExeca();
      const r = await execa(file, [...args], {
        input: options.input,
        reject: false,
        env: options.env,
        extendEnv: options.extendEnv ?? true,
        timeout: options.timeoutMs,
        stripFinalNewline: false,
        encoding: 'utf8',
      });
      const result: RunResult = {
        stdout: String(r.stdout ?? ''),
        stderr: String(r.stderr ?? ''),
        exitCode: typeof r.exitCode === 'number' ? r.exitCode : (r.failed ? 1 : 0),
      };
      if (r.failed && r.exitCode === undefined && !result.stderr) {
        result.stderr = r.shortMessage ?? String(r.message ?? 'failed to start');
        result.exitCode = 127;
      }
      if ((options.reject ?? true) && result.exitCode !== 0) {
        throw new CommandError([file, ...args], result.exitCode, result.stdout, result.stderr);
      }
      return result;
    },
  };
}

/**
 * The real runner on node:child_process directly: same contract as
 * execaRunner() (no shell, stdin from `input`, env merged unless extendEnv is
 * false, exit 127 with the spawn error when the file cannot be started), but
 * without execa's import cost (~150 ms) on every CLI start. `base` is the
 * environment and working directory the children start from (default: this
 * process's); the service (src/service/) runs each request with its client's.
 */
export function spawnRunner(base: {env?: NodeJS.ProcessEnv; cwd?: string} = {}): Runner {
  return {
    async run(file, args, options = {}) {
      const {spawn} = await import('node:child_process');
      const baseEnv = base.env ?? process.env;
      const env = options.extendEnv === false ? {...options.env} : options.env ? {...baseEnv, ...options.env} : baseEnv;
      const result = await new Promise<RunResult>((resolve) => {
        const hasInput = options.input !== undefined;
        const child = spawn(file, [...args], {env, cwd: base.cwd, stdio: [hasInput ? 'pipe' : 'ignore', 'pipe', 'pipe'], timeout: options.timeoutMs});
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let spawnError: Error | undefined;
        child.stdout?.on('data', (c: Buffer) => out.push(c));
        child.stderr?.on('data', (c: Buffer) => err.push(c));
        child.on('error', (e) => {
          spawnError = e;
        });
        if (hasInput && child.stdin) {
          child.stdin.on('error', () => {
            // EPIPE: the child exited without reading all of its input; its exit status tells the rest.
          });
          child.stdin.end(options.input);
        }
        child.on('close', (code, signal) => {
          const r: RunResult = {stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? 1};
          if (spawnError && (code === null || code < 0)) {
            // Never started (ENOENT, EACCES, ETXTBSY, ...): node reports a negative errno as the code.
            r.stderr ||= `Command failed to start: ${file}: ${spawnError.message}`;
            r.exitCode = 127;
          } else if (code === null && signal && !r.stderr) {
            r.stderr = options.timeoutMs !== undefined ? `Command timed out after ${options.timeoutMs} milliseconds: ${file}` : `Command was killed with ${signal}: ${file}`;
          }
          resolve(r);
        });
      });
      if ((options.reject ?? true) && result.exitCode !== 0) {
        throw new CommandError([file, ...args], result.exitCode, result.stdout, result.stderr);
      }
      return result;
    },
  };
}

/** A runner whose every command runs inside the network namespace at `netnsPath`. */
export function netnsRunner(base: Runner, netnsPath: string): Runner {
  return {
    run(file, args, options) {
      return base.run('nsenter', [`--net=${netnsPath}`, '--', file, ...args], options);
    },
  };
}
