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

/** One flock acquisition shared by sections of this process. */
interface Hold {
  lock: FileLock;
  /** Sections admitted to this hold so far. */
  admitted: number;
  /** Sections admitted and not yet finished. */
  active: number;
  /** Admits no more sections: released once the active ones finish. */
  closing: boolean;
}

interface Waiter {
  admit(hold: Hold): void;
  fail(err: unknown): void;
}

/** This process's use of one lock path. */
interface PathState {
  opts: FlockOptions;
  hold?: Hold;
  /** A flock(1) is running for the next hold. */
  acquiring: boolean;
  /** Sections whose turn has come, waiting for a hold to admit them. */
  queue: Waiter[];
  /** Sections asked for and not finished, those still waiting behind their key included. */
  pending: number;
  /** The last section asked for under each key: the next one with that key runs after it. */
  keys: Map<string, Promise<void>>;
  /** Why the lock could not be taken: every section pending then fails with it. */
  failed?: unknown;
}

/** Lock paths this process holds or is acquiring. */
const paths = new Map<string, PathState>();

/**
 * Sections admitted per acquisition at most, before the lock is released for
 * other processes (the reference host-local among them) and taken again.
 */
export const MAX_SECTIONS_PER_HOLD = 32;

/**
 * Runs `fn` while holding the lock on `path`. Sections of this process for the
 * same path share one acquisition: while the lock is held or being taken, a new
 * section joins it instead of spawning its own `flock` and waiting for ours to
 * be released. They run one after another (withKeyedLock lets sections with
 * different keys overlap). Mutual exclusion with other processes is unchanged;
 * a bulk attach of N containers on one network takes the range lock a few
 * times instead of N. Not re-entrant (neither is flock(2) on a second open of
 * the file): `fn` must not take a lock on the same path.
 */
export function withLock<T>(path: string, fn: () => Promise<T> | T, opts: FlockOptions = {}): Promise<T> {
  return withKeyedLock(path, '', fn, opts);
}

/**
 * withLock where sections of this process with different keys run at the
 * same time under the shared acquisition, and sections with the same key one
 * after another, in the order asked. Other processes are excluded from all of
 * them: the file stands for every key, so processes serialise on it while
 * this process runs many keys at once on one `flock`.
 */
export async function withKeyedLock<T>(path: string, key: string, fn: () => Promise<T> | T, opts: FlockOptions = {}): Promise<T> {
  let st = paths.get(path);
  if (!st) {
    st = {opts, acquiring: false, queue: [], pending: 0, keys: new Map()};
    paths.set(path, st);
  }
  st.pending++;
  const before = st.keys.get(key);
  let finished!: () => void;
  const mine = new Promise<void>((resolve) => (finished = resolve));
  st.keys.set(key, mine);
  let hold: Hold | undefined;
  try {
    await before;
    hold = await enter(path, st);
    return await fn();
  } finally {
    if (st.keys.get(key) === mine) st.keys.delete(key);
    finished();
    st.pending--;
    leave(path, st, hold);
  }
}

/** Resolves once a hold on `path` admits this section. */
function enter(path: string, st: PathState): Promise<Hold> {
  if (st.failed !== undefined) return Promise.reject(st.failed);
  const h = st.hold;
  if (h && !h.closing && h.admitted < MAX_SECTIONS_PER_HOLD) {
    h.admitted++;
    h.active++;
    return Promise.resolve(h);
  }
  const queued = new Promise<Hold>((admit, fail) => st.queue.push({admit, fail}));
  if (h) {
    // Full: the lock goes to other processes once this hold's sections are done.
    h.closing = true;
    if (h.active === 0) release(path, st, h);
  } else if (!st.acquiring) void acquire(path, st);
  return queued;
}

async function acquire(path: string, st: PathState): Promise<void> {
  st.acquiring = true;
  let lock: FileLock;
  try {
    lock = await lockFile(path, st.opts);
  } catch (err) {
    st.acquiring = false;
    // Sections still behind their key fail too, as they come; the path is
    // forgotten (and the failure with it) once none is pending.
    st.failed = err;
    for (const w of st.queue.splice(0)) w.fail(err);
    return;
  }
  st.acquiring = false;
  const batch = st.queue.splice(0, MAX_SECTIONS_PER_HOLD);
  const hold: Hold = {lock, admitted: batch.length, active: batch.length, closing: st.queue.length > 0};
  st.hold = hold;
  for (const w of batch) w.admit(hold);
}

/**
 * A section is done (`hold` is unset when it was never admitted). The lock is
 * released once no section of this hold runs, unless more sections of this
 * process are on their way and the hold may still take them. A section that
 * unlinked the lock file ends the hold: the next ones lock the file there now.
 */
function leave(path: string, st: PathState, hold: Hold | undefined): void {
  if (hold) {
    hold.active--;
    if (!hold.lock.current()) hold.closing = true;
    if (hold.active > 0 || (!hold.closing && st.pending > 0)) return;
    release(path, st, hold);
  }
  if (st.pending === 0 && !st.hold && !st.acquiring && paths.get(path) === st) paths.delete(path);
}

/** Lets go of `hold`, and takes the lock again for the sections queued meanwhile. */
function release(path: string, st: PathState, hold: Hold): void {
  hold.lock.release();
  st.hold = undefined;
  if (st.queue.length > 0) void acquire(path, st);
}
