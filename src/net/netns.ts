import {statfsSync} from 'node:fs';

const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

/**
 * True when `path` is a live network namespace (an nsfs bind mount such as
 * /var/run/netns/X or Docker's SandboxKey, or /proc/<pid>/ns/net). A stale
 * file left behind after the namespace died (Docker leaves its SandboxKey
 * files on a disk-backed /var/run) is not one: nsenter fails on it.
 */
export function isLiveNetns(path: string | undefined): boolean {
  if (!path) return false;
  try {
    const type = Number(statfsSync(path).type);
    return type === NSFS_MAGIC || type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}
