import {isLiveNetns} from '../net/netns.js';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {UserError} from '../errors.js';
import {delNetworkList} from './chain.js';
import {deleteCache, type CacheEntry} from './cache.js';
import {entryKey, knownEntries, releaseForwarding, reopenForwarding} from './forwarding.js';
import {deleteMeta, readMeta} from './meta.js';
import {withContainerLock} from './locks.js';
import {bridgesOf, cachedList, overlayBridgesOf, resolveNetwork, type NetworkChoice} from './network.js';
import {containerTarget, type Target} from './target.js';
import {errorText, preloadPlugins, type Outcome} from './attach.js';
import {BULK_CONCURRENCY, mapLimitSettled, settled} from '../util/concurrency.js';

export interface DetachRequest extends NetworkChoice {
  containers: string[];
  netns?: string;
  id?: string;
  ifname?: string;
  /** Every attachment we know of (with no containers), or every attachment of the named ones. */
  all?: boolean;
}

export interface Detached {
  container: string;
  containerId: string;
  network: string;
  ifname: string;
}

/**
 * The container ids a detach argument stands for. A running or stopped
 * container resolves through Docker; a removed one is found in our state by
 * its remembered name or by Id / Id prefix, so `detach` works after `docker rm`.
 */
async function idsFor(deps: Deps, ref: string, entries: CacheEntry[], lookup: Promise<Target> = containerTarget(deps.docker, ref)): Promise<{id: string; name: string}[]> {
  try {
    const t = await lookup;
    return [{id: t.containerId, name: t.name}];
  } catch (err) {
    // Not running / gone: fall back to what we remember.
    if (!(err instanceof UserError) || err.name === 'DockerUnreachableError' && !entries.length) throw err;
  }
  const matches = new Map<string, string>();
  for (const e of entries) {
    const meta = await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
    if (e.containerId === ref || meta?.name === ref || (ref.length >= 4 && e.containerId.startsWith(ref))) matches.set(e.containerId, meta?.name ?? e.containerId.slice(0, 12));
  }
  if (matches.size === 0) {
    // Docker may know it as stopped: ask for its Id without requiring it to run.
    try {
      const info = await deps.docker.inspectContainer(ref);
      return [{id: info.Id, name: info.Name.replace(/^\//, '')}];
    } catch {
      return [];
    }
  }
  if (matches.size > 1 && !matches.has(ref)) throw new UserError(`"${ref}" matches several attached containers: ${[...matches.keys()].map((i) => i.slice(0, 12)).join(', ')}`);
  return [...matches].map(([id, name]) => ({id, name}));
}

/**
 * DEL one known attachment in reverse plugin order with its cached netns and
 * args (the namespace left out once it is gone, so the plugins release by
 * container id), then forget its metadata. The one release path shared by
 * detach, gc and watch. An entry whose config no longer parses cannot be DELed:
 * it is only forgotten, with a warning.
 */
export async function releaseEntry(deps: Deps, e: CacheEntry): Promise<NetworkConfigList | undefined> {
  let list: NetworkConfigList | undefined;
  try {
    list = cachedList(e.config);
  } catch (err) {
    deps.log.warn(`forgetting ${e.networkName}/${e.containerId}/${e.ifName}: its cached config does not load: ${errorText(err)}`);
    await deleteCache(deps.paths.cacheDir, e.networkName, e.containerId, e.ifName);
  }
  if (list) {
    const netns = isLiveNetns(e.netns) ? e.netns! : '';
    await delNetworkList(deps, list, {containerId: e.containerId, netns, ifname: e.ifName, cniArgs: e.cniArgs, capabilityArgs: e.capabilityArgs});
  }
  await deleteMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
  return list;
}

async function detachEntry(deps: Deps, e: CacheEntry, name: string): Promise<{detached: Detached; list?: NetworkConfigList}> {
  const list = await releaseEntry(deps, e);
  return {detached: {container: name, containerId: e.containerId, network: e.networkName, ifname: e.ifName}, list};
}

/** The network list of each entry whose config loads (for its bridges). */
function listsOf(entries: CacheEntry[]): NetworkConfigList[] {
  const out: NetworkConfigList[] = [];
  for (const e of entries) {
    try {
      out.push(cachedList(e.config));
    } catch {
      // releaseEntry warns about it and forgets it
    }
  }
  return out;
}

export async function detach(deps: Deps, req: DetachRequest): Promise<Outcome<Detached>> {
  // The Docker lookups go out first, overlapping the reads of our own state.
  const lookups = req.netns ? [] : req.containers.map((ref) => containerTarget(deps.docker, ref));
  for (const l of lookups) l.catch(() => undefined);
  const all = await knownEntries(deps);
  // Load the plugins these attachments use while Docker answers.
  const configs = new Set(all.map((e) => e.config));
  for (const c of configs) {
    try {
      preloadPlugins(cachedList(c));
    } catch {
      // releaseEntry reports a config that does not load
    }
  }
  let network: string | undefined;
  if (req.conf || req.net) network = (await resolveNetwork(req, deps.confDir, deps.cwd)).list.name;
  const wanted: {entry: CacheEntry; name: string}[] = [];
  const pick = async (id: string, name: string) => {
    for (const e of all) {
      if (e.containerId !== id) continue;
      if (network && e.networkName !== network) continue;
      if (req.ifname && e.ifName !== req.ifname) continue;
      wanted.push({entry: e, name: (await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName))?.name ?? name});
    }
  };
  if (req.netns) {
    if (req.containers.length) throw new UserError('give containers or --netns, not both');
    await pick(req.id ?? path.basename(req.netns), path.basename(req.netns));
  } else if (req.containers.length === 0) {
    if (!req.all) throw new UserError('name at least one container, or --netns PATH, or --all');
    for (const e of all) {
      if (network && e.networkName !== network) continue;
      wanted.push({entry: e, name: (await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName))?.name ?? e.containerId.slice(0, 12)});
    }
  } else {
    for (const [i, ref] of req.containers.entries()) {
      // Unknown to Docker and to us: nothing is attached, which is what detach wants (idempotent, like CNI DEL).
      for (const {id, name} of await idsFor(deps, ref, all, lookups[i])) await pick(id, name);
    }
  }
  // Interfaces of one container on one network share a masquerade chain: their
  // DELs run one after another; independent attachments run concurrently.
  const groups = new Map<string, number[]>();
  wanted.forEach(({entry}, i) => {
    const key = `${entry.networkName}\0${entry.containerId}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  // The bridges only these attachments use close alongside their DELs
  // (src/runtime/forwarding.ts); a DEL that fails opens its bridge again.
  const leaving = new Set(wanted.map(({entry}) => entryKey(entry)));
  const closing = settled(releaseForwarding(deps, listsOf(wanted.map(({entry}) => entry)), leaving));
  const outcomes: PromiseSettledResult<{detached: Detached; list?: NetworkConfigList}>[] = new Array(wanted.length);
  await mapLimitSettled([...groups.values()], BULK_CONCURRENCY, (idxs) => withContainerLock(deps, wanted[idxs[0]].entry.containerId, async () => {
    for (const i of idxs) {
      const {entry, name} = wanted[i];
      try {
        outcomes[i] = {status: 'fulfilled', value: await detachEntry(deps, entry, name)};
      } catch (reason) {
        outcomes[i] = {status: 'rejected', reason};
      }
    }
  }));
  const out: Outcome<Detached> = {done: [], failures: []};
  const kept: CacheEntry[] = [];
  outcomes.forEach((s, i) => {
    const {entry, name} = wanted[i];
    if (s.status === 'fulfilled') out.done.push(s.value.detached);
    else {
      kept.push(entry);
      out.failures.push({target: name, message: `failed to detach ${name} from ${entry.networkName}: ${errorText(s.reason)}`});
    }
  });
  const closed = await closing;
  if ('error' in closed) throw closed.error;
  await reopenForwarding(deps, [...new Set(listsOf(kept).flatMap(bridgesOf))].filter((b) => closed.value.includes(b)), listsOf(kept).flatMap(overlayBridgesOf));
  // A bridge kept open for attachments another detach was deleting at the same
  // time: with our DELs done, whichever of us checks last closes it.
  const lists = listsOf(wanted.map(({entry}) => entry));
  const stillOpen = [...new Set(lists.flatMap(bridgesOf))].filter((b) => !closed.value.includes(b));
  if (stillOpen.length > 0) await releaseForwarding(deps, lists, new Set(), stillOpen);
  return out;
}
