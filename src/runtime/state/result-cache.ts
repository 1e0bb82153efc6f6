import {readFileSync} from 'node:fs';
import {readFile, readdir, rm} from 'node:fs/promises';
import path from 'node:path';
import {writeFileAtomic} from '../../util/atomic.js';
import {goMarshal, sortKeysDeep} from '../../cni/json.js';

/**
 * The libcni-compatible result cache (§8.5): one file per attachment at
 * `<cacheDir>/results/<network>-<containerId>-<ifname>`, holding
 * {kind:"cniCacheV1", containerId, config(base64 of the list bytes), ifName,
 * networkName, netns?, cniArgs?, capabilityArgs?, result}. Writes are atomic
 * (temp file + rename) so a reader never sees half a file.
 */
export const CACHE_KIND = 'cniCacheV1';

export interface CacheEntry {
  containerId: string;
  ifName: string;
  networkName: string;
  /** The network config list's original bytes. */
  config: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The final result JSON object (in its own cniVersion). */
  result?: Record<string, unknown>;
}

export function resultsDir(cacheDir: string): string {
  return path.join(cacheDir, 'results');
}

export function cacheFile(cacheDir: string, networkName: string, containerId: string, ifName: string): string {
  if (!networkName || !containerId || !ifName) {
    throw new Error(
      `cache file path requires network name (${JSON.stringify(networkName)}), container ID (${JSON.stringify(containerId)}), and interface name (${JSON.stringify(ifName)})`,
    );
  }
  return path.join(resultsDir(cacheDir), `${networkName}-${containerId}-${ifName}`);
}

/** The file body, field for field as libcni's cachedInfo marshals it. */
export function encodeCacheEntry(e: CacheEntry): string {
  return goMarshal({
    kind: CACHE_KIND,
    containerId: e.containerId,
    config: Buffer.from(e.config, 'utf8').toString('base64'),
    ifName: e.ifName,
    networkName: e.networkName,
    netns: e.netns || undefined,
    cniArgs: e.cniArgs?.length ? e.cniArgs : undefined,
    capabilityArgs: e.capabilityArgs && Object.keys(e.capabilityArgs).length ? sortKeysDeep(e.capabilityArgs) : undefined,
    result: e.result ? sortKeysDeep(e.result) : undefined,
  });
}

/** Parse a cache file; a file whose kind is not cniCacheV1 is a legacy bare result. */
export function decodeCacheEntry(text: string, fallback: {networkName: string; containerId: string; ifName: string}): CacheEntry {
  const o = JSON.parse(text) as Record<string, unknown>;
  if (o.kind !== CACHE_KIND) return {...fallback, config: '', result: o};
  return {
    containerId: String(o.containerId ?? ''),
    ifName: String(o.ifName ?? ''),
    networkName: String(o.networkName ?? ''),
    config: typeof o.config === 'string' ? Buffer.from(o.config, 'base64').toString('utf8') : '',
    netns: typeof o.netns === 'string' ? o.netns : undefined,
    cniArgs: Array.isArray(o.cniArgs) ? (o.cniArgs as [string, string][]) : undefined,
    capabilityArgs: o.capabilityArgs && typeof o.capabilityArgs === 'object' ? (o.capabilityArgs as Record<string, unknown>) : undefined,
    result: o.result && typeof o.result === 'object' ? (o.result as Record<string, unknown>) : undefined,
  };
}

export async function writeCache(cacheDir: string, e: CacheEntry): Promise<string> {
  const file = cacheFile(cacheDir, e.networkName, e.containerId, e.ifName);
  await writeFileAtomic(file, encodeCacheEntry(e), 0o600, 0o700);
  return file;
}

/** The entry, or undefined when there is no cache file. Throws for an unreadable one. */
export async function readCache(
  cacheDir: string,
  networkName: string,
  containerId: string,
  ifName: string,
): Promise<CacheEntry | undefined> {
  const file = cacheFile(cacheDir, networkName, containerId, ifName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeCacheEntry(text, {networkName, containerId, ifName});
}

export async function deleteCache(cacheDir: string, networkName: string, containerId: string, ifName: string): Promise<void> {
  await rm(cacheFile(cacheDir, networkName, containerId, ifName), {force: true});
}

/**
 * Whether a cache or metadata file name `<network>-<containerId>-<ifname>` can
 * belong to one of `ids` (a name-only test, so only those files are read; the
 * entry's own containerId field decides).
 */
export function nameMayHold(name: string, ids: string | ReadonlySet<string> | undefined): boolean {
  if (ids === undefined) return true;
  if (typeof ids === 'string') return name.indexOf(`-${ids}-`) > 0;
  for (const id of ids) if (name.indexOf(`-${id}-`) > 0) return true;
  return false;
}

/**
 * All cached attachments (libcni GetCachedAttachments): sorted by file name,
 * filtered by container id (one, or a set) when given, reading only the files
 * whose names can hold them; entries without ifName/networkName, legacy files
 * and unreadable files are skipped.
 */
export async function listCache(cacheDir: string, containerId?: string | ReadonlySet<string>): Promise<CacheEntry[]> {
  let names: string[];
  try {
    // Only the names that may hold the wanted ids are sorted: one container's among thousands.
    names = (await readdir(resultsDir(cacheDir))).filter((n) => !n.includes('.tmp-') && nameMayHold(n, containerId)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    let text: string;
    try {
      // Synchronous: these are small files, read by the thousand in list and gc; one
      // read(2) each costs far less than a trip through the thread pool per file.
      text = readFileSync(path.join(resultsDir(cacheDir), name), 'utf8');
      const o = JSON.parse(text) as Record<string, unknown>;
      if (o.kind !== CACHE_KIND) continue;
    } catch {
      continue;
    }
    const e = decodeCacheEntry(text, {networkName: '', containerId: '', ifName: ''});
    if (!e.ifName || !e.networkName) continue;
    if (typeof containerId === 'string' ? e.containerId !== containerId : containerId && !containerId.has(e.containerId)) continue;
    out.push(e);
  }
  return out;
}
