import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../deps.js';
import {withLock} from '../ipam/host-local/flock.js';
import {validateContainerId} from '../cni/validate.js';

/**
 * One flock per container id, held by attach for the whole of one attachment
 * and by detach for each DEL: an attach and a detach of the same container
 * never interleave, so they end either attached (with its cache) or fully
 * detached. Different containers do not wait for each other.
 */
export async function withContainerLock<T>(deps: Deps, containerId: string, fn: () => Promise<T>): Promise<T> {
  validateContainerId(containerId);
  const dir = path.join(deps.paths.stateDir, 'locks');
  await mkdir(dir, {recursive: true, mode: 0o700});
  return withLock(path.join(dir, `${containerId}.lock`), fn);
}
