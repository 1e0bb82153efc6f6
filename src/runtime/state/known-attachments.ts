import type {Deps} from '../../deps.js';
import {listCache, type CacheEntry} from './result-cache.js';
import {pendingEntries} from './attachment-meta.js';

/**
 * Every attachment the runtime knows of: the result cache's, plus those an
 * attach started and has not cached (killed half-way, or still running).
 * What detach, gc and the forwarding rules count.
 */

/** The key of an attachment: its cache file's name. */
export function entryKey(e: Pick<CacheEntry, 'networkName' | 'containerId' | 'ifName'>): string {
  return `${e.networkName}-${e.containerId}-${e.ifName}`;
}

/**
 * Cached attachments plus those whose attach was killed (or is still running)
 * before it could cache them; all of them, or only those of the container ids
 * in `ids` (reading only their files).
 */
export async function knownEntries(deps: Deps, ids?: ReadonlySet<string>): Promise<CacheEntry[]> {
  const cached = await listCache(deps.paths.cacheDir, ids);
  const keys = new Set(cached.map(entryKey));
  const pending = (await pendingEntries(deps.paths.stateDir, ids)).filter((p) => !keys.has(entryKey(p)));
  return [...cached, ...pending];
}
