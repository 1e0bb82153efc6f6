import {existsSync} from 'node:fs';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {versionGte} from '../cni/version.js';
import {DiskStore, listReservations} from '../ipam/host-local/store.js';
import {readNatTable} from '../net/iptables.js';
import {masqOwners} from '../net/iptables-masq.js';
import {haveTool, nftMasqOwners} from '../net/nft-masq.js';
import {isLiveNetns} from '../net/netns.js';
import type {CacheEntry} from './state/result-cache.js';
import {publishComment, publishedComments} from './forwarding/published.js';
import type {GcAttachment} from './chain.js';
import {formatPort, mappingsOf} from './publish.js';
import {entryKey, knownEntries} from './state/known-attachments.js';
import {listMetaKeys, readMeta} from './state/attachment-meta.js';
import {cachedList} from './network-config.js';
import {scanConfDir} from './conf-dir.js';

/**
 * What gc (./gc.ts) would free, read without changing anything: the valid
 * attachments, the gone ones, the networks the GC verb goes to, and every
 * leftover of our own state that belongs to no valid attachment.
 */
export const DOCKER_ID = /^[0-9a-f]{64}$/;

export type GcKind = 'attachment' | 'address' | 'chain' | 'rule' | 'port' | 'lease' | 'meta' | 'lock' | 'index';

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

export interface Plan {
  items: GcItem[];
  entries: CacheEntry[];
  stores: Map<string, {network: string; dataDir: string}>;
  valid: GcAttachment[];
  /** The lists the GC verb goes to: distinct configs of version >= 1.1.0 without disableGC. */
  gcLists: NetworkConfigList[];
  /** The rule comment each 'port' item removes. */
  portComments: Map<GcItem, string>;
}

