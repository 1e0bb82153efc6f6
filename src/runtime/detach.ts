import {isLiveNetns} from '../net/netns.js';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {UserError} from '../errors.js';
import {delNetworkList, preloadPlugins} from './chain.js';
import {deleteCache, type CacheEntry} from './state/result-cache.js';
import {releaseForwarding, reopenForwarding} from './forwarding/open-close.js';
import {closePublished, publishComment} from './forwarding/published.js';
import {mappingsOf} from './publish.js';
import {entryKey, knownEntries} from './state/known-attachments.js';
import {deleteMeta, readMeta} from './state/attachment-meta.js';
import {withContainerLock} from './state/locks.js';
import {bridgesOf, cachedList, overlayBridgesOf, resolveNetwork, type NetworkChoice} from './network-config.js';
import {containerTarget, type Target} from './target.js';
import {progressCounter, type Outcome, type Progress} from './outcome.js';
import {BULK_CONCURRENCY, mapLimitSettled, settled} from '../util/concurrency.js';
import {errorText} from '../util/error-text.js';

export interface DetachRequest extends NetworkChoice {
  containers: string[];
  /** Plain namespace paths instead of containers. */
  netns?: string[];
  /** The container id recorded for a single --netns. */
  id?: string;
  ifname?: string;
  /** Every attachment we know of (with no containers), or every attachment of the named ones. */
  all?: boolean;
  /** Called as each attachment is detached or fails (a bulk detach's progress line). */
  progress?: (p: Progress) => void;
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
async function idsFor(
  deps: Deps,
  ref: string,
  everything: () => Promise<CacheEntry[]>,
  lookup: Promise<Target> = containerTarget(deps.docker, ref),
): Promise<{id: string; name: string}[]> {
  try {
    const t = await lookup;
    return [{id: t.containerId, name: t.name}];
  } catch (err) {
    // Not running / gone: fall back to what we remember (every attachment, read only in this case).
    if (!(err instanceof UserError) || (err.name === 'DockerUnreachableError' && !(await everything()).length)) throw err;
  }
  const entries = await everything();
  const matches = new Map<string, string>();
  for (const e of entries) {
    const meta = await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
    if (e.containerId === ref || meta?.name === ref || (ref.length >= 4 && e.containerId.startsWith(ref)))
      matches.set(e.containerId, meta?.name ?? e.containerId.slice(0, 12));
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
  if (matches.size > 1 && !matches.has(ref))
    throw new UserError(`"${ref}" matches several attached containers: ${[...matches.keys()].map((i) => i.slice(0, 12)).join(', ')}`);
  return [...matches].map(([id, name]) => ({id, name}));
}

/**
 * DEL one known attachment in reverse plugin order with its cached netns and
 * args (the namespace left out once it is gone, so the plugins release by
 * container id), then forget its metadata. The one release path shared by
 * detach, gc and watch. An entry whose config no longer parses cannot be DELed:
 * it is only forgotten, with a warning. The forwarding of its published ports
 * closes first, so a DEL that fails leaves them shut rather than open.
 */
export async function releaseEntry(deps: Deps, e: CacheEntry): Promise<NetworkConfigList | undefined> {
  if (mappingsOf(e.capabilityArgs).length > 0) await closePublished(deps, [publishComment(entryKey(e))]);
  let list: NetworkConfigList | undefined;
  try {
    list = cachedList(e.config);
  } catch (err) {
    deps.log.warn(`forgetting ${e.networkName}/${e.containerId}/${e.ifName}: its cached config does not load: ${errorText(err)}`);
    await deleteCache(deps.paths.cacheDir, e.networkName, e.containerId, e.ifName);
  }
  if (list) {
    const netns = isLiveNetns(e.netns) ? e.netns! : '';
    await delNetworkList(deps, list, {
      containerId: e.containerId,
      netns,
      ifname: e.ifName,
      cniArgs: e.cniArgs,
      capabilityArgs: e.capabilityArgs,
    });
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

/** Load the plugins these attachments use. */
function preloadFor(entries: CacheEntry[]): void {
  for (const c of new Set(entries.map((e) => e.config))) {
    try {
      preloadPlugins(cachedList(c));
    } catch {
      // releaseEntry reports a config that does not load
    }
  }
}

/** The detached and the failures, in request order, and the entries that stay attached. */
function sortOutcomes(
  wanted: {entry: CacheEntry; name: string}[],
  outcomes: PromiseSettledResult<{detached: Detached}>[],
): {out: Outcome<Detached>; kept: CacheEntry[]} {
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
  return {out, kept};
}

export async function detach(deps: Deps, req: DetachRequest): Promise<Outcome<Detached>> {
  const netns = req.netns ?? [];
  if (netns.length > 0 && req.containers.length) throw new UserError('give containers or --netns, not both');
  if (req.id && netns.length !== 1) throw new UserError('--id goes with a single --netns');
  // The Docker lookups go out first, overlapping the reads of our own state.
  const lookups = netns.length > 0 ? [] : req.containers.map((ref) => containerTarget(deps.docker, ref));
  for (const l of lookups) l.catch(() => undefined);
  let network: string | undefined;
  if (req.conf || req.net) network = (await resolveNetwork(req, deps.confDir, deps.cwd)).list.name;
  // Every known attachment is read only when the request names all of them, or a
  // container Docker no longer knows (found by its remembered name); otherwise only
  // the named containers' files are.
  let all: Promise<CacheEntry[]> | undefined;
  const everything = (): Promise<CacheEntry[]> => (all ??= knownEntries(deps));
  const wanted: {entry: CacheEntry; name: string}[] = [];
  const pick = async (entries: CacheEntry[], id: string, name: string) => {
    for (const e of entries) {
      if (e.containerId !== id) continue;
      if (network && e.networkName !== network) continue;
      if (req.ifname && e.ifName !== req.ifname) continue;
      wanted.push({entry: e, name: (await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName))?.name ?? name});
    }
  };
  if (netns.length > 0) {
    const targets = netns.map((p) => ({id: req.id ?? path.basename(p), name: path.basename(p)}));
    const entries = await knownEntries(deps, new Set(targets.map((t) => t.id)));
    for (const t of targets) await pick(entries, t.id, t.name);
  } else if (req.containers.length === 0) {
    if (!req.all) throw new UserError('name at least one container, or --netns PATH, or --all');
    for (const e of await everything()) {
      if (network && e.networkName !== network) continue;
      wanted.push({
        entry: e,
        name: (await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName))?.name ?? e.containerId.slice(0, 12),
      });
    }
  } else {
    // Unknown to Docker and to us: nothing is attached, which is what detach wants (idempotent, like CNI DEL).
    const found = (await Promise.all(req.containers.map((ref, i) => idsFor(deps, ref, everything, lookups[i])))).flat();
    const entries = all ? await all : await knownEntries(deps, new Set(found.map((f) => f.id)));
    for (const {id, name} of found) await pick(entries, id, name);
  }
  preloadFor(wanted.map(({entry}) => entry));
  // Interfaces of one container on one network share a masquerade chain: their
  // DELs run one after another; independent attachments run concurrently.
  const groups = new Map<string, number[]>();
  wanted.forEach(({entry}, i) => {
    const key = `${entry.networkName}\0${entry.containerId}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  // The bridges only these attachments use close alongside their DELs
  // (src/runtime/forwarding/open-close.ts); a DEL that fails opens its bridge again.
  const leaving = new Set(wanted.map(({entry}) => entryKey(entry)));
  const closing = settled(releaseForwarding(deps, listsOf(wanted.map(({entry}) => entry)), leaving));
  const outcomes: PromiseSettledResult<{detached: Detached; list?: NetworkConfigList}>[] = new Array(wanted.length);
  const step = progressCounter(wanted.length, req.progress);
  await mapLimitSettled([...groups.values()], BULK_CONCURRENCY, (idxs) =>
    withContainerLock(deps, wanted[idxs[0]].entry.containerId, async () => {
      for (const i of idxs) {
        const {entry, name} = wanted[i];
        try {
          outcomes[i] = {status: 'fulfilled', value: await detachEntry(deps, entry, name)};
        } catch (reason) {
          outcomes[i] = {status: 'rejected', reason};
        }
        step?.(outcomes[i]);
      }
    }),
  );
  const {out, kept} = sortOutcomes(wanted, outcomes);
  const closed = await closing;
  if ('error' in closed) throw closed.error;
  await reopenForwarding(
    deps,
    [...new Set(listsOf(kept).flatMap(bridgesOf))].filter((b) => closed.value.includes(b)),
    listsOf(kept).flatMap(overlayBridgesOf),
  );
  // A bridge kept open for attachments another detach was deleting at the same
  // time: with our DELs done, whichever of us checks last closes it.
  const lists = listsOf(wanted.map(({entry}) => entry));
  const stillOpen = [...new Set(lists.flatMap(bridgesOf))].filter((b) => !closed.value.includes(b));
  if (stillOpen.length > 0) await releaseForwarding(deps, lists, new Set(), stillOpen);
  return out;
}
