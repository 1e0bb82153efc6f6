import {readFileSync, statfsSync, statSync} from 'node:fs';
import {statfs} from 'node:fs/promises';
import {CniError, ErrorCode} from '../cni/errors.js';

/**
 * Network namespaces by path (reference pkg/ns): whether one is live, the
 * reference's open check, and the names of its links read without a process.
 */
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

/**
 * The reference's ns.GetNS check: the path must exist and live on nsfs or
 * procfs. Errors read like the reference's (`failed to Statfs "<p>": ...`).
 */
export async function checkNetnsPath(path: string): Promise<void> {
  let st;
  try {
    st = await statfs(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text = code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw new CniError(ErrorCode.Internal, `failed to Statfs "${path}": ${text}`);
  }
  if (st.type !== NSFS_MAGIC && st.type !== PROC_SUPER_MAGIC) {
    throw new CniError(ErrorCode.Internal, `unknown FS magic on "${path}": ${st.type.toString(16)}`);
  }
}

/** True when the netns path exists (DEL treats a missing one as "already gone"). */
export async function netnsExists(path: string): Promise<boolean> {
  try {
    await statfs(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The link names of namespace `netns` read in-process from /proc/PID/net/dev,
 * for a `pid` said to live in it; undefined (ask `ip` instead) unless
 * /proc/PID/ns/net is that very namespace (same nsfs inode), so an exited or
 * reused pid cannot answer for another namespace.
 */
export function linkNamesViaPid(netns: string, pid: number | undefined): string[] | undefined {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const want = statSync(netns);
    const before = statSync(`/proc/${pid}/ns/net`);
    const text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
    const after = statSync(`/proc/${pid}/ns/net`);
    if (want.dev !== before.dev || want.ino !== before.ino || after.ino !== before.ino || after.dev !== before.dev) return undefined;
    // Two header lines, then "  NAME: counters..." (a link name cannot contain ':').
    return text
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0].trim())
      .filter(Boolean);
  } catch {
    return undefined;
  }
}
