import {closeSync, constants, fstatSync, openSync, statSync} from 'node:fs';
import {childEnv, collect, loadExeca} from '../exec/runner.js';

/**
 * An exclusive BSD flock(2) on a file, the same lock the reference host-local
 * takes on `<dataDir>/<network>/lock` (go-filemutex: flock(fd, LOCK_EX)). Our
 * host-local store takes it there too, so the two interlock; the runtime takes
 * it on its own lock files (src/runtime/state/locks.ts).
 *
 * Node has no flock binding, so we open the file ourselves and hand that fd
 * to util-linux `flock --exclusive 3` as the child's fd 3: a flock lock
 * belongs to the open file description, which the child shares with us, so
 * once `flock` exits 0 the lock stays held through our still-open fd until we
 * close it, or until this process dies (SIGKILL included) and the kernel
 * closes it.
 */
export interface FileLock {
  /** Releases the lock (closes the fd). Idempotent. */
  release(): void;
  /** Whether the path still names the locked file (false once it was unlinked or replaced). */
  current(): boolean;
}

export interface FlockOptions {
  /** Give up after this many seconds (flock -w). Default: wait forever, as the reference does. */
  timeoutSeconds?: number;
  /** The flock(1) binary (default: `flock` on PATH). */
  flockBin?: string;
}

/** Mode and flags the reference uses for the lock file: O_CREAT|O_RDONLY, 0750. */
export function openLockFile(path: string): number {
  return openSync(path, constants.O_CREAT | constants.O_RDONLY, 0o750);
}

async function runFlock(fd: number, opts: FlockOptions): Promise<void> {
  const argv = ['--exclusive'];
  if (opts.timeoutSeconds !== undefined) argv.push('--wait', String(opts.timeoutSeconds));
  argv.push('3');
  const bin = opts.flockBin ?? 'flock';
  const execa = await loadExeca();
  // execa's types name only fds 3-9 here; any open fd is handed to the child as it is.
  // stderr is read, and the environment handed on, as the runner does for its children (src/exec/runner.ts).
  const child = execa(bin, argv, {stdio: ['ignore', 'ignore', 'pipe', fd as 3], buffer: false, reject: false, ...childEnv({})});
  const stderr = collect(child.stderr);
  const r = await child;
  if (r.exitCode === 0) return;
  if (r.exitCode === 1 && opts.timeoutSeconds !== undefined) throw new Error(`timed out waiting for lock after ${opts.timeoutSeconds}s`);
  const why =
    r.exitCode === undefined ? r.shortMessage : stderr().trim() || (r.signal ? `signal ${r.signal}` : `exit status ${r.exitCode}`);
  throw new Error(`failed to lock: ${bin} ${argv.join(' ')}: ${why}`);
}

/** Whether `path` still names the file open on `fd` (not unlinked or replaced since). */
function pathNamesFd(path: string, fd: number): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/**
 * Takes flock(LOCK_EX) on `path` (created 0750 if missing); resolves once held.
 * A lock file may be unlinked by its holder (per-container lock files are
 * pruned once the container has nothing attached): a lock won on a file that
 * no longer is `path` is dropped and taken again on the file there now.
 */
export async function lockFile(path: string, opts: FlockOptions = {}): Promise<FileLock> {
  for (;;) {
    const fd = openLockFile(path);
    try {
      await runFlock(fd, opts);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (!pathNamesFd(path, fd)) {
      closeSync(fd);
      continue;
    }
    let open = true;
    return {
      release() {
        if (!open) return;
        open = false;
        closeSync(fd);
      },
      current: () => open && pathNamesFd(path, fd),
    };
  }
}

interface Section {
  run(): Promise<void>;
  fail(err: unknown): void;
}

/** Lock paths this process holds or is acquiring, with the sections waiting for them. */
const sessions = new Map<string, Section[]>();

/**
 * Sections run per acquisition at most, before the lock is released for other
 * processes (the reference host-local among them) and taken again.
 */
export const MAX_SECTIONS_PER_HOLD = 32;

/**
 * Runs `fn` while holding the lock on `path`. Sections of this process for the
 * same path run one after another under one acquisition: while the lock is
 * held or being taken, a new section joins the queue instead of spawning its
 * own `flock` and waiting for ours to be released. Mutual exclusion with other
 * processes is unchanged; a bulk attach of N containers on one network takes
 * the range lock a few times instead of N. Not re-entrant (neither is flock(2)
 * on a second open of the file): `fn` must not take the same lock.
 */
export function withLock<T>(path: string, fn: () => Promise<T> | T, opts: FlockOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const section: Section = {
      run: async () => {
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        }
      },
      fail: reject,
    };
    const queue = sessions.get(path);
    if (queue) {
      queue.push(section);
      return;
    }
    const fresh = [section];
    sessions.set(path, fresh);
    void drive(path, fresh, opts);
  });
}

async function drive(path: string, queue: Section[], opts: FlockOptions): Promise<void> {
  while (queue.length > 0) {
    let lock: FileLock;
    try {
      lock = await lockFile(path, opts);
    } catch (err) {
      sessions.delete(path);
      for (const s of queue.splice(0)) s.fail(err);
      return;
    }
    try {
      // A section that unlinked the lock file ends this hold: the next ones lock the new file.
      for (let n = 0; n < MAX_SECTIONS_PER_HOLD && queue.length > 0 && lock.current(); n++) await queue.shift()!.run();
    } finally {
      lock.release();
    }
  }
  sessions.delete(path);
}
