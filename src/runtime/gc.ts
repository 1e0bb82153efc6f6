import {existsSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {DiskStore, listReservations, releaseReservation} from '../ipam/host-local/store.js';
import {readNatTable} from '../net/iptables.js';
import {masqComment, masqOwners, teardownIpMasq} from '../net/iptables-masq.js';
import {lockedForward, pruneLockFiles} from './state/locks.js';
import {pruneBridgeUsers} from './state/bridge-users.js';
import {haveTool, nftMasqOwners, teardownNftMasq} from '../net/nft-masq.js';
import {deleteCache, type CacheEntry} from './state/result-cache.js';
import {releaseEntry} from './detach.js';
import {releaseForwarding} from './forwarding/open-close.js';
import {entryKey, knownEntries} from './state/known-attachments.js';
import {deleteMeta, listMetaKeys, readMeta} from './state/attachment-meta.js';
import {cachedList} from './network-config.js';
import {scanConfDir} from './conf-dir.js';
import type {Failure} from './outcome.js';
import {isLiveNetns} from '../net/netns.js';
import {errorText} from '../util/error-text.js';

/**
 * `gc`: find what our own state (result cache, attachment metadata, host-local
 * stores of our networks, masquerade chains, DHCP leases) still holds for
 * containers Docker no longer knows or plain namespaces whose path is gone,
 * and release it. Conservative by construction: an id is only ever "gone" when
 * it is in our cache/meta, or it is a 64-hex Docker-style id that Docker does
 * not list, found in a network we have a config for. A live (running or
 * stopped) container is never touched.
 */
export const DOCKER_ID = /^[0-9a-f]{64}$/;

export type GcKind = 'attachment' | 'address' | 'chain' | 'rule' | 'lease' | 'meta' | 'lock';

export interface GcItem {
  kind: GcKind;
  network: string;
  containerId: string;
  /** Container / netns name when we remember it. */
  name: string;
  ifname?: string;
  /** The address, chain name or file freed. */
  detail: string;
  reason: string;
}

export interface GcResult {
  dryRun: boolean;
  freed: GcItem[];
  failures: Failure[];
}

interface Plan {
  items: GcItem[];
  entries: CacheEntry[];
  stores: Map<string, {network: string; dataDir: string}>;
}

function hostLocalStores(lists: NetworkConfigList[], networksDir: string): Map<string, {network: string; dataDir: string}> {
  const out = new Map<string, {network: string; dataDir: string}>();
  for (const l of lists) {
    for (const p of l.plugins) {
      const ipam = p.raw.ipam as {type?: unknown; dataDir?: unknown} | undefined;
      if (ipam?.type !== 'host-local') continue;
      const dataDir = typeof ipam.dataDir === 'string' && ipam.dataDir ? ipam.dataDir : networksDir;
      out.set(path.join(dataDir, l.name), {network: l.name, dataDir});
    }
  }
  return out;
}

interface Lease {
  containerId: string;
  network: string;
  ifname: string;
  address: string;
}

async function daemonLeases(socket: string): Promise<Lease[]> {
  if (!existsSync(socket)) return [];
  const {callDaemon} = await import('../ipam/dhcp/index.js');
  try {
    return (await callDaemon<{leases: Lease[]}>(socket, 'leases')).leases;
  } catch {
    return [];
  }
}

async function plan(deps: Deps): Promise<Plan> {
  const known = new Set((await deps.docker.listContainers(true)).map((c) => c.Id));
  const entries = await knownEntries(deps);
  const lists: NetworkConfigList[] = [];
  for (const c of await scanConfDir(deps.confDir)) if (c.list) lists.push(c.list);
  const live = new Set<string>();
  const gone = new Map<string, {reason: string; name: string}>();
  const goneEntries: CacheEntry[] = [];
  const items: GcItem[] = [];
  for (const e of entries) {
    try {
      lists.push(cachedList(e.config));
    } catch {
      // legacy entry without a usable config
    }
    const meta = await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
    const kind = meta?.kind ?? (DOCKER_ID.test(e.containerId) ? 'container' : 'netns');
    const isGone = kind === 'container' ? !known.has(e.containerId) : !isLiveNetns(e.netns);
    if (!isGone) {
      live.add(e.containerId);
      continue;
    }
    const name = meta?.name ?? e.containerId.slice(0, 12);
    const reason = kind === 'container' ? 'container removed' : `netns ${e.netns ?? ''} gone`;
    gone.set(e.containerId, {reason, name});
    goneEntries.push(e);
    items.push({kind: 'attachment', network: e.networkName, containerId: e.containerId, name, ifname: e.ifName, detail: `${e.networkName}/${e.ifName}`, reason});
  }
  for (const id of live) gone.delete(id);
  const ourNets = new Set(lists.map((l) => l.name));
  /** Why an owner id is stale, or undefined when it must be kept. */
  const stale = (id: string, network: string): {reason: string; name: string} | undefined => {
    if (known.has(id) || live.has(id)) return undefined;
    const g = gone.get(id);
    if (g) return g;
    if (DOCKER_ID.test(id) && ourNets.has(network)) return {reason: 'container unknown to Docker', name: id.slice(0, 12)};
    return undefined;
  };

  const stores = hostLocalStores(lists, deps.paths.networksDir);
  for (const [dir, s] of stores) {
    if (!existsSync(dir)) continue;
    const store = DiskStore.open(s.network, s.dataDir);
    for (const r of await store.withLock(() => listReservations(store))) {
      const why = stale(r.id, s.network);
      if (why) items.push({kind: 'address', network: s.network, containerId: r.id, name: why.name, ifname: r.ifname, detail: r.ip, reason: why.reason});
    }
  }
  const chains = new Set<string>();
  for (const f of [4, 6] as const) {
    for (const o of masqOwners(await readNatTable(deps.runner, f))) {
      const why = stale(o.containerId, o.network);
      if (!why || chains.has(o.chain)) continue;
      chains.add(o.chain);
      items.push({kind: 'chain', network: o.network, containerId: o.containerId, name: why.name, detail: o.chain, reason: why.reason});
    }
  }
  if (haveTool('nft')) {
    for (const o of await nftMasqOwners(deps.runner)) {
      const why = stale(o.containerId, o.network);
      if (why) items.push({kind: 'rule', network: o.network, containerId: o.containerId, name: why.name, ifname: o.ifname, detail: `nftables masquerade (${o.handles.length} rule${o.handles.length === 1 ? '' : 's'})`, reason: why.reason});
    }
  }
  for (const l of await daemonLeases(deps.paths.dhcpSocket)) {
    const why = stale(l.containerId, l.network);
    if (why) items.push({kind: 'lease', network: l.network, containerId: l.containerId, name: why.name, ifname: l.ifname, detail: l.address, reason: why.reason});
  }
  const cached = new Set(entries.map((e) => `${e.networkName}-${e.containerId}-${e.ifName}`));
  for (const key of await listMetaKeys(deps.paths.stateDir)) {
    const m = /^(.+)-([0-9a-f]{64})-([^/]+)$/.exec(key);
    if (!m || cached.has(key)) continue;
    const why = stale(m[2], m[1]) ?? (!known.has(m[2]) ? {reason: 'container removed', name: m[2].slice(0, 12)} : undefined);
    if (why) items.push({kind: 'meta', network: m[1], containerId: m[2], name: why.name, ifname: m[3], detail: key, reason: why.reason});
  }
  return {items, entries: goneEntries, stores};
}

/** What gc would free, without changing anything (also used by `doctor`). */
export async function planGc(deps: Deps): Promise<GcItem[]> {
  return (await plan(deps)).items;
}

async function freeItem(deps: Deps, p: Plan, it: GcItem): Promise<void> {
  switch (it.kind) {
    case 'address': {
      const s = [...p.stores.values()].find((x) => x.network === it.network);
      if (!s) return;
      const store = DiskStore.open(s.network, s.dataDir);
      await store.withLock(() => releaseReservation({ip: it.detail, id: it.containerId, ifname: it.ifname, path: path.join(store.dir, it.detail)}));
      return;
    }
    case 'chain':
      await teardownIpMasq(deps.runner, {chain: it.detail, comment: masqComment(it.network, it.containerId)}, {kind: 'all'});
      return;
    case 'rule':
      await teardownNftMasq(deps.runner, {network: it.network, ifname: it.ifname ?? '', containerId: it.containerId});
      return;
    case 'lease': {
      const {callDaemon} = await import('../ipam/dhcp/index.js');
      const stdin = JSON.stringify({cniVersion: '1.0.0', name: it.network, type: 'gc', ipam: {type: 'dhcp'}});
      await callDaemon(deps.paths.dhcpSocket, 'release', {containerId: it.containerId, ifname: it.ifname ?? '', netns: '', args: '', path: [], stdin});
      return;
    }
    case 'meta':
      await rm(path.join(deps.paths.stateDir, 'attachments', `${it.detail}.json`), {force: true});
      return;
    default:
      return;
  }
}

/**
 * Release everything planGc finds: DEL each gone attachment through its
 * cached config (CNI_NETNS empty once the namespace is gone), then remove
 * whatever is still left of those ids (addresses, chains, leases, cache and
 * meta files), then close forwarding of bridges nothing uses any more.
 */
export async function gc(deps: Deps, opts: {dryRun?: boolean} = {}): Promise<GcResult> {
  const p = await plan(deps);
  if (opts.dryRun) return {dryRun: true, freed: [...p.items, ...lockItems(await pruneLockFiles(deps, true))], failures: []};
  const failures: Failure[] = [];
  const lists: NetworkConfigList[] = [];
  for (const e of p.entries) {
    const who = `${e.containerId.slice(0, 12)} on ${e.networkName}/${e.ifName}`;
    try {
      const list = await releaseEntry(deps, e);
      if (list) lists.push(list);
    } catch (err) {
      failures.push({target: who, message: `DEL failed (leftovers are removed next): ${errorText(err)}`});
    }
    await deleteCache(deps.paths.cacheDir, e.networkName, e.containerId, e.ifName).catch(() => undefined);
    await deleteMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName).catch(() => undefined);
  }
  for (const it of p.items) {
    try {
      await freeItem(deps, p, it);
    } catch (err) {
      failures.push({target: `${it.kind} ${it.detail}`, message: `failed to free ${it.kind} ${it.detail} of ${it.name}: ${errorText(err)}`});
    }
  }
  try {
    // Markers of attachments that no longer exist would keep their bridges open.
    await lockedForward(deps, async () => pruneBridgeUsers(deps.paths.stateDir, new Set((await knownEntries(deps)).map(entryKey))));
    await releaseForwarding(deps, lists);
  } catch (err) {
    failures.push({target: 'forwarding', message: `failed to close forwarding: ${errorText(err)}`});
  }
  let locks: string[] = [];
  try {
    locks = await pruneLockFiles(deps);
  } catch (err) {
    failures.push({target: 'locks', message: `failed to remove unused lock files: ${errorText(err)}`});
  }
  return {dryRun: false, freed: [...p.items, ...lockItems(locks)], failures};
}

/** Per-container lock files of containers with nothing attached (left by versions that kept them). */
function lockItems(ids: string[]): GcItem[] {
  return ids.map((id) => ({kind: 'lock', network: '', containerId: id, name: id.slice(0, 12), detail: `locks/${id}.lock`, reason: 'nothing attached'}));
}
