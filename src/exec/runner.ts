import type {Readable} from 'node:stream';

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
  /**
   * What of the child's output the caller has no use for: 'stdout' (a write
   * whose errors come on stderr) or 'all' (a best-effort call whose outcome
   * is only its exit code). It goes to /dev/null and its RunResult fields are
   * ''. Reading and buffering a stream is most of what one subprocess
   * allocates here, and a bulk call runs hundreds of them.
   */
  discard?: 'stdout' | 'all';
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

type Execa = typeof import('execa').execa;
let loaded: Promise<Execa> | undefined;

/** execa itself, imported on the first subprocess (commands that start none never load it). */
export function loadExeca(): Promise<Execa> {
  loaded ??= import('execa').then((m) => m.execa);
  return loaded;
}

/**
 * The real runner, backed by execa: no shell; stdin is `input`, or nothing
 * (never an open pipe a child could wait on); the environment is this
 * process's merged with `env` unless extendEnv is false; stdout and stderr
 * come back whole, final newline included ('' when discarded). A file that
 * cannot be started (ENOENT, EACCES, ...) is exit 127, as a shell reports it,
 * with execa's message on stderr; a child killed (timeout, signal) is exit 1
 * with execa's message when it wrote nothing on stderr.
 */
export function execaRunner(): Runner {
  return {
    async run(file, args, options = {}) {
      const execa = await loadExeca();
      const child = execa(file, [...args], {
        ...(options.input === undefined ? {stdin: 'ignore' as const} : {input: options.input}),
        stdout: options.discard ? ('ignore' as const) : ('pipe' as const),
        stderr: options.discard === 'all' ? ('ignore' as const) : ('pipe' as const),
        // The output is read below, by a listener per stream: execa's own buffering reads
        // through an async iterator holding two 2048-slot queues per stream for the child's
        // lifetime, which a bulk call's hundreds of children pile up on the heap (execa
        // still waits for both streams to end before it settles).
        buffer: false,
        reject: false,
        ...childEnv(options),
        timeout: options.timeoutMs,
        // Our children are short-lived (ip, iptables-restore, nsenter) and never outlive the command
        // by design; execa's exit hook per child would only add work to every spawn.
        cleanup: false,
      });
      const stdout = collect(child.stdout);
      const stderr = collect(child.stderr);
      const r = await child;
      const result: RunResult = {stdout: stdout(), stderr: stderr(), exitCode: r.exitCode ?? 1};
      if (r.exitCode === undefined) {
        const started = r.signal !== undefined || r.timedOut || r.isCanceled;
        if (!started) result.exitCode = 127;
        if (!started || !result.stderr) result.stderr = r.shortMessage ?? `${file}: failed`;
      }
      if ((options.reject ?? true) && result.exitCode !== 0) {
        throw new CommandError([file, ...args], result.exitCode, result.stdout, result.stderr);
      }
      return result;
    },
  };
}

/**
 * The env/extendEnv options of a child. One that adds no variables of its own
 * is handed this process's environment as it is: with extendEnv execa would
 * copy it (one getenv per variable) for every spawn, and spawn reads it the
 * same either way.
 */
export function childEnv(options: Pick<RunOptions, 'env' | 'extendEnv'>): {env?: NodeJS.ProcessEnv; extendEnv: boolean} {
  const extendEnv = options.extendEnv ?? true;
  if (extendEnv && options.env === undefined) return {env: process.env, extendEnv: false};
  return {env: options.env, extendEnv};
}

/**
 * Everything a child of execa with `buffer: false` writes on one of its pipes,
 * as text once execa has settled ('' for none). Called right after starting
 * the child, before its first write is read.
 */
export function collect(stream: Readable | null | undefined): () => string {
  const chunks: Buffer[] = [];
  stream?.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

/** A runner whose every command runs inside the network namespace at `netnsPath`. */
export function netnsRunner(base: Runner, netnsPath: string): Runner {
  return {
    run(file, args, options) {
      return base.run('nsenter', [`--net=${netnsPath}`, '--', file, ...args], options);
    },
  };
}
