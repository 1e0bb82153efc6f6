/**
 * One lock per host around every overlay sync (ADD, `overlay sync`, each
 * round of `--follow` and `watch`). Two syncs at once on one host would each
 * list the leases, find none of their own and take two subnets; they would
 * also race to make the same vxlan device. The lock is a flock on
 * `<state dir>/overlay.lock`, so it goes with the process that holds it.
 */
import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import {lockFile, type FileLock} from '../lock/flock.js';
import {errorText} from '../util/error-text.js';

/** A sync talks to etcd within its own deadlines; a holder that long is stuck. */
const WAIT_SECONDS = 60;

export function hostLockPath(stateDir: string): string {
  return path.join(stateDir, 'overlay.lock');
}

export async function lockHost(stateDir: string): Promise<FileLock> {
  await mkdir(stateDir, {recursive: true, mode: 0o755});
  try {
    return await lockFile(hostLockPath(stateDir), {timeoutSeconds: WAIT_SECONDS});
  } catch (err) {
    throw new Error(`overlay: ${hostLockPath(stateDir)}: ${errorText(err)}`);
  }
}

export async function withHostLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = await lockHost(stateDir);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
