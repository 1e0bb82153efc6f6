import {existsSync, mkdirSync} from 'node:fs';
import {mkdir, readdir, rm} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../../deps.js';
import {lockFile, withKeyedLock, withLock, type FileLock} from '../../lock/flock.js';
import {validateContainerId} from '../../cni/validate.js';
import {UserError} from '../../errors.js';
import {errorText} from '../../util/error-text.js';
import {resultsDir} from './result-cache.js';
import {metaDir} from './attachment-meta.js';

/**
 * The runtime's locks, each a flock (src/lock/flock.ts) on a file under the
 * state dir: the container lock (attach and detach), one for the forwarding
 * rules (src/runtime/forwarding/open-close.ts), gc's against attach, and the
 * single-instance lock of `watch`.
 */

/**
 * The container lock, held by attach for the whole of one attachment and by
 * detach for each DEL: an attach and a detach of the same container never
 * interleave, so they end either attached (with its cache) or fully detached.
 * It is one flock on `<stateDir>/containers.lock`, keyed by container id within
 * this process: a bulk call runs its containers side by side on one `flock`
 * (src/lock/flock.ts withKeyedLock), and other processes wait for that hold.
 */
export async function withContainerLock<T>(deps: Deps, containerId: string, fn: () => Promise<T>): Promise<T> {
  validateContainerId(containerId);
  // Synchronous, so sections of one container queue in the order they were asked for.
  mkdirSync(deps.paths.stateDir, {recursive: true, mode: 0o755});
  return withKeyedLock(path.join(deps.paths.stateDir, 'containers.lock'), containerId, fn);
}

/** Where versions before the shared container lock kept one lock file per container; gc removes what is left. */
export function locksDir(deps: Deps): string {
  return path.join(deps.paths.stateDir, 'locks');
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/**
 * Whether anything of ours (or a cached CNI result) still names the container:
 * a cache file or an attachment record `<network>-<id>-<ifname>`. Matching on
 * names only errs towards "in use", which keeps a lock file, never loses one.
 */
export async function containerInUse(deps: Deps, containerId: string): Promise<boolean> {
  const needle = `-${containerId}-`;
  for (const dir of [resultsDir(deps.paths.cacheDir), metaDir(deps.paths.stateDir)]) {
    if ((await names(dir)).some((n) => n.includes(needle))) return true;
  }
  return false;
}

/**
 * Called with a legacy per-container lock file's lock held: once the container
 * has nothing attached, its lock file goes (lockFile re-locks when a waiter won
 * a file that was unlinked meanwhile).
 */
async function pruneLockFile(deps: Deps, containerId: string, file: string): Promise<void> {
  if (await containerInUse(deps, containerId)) return;
  await rm(file, {force: true});
}

/**
 * gc: remove the lock files of containers with nothing attached, each under
 * its own lock. Returns the container ids whose lock file went.
 */
export async function pruneLockFiles(deps: Deps, dryRun = false): Promise<string[]> {
  const out: string[] = [];
  for (const n of await names(locksDir(deps))) {
    if (!n.endsWith('.lock')) continue;
    const id = n.slice(0, -'.lock'.length);
    try {
      validateContainerId(id);
    } catch {
      continue;
    }
    if (await containerInUse(deps, id)) continue;
    if (!dryRun) {
      const file = path.join(locksDir(deps), n);
      await withLock(file, () => pruneLockFile(deps, id, file));
    }
    out.push(id);
  }
  return out;
}

/** Held while deciding whether a bridge's forwarding opens or closes (see src/runtime/forwarding/open-close.ts). */
export async function lockedForward<T>(deps: Deps, fn: () => Promise<T>): Promise<T> {
  await mkdir(deps.paths.stateDir, {recursive: true, mode: 0o755});
  return withLock(path.join(deps.paths.stateDir, 'forward.lock'), fn);
}

function gcLockFile(deps: Deps): string {
  return path.join(deps.paths.stateDir, 'gc.lock');
}

/**
 * gc decides what is valid from a snapshot (Docker's containers, the known
 * attachments), then frees everything else of its networks: an attach that
 * allocated between the two would lose its address to the GC verb or to the
 * sweep. So gc runs holding a lock on `<stateDir>/gc.lock` and removes the
 * file when it is done, and an attach, once its pending record is written,
 * waits for that lock, but only when the file exists (a stat, no flock in the
 * common case). Either gc's snapshot came after that record, and holds it, or
 * the file was there when the attach looked. gc takes no container lock while
 * it holds this one, so an attach waiting here with its container's lock held
 * cannot block it.
 */
export async function withGcLock<T>(deps: Deps, fn: () => Promise<T>): Promise<T> {
  await mkdir(deps.paths.stateDir, {recursive: true, mode: 0o755});
  const file = gcLockFile(deps);
  return withLock(file, async () => {
    try {
      return await fn();
    } finally {
      await rm(file, {force: true});
    }
  });
}

/** Called by attach after writing its pending record: wait for a running gc (see withGcLock). */
export async function waitForGc(deps: Deps): Promise<void> {
  const file = gcLockFile(deps);
  if (!existsSync(file)) return;
  // Left by a gc that was killed, or made by the lock itself: gone once we hold it.
  await withLock(file, () => rm(file, {force: true}));
}

export class WatchAlreadyRunningError extends UserError {
  constructor(lock: string) {
    super(`another cni-docker watch is already running (${lock} is locked); stop it first`);
    this.name = 'WatchAlreadyRunningError';
  }
}

/** The single-instance lock of `watch` (flock, no wait). */
export async function acquireWatchLock(stateDir: string): Promise<FileLock> {
  await mkdir(stateDir, {recursive: true, mode: 0o755});
  const file = path.join(stateDir, 'watch.lock');
  try {
    return await lockFile(file, {timeoutSeconds: 0});
  } catch (err) {
    if (/timed out/.test(errorText(err))) throw new WatchAlreadyRunningError(file);
    throw err;
  }
}