function hostLocalStores(lists: NetworkConfigList[], networksDir: string): Map<string, {network: string; dataDir: string}> {
  const out = new Map<string, {network: string; dataDir: string}>();
  for (const l of lists) {
    for (const p of l.plugins) {
      // An overlay delegates to host-local in the default store (src/plugins/overlay.ts).
      if (p.network.type === 'overlay') out.set(path.join(networksDir, l.name), {network: l.name, dataDir: networksDir});
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

/** The distinct lists (by their bytes) the GC verb goes to. */
function gcListsOf(lists: NetworkConfigList[]): NetworkConfigList[] {
  const out = new Map<string, NetworkConfigList>();
  for (const l of lists) if (versionGte(l.cniVersion || '0.1.0', '1.1.0') && !l.disableGC && !out.has(l.bytes)) out.set(l.bytes, l);
  return [...out.values()];
}

type Why = {reason: string; name: string};
/** Why something a network holds for (id, ifname) is stale, or undefined when it must be kept. */
type Stale = (id: string, network: string, ifname?: string) => Why | undefined;

/** The known attachments sorted into valid (their container or netns lives) and gone ones. */
interface Classified {
  live: Set<string>;
  validPairs: Set<string>;
  valid: GcAttachment[];
  gone: Map<string, Why>;
  goneEntries: CacheEntry[];
  items: GcItem[];
  /** Each attachment by its published-port rule comment, with why when it is gone. */
  byComment: Map<string, {e: CacheEntry; gone?: Why}>;
}

async function classify(deps: Deps, entries: CacheEntry[], known: Set<string>, lists: NetworkConfigList[]): Promise<Classified> {
  const c: Classified = {
    live: new Set(),
    validPairs: new Set(),
    valid: [],
    gone: new Map(),
    goneEntries: [],
    items: [],
    byComment: new Map(),
  };
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
      c.live.add(e.containerId);
      const pair = `${e.containerId}\0${e.ifName}`;
      if (!c.validPairs.has(pair)) c.valid.push({containerID: e.containerId, ifname: e.ifName});
      c.validPairs.add(pair);
      c.byComment.set(publishComment(entryKey(e)), {e});
      continue;
    }
    const name = meta?.name ?? e.containerId.slice(0, 12);
    const reason = kind === 'container' ? 'container removed' : `netns ${e.netns ?? ''} gone`;
    c.gone.set(e.containerId, {reason, name});
    c.goneEntries.push(e);
    c.byComment.set(publishComment(entryKey(e)), {e, gone: {reason, name}});
    c.items.push({
      kind: 'attachment',
      network: e.networkName,
      containerId: e.containerId,
      name,
      ifname: e.ifName,
      detail: `${e.networkName}/${e.ifName}`,
      reason,
    });
  }
  for (const id of c.live) c.gone.delete(id);
  return c;
}

/**
 * On a network the GC verb goes to, only a valid attachment keeps what the
 * network holds (by id and ifname where the state records an ifname, else by
 * id); elsewhere, anything of a container Docker or a live netns still has.
 */
function staleness(c: Classified, known: Set<string>, ourNets: Set<string>, gcNets: Set<string>): Stale {
  return (id, network, ifname) => {
    if (gcNets.has(network)) {
      if (ifname === undefined ? c.live.has(id) : c.validPairs.has(`${id}\0${ifname}`)) return undefined;
      return c.gone.get(id) ?? {reason: 'not a valid attachment', name: id.slice(0, 12)};
    }
    if (known.has(id) || c.live.has(id)) return undefined;
    const g = c.gone.get(id);
    if (g) return g;
    if (DOCKER_ID.test(id) && ourNets.has(network)) return {reason: 'container unknown to Docker', name: id.slice(0, 12)};
    return undefined;
  };
}

/** Stale host-local reservations, masquerade chains and rules, and dhcp leases. */
async function networkItems(deps: Deps, stores: Plan['stores'], stale: Stale): Promise<GcItem[]> {
  const items: GcItem[] = [];
  for (const [dir, s] of stores) {
    if (!existsSync(dir)) continue;
    const store = DiskStore.open(s.network, s.dataDir);
    for (const r of await store.withLock(() => listReservations(store))) {
      const why = stale(r.id, s.network, r.ifname);
      if (why)
        items.push({
          kind: 'address',
          network: s.network,
          containerId: r.id,
          name: why.name,
          ifname: r.ifname,
          detail: r.ip,
          reason: why.reason,
        });
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
      const why = stale(o.containerId, o.network, o.ifname || undefined);
      const rules = `${o.handles.length} rule${o.handles.length === 1 ? '' : 's'}`;
      if (why)
        items.push({
          kind: 'rule',
          network: o.network,
          containerId: o.containerId,
          name: why.name,
          ifname: o.ifname,
          detail: `nftables masquerade (${rules})`,
          reason: why.reason,
        });
    }
  }
  for (const l of await daemonLeases(deps.paths.dhcpSocket)) {
    const why = stale(l.containerId, l.network, l.ifname || undefined);
    if (why)
      items.push({
        kind: 'lease',
        network: l.network,
        containerId: l.containerId,
        name: why.name,
        ifname: l.ifname,
        detail: l.address,
        reason: why.reason,
      });
  }
  return items;
}

/** Published-port rules whose attachment is gone or unknown, each with the comment that removes it. */
function portItems(portRules: Map<string, number>, byComment: Classified['byComment'], portComments: Map<GcItem, string>): GcItem[] {
  const items: GcItem[] = [];
  for (const [comment, n] of portRules) {
    const owner = byComment.get(comment);
    if (owner && !owner.gone) continue;
    const e = owner?.e;
    const key = comment.slice('cni-docker port '.length);
    const m = /^(.+)-([0-9a-f]{64})-([^-]+)$/.exec(key);
    const why = owner?.gone ?? {reason: 'no attachment', name: m ? m[2].slice(0, 12) : key};
    const ports = e ? mappingsOf(e.capabilityArgs).map(formatPort).join(', ') : '';
    const item: GcItem = {
      kind: 'port',
      network: e?.networkName ?? m?.[1] ?? '',
      containerId: e?.containerId ?? m?.[2] ?? '',
      name: why.name,
      ifname: e?.ifName ?? m?.[3],
      detail: `forwarding of published ports${ports ? ` ${ports}` : ''} (${n} rule${n === 1 ? '' : 's'} in CNI-DOCKER-FORWARD)`,
      reason: why.reason,
    };
    portComments.set(item, comment);
    items.push(item);
  }
  return items;
}

/** Attachment records (pending or orphaned) with no cache entry, of stale attachments. */
async function metaItems(deps: Deps, entries: CacheEntry[], known: Set<string>, stale: Stale): Promise<GcItem[]> {
  const items: GcItem[] = [];
  const cached = new Set(entries.map(entryKey));
  for (const key of await listMetaKeys(deps.paths.stateDir)) {
    const m = /^(.+)-([0-9a-f]{64})-([^/]+)$/.exec(key);
    if (!m || cached.has(key)) continue;
    const why = stale(m[2], m[1], m[3]) ?? (!known.has(m[2]) ? {reason: 'container removed', name: m[2].slice(0, 12)} : undefined);
    if (why) items.push({kind: 'meta', network: m[1], containerId: m[2], name: why.name, ifname: m[3], detail: key, reason: why.reason});
  }
  return items;
}

export async function plan(deps: Deps): Promise<Plan> {
  // Rules first: an attach writes its pending record before its rules, so any
  // rule read here has its attachment in the known entries read next.
  const portRules = await publishedComments(deps.runner);
  const known = new Set((await deps.docker.listContainers(true)).map((c) => c.Id));
  const entries = await knownEntries(deps);
  const lists: NetworkConfigList[] = [];
  for (const c of await scanConfDir(deps.confDir)) if (c.list) lists.push(c.list);
  const c = await classify(deps, entries, known, lists);
  const gcLists = gcListsOf(lists);
  const stale = staleness(c, known, new Set(lists.map((l) => l.name)), new Set(gcLists.map((l) => l.name)));
  const stores = hostLocalStores(lists, deps.paths.networksDir);
  const portComments = new Map<GcItem, string>();
  const items = [
    ...c.items,
    ...(await networkItems(deps, stores, stale)),
    ...portItems(portRules, c.byComment, portComments),
    ...(await metaItems(deps, entries, known, stale)),
  ];
  return {items, entries: c.goneEntries, stores, valid: c.valid, gcLists, portComments};
}
