import {rm} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {DiskStore, releaseReservation} from '../ipam/host-local/store.js';
import {pruneIndexes} from '../ipam/host-local/reservation-index.js';
import {masqComment, teardownIpMasq} from '../net/iptables-masq.js';
import {teardownNftMasq} from '../net/nft-masq.js';
import {lockedForward, pruneLockFiles, withGcLock} from './state/locks.js';
import {pruneBridgeUsers} from './state/bridge-users.js';
import {deleteCache} from './state/result-cache.js';
import {releaseEntry} from './detach.js';
import {releaseForwarding} from './forwarding/open-close.js';
import {closePublished} from './forwarding/published.js';
import {gcNetworkList} from './chain.js';
import {entryKey, knownEntries} from './state/known-attachments.js';
import {deleteMeta} from './state/attachment-meta.js';
import type {Failure} from './outcome.js';
import {errorText} from '../util/error-text.js';
import {plan, type GcItem, type Plan} from './gc-plan.js';

export {DOCKER_ID, type GcItem, type GcKind} from './gc-plan.js';

/** One network the GC verb went (or would go) to. */
export interface GcSent {
  network: string;
  cniVersion: string;
  /** Plugin types, in order. */
  plugins: string[];
}

export interface GcResult {
  dryRun: boolean;
  freed: GcItem[];
  /** The networks sent the GC verb, and how many attachments the valid list held. */
  gc: GcSent[];
  validAttachments: number;
  failures: Failure[];
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
      await store.withLock(() =>
        releaseReservation({ip: it.detail, id: it.containerId, ifname: it.ifname, path: path.join(store.dir, it.detail)}),
      );
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
      await callDaemon(deps.paths.dhcpSocket, 'release', {
        containerId: it.containerId,
        ifname: it.ifname ?? '',
        netns: '',
        args: '',
        path: [],
        stdin,
      });
      return;
    }
    case 'port':
      await closePublished(deps, [p.portComments.get(it)!]);
      return;
    case 'meta':
      await rm(path.join(deps.paths.stateDir, 'attachments', `${it.detail}.json`), {force: true});
      return;
    default:
      return;
  }
}

function sentOf(l: NetworkConfigList): GcSent {
  return {network: l.name, cniVersion: l.cniVersion, plugins: l.plugins.map((p) => p.network.type)};
}

function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, '; ');
}

/**
 * Steps 1 to 3 of gc() below, under the gc lock: DEL each gone
 * attachment through its cached config (CNI_NETNS empty once the namespace is
 * gone), the GC verb, then whatever is still left, then close forwarding of
 * bridges nothing uses any more. A plugin that fails GC is reported in one
 * line and the rest goes on; what it should have freed of our state is freed
 * by step 3 all the same.
 */
async function collect(deps: Deps, failures: Failure[]): Promise<Plan> {
  const p = await plan(deps);
  await deps.hooks.pausePoint('gc:planned');
  const lists: NetworkConfigList[] = [];
  for (const e of p.entries) {
    const who = `${e.containerId.slice(0, 12)} on ${e.networkName}/${e.ifName}`;
    try {
      const list = await releaseEntry(deps, e);
      if (list) lists.push(list);
    } catch (err) {
      failures.push({target: who, message: `DEL failed (leftovers are removed next): ${oneLine(errorText(err))}`});
    }
    await deleteCache(deps.paths.cacheDir, e.networkName, e.containerId, e.ifName).catch(() => undefined);
    await deleteMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName).catch(() => undefined);
  }
  for (const l of p.gcLists) {
    for (const f of await gcNetworkList(deps, l, p.valid)) {
      failures.push({target: `gc ${l.name}`, message: `GC of network ${l.name} failed in ${f.plugin}: ${oneLine(f.error.message)}`});
    }
  }
  for (const it of p.items) {
    try {
      await freeItem(deps, p, it);
    } catch (err) {
      failures.push({
        target: `${it.kind} ${it.detail}`,
        message: `failed to free ${it.kind} ${it.detail} of ${it.name}: ${oneLine(errorText(err))}`,
      });
    }
  }
  try {
    // Markers of attachments that no longer exist would keep their bridges open.
    await lockedForward(deps, async () => pruneBridgeUsers(deps.paths.stateDir, new Set((await knownEntries(deps)).map(entryKey))));
    await releaseForwarding(deps, lists);
  } catch (err) {
    failures.push({target: 'forwarding', message: `failed to close forwarding: ${oneLine(errorText(err))}`});
  }
  return p;
}

/**
 * `gc`, libcni's GCNetworkList with a Docker front. The valid attachments are
 * the known ones (cached, or being made) of containers Docker lists (running
 * or stopped: a stopped container keeps its attachments for `--persist`) and
 * of plain namespaces whose path still exists. gc then
 *  1. DELs every other known attachment through its cached config;
 *  2. sends the GC verb with `cni.dev/valid-attachments` to each plugin of
 *     every network of cniVersion >= 1.1.0 (without disableGC) in the conf dir
 *     or in the cache: the plugins free whatever of theirs is not valid;
 *  3. removes what our own state still holds of ids that are gone (addresses,
 *     masquerade chains and rules, DHCP leases, published-port rules, records,
 *     and for a 1.1.0 network anything not valid), whichever plugin should
 *     have freed it, then closes forwarding nothing uses and drops unused
 *     per-container lock files.
 * On networks below 1.1.0 it stays conservative: an id is only "gone" when it
 * is in our cache/meta, or is a 64-hex Docker-style id that Docker does not
 * list, found in a network we have a config for. A live (running or stopped)
 * container's attachment is never touched.
 *
 * With dryRun it only reports what it would free and where the GC verb would go.
 */
export async function gc(deps: Deps, opts: {dryRun?: boolean} = {}): Promise<GcResult> {
  if (opts.dryRun) {
    const p = await plan(deps);
    return {
      dryRun: true,
      freed: [...p.items, ...lockItems(await pruneLockFiles(deps, true)), ...indexItems(await pruneIndexesOf(deps, true))],
      gc: p.gcLists.map(sentOf),
      validAttachments: p.valid.length,
      failures: [],
    };
  }
  const failures: Failure[] = [];
  const p = await withGcLock(deps, () => collect(deps, failures));
  // After the gc lock: pruning takes container locks, which an attach waiting for gc may hold.
  let locks: string[] = [];
  try {
    locks = await pruneLockFiles(deps);
  } catch (err) {
    failures.push({target: 'locks', message: `failed to remove unused lock files: ${oneLine(errorText(err))}`});
  }
  let indexes: [string, string][] = [];
  try {
    indexes = await pruneIndexesOf(deps);
  } catch (err) {
    failures.push({target: 'ipam-index', message: `failed to remove unused reservation indexes: ${oneLine(errorText(err))}`});
  }
  return {
    dryRun: false,
    freed: [...p.items, ...lockItems(locks), ...indexItems(indexes)],
    gc: p.gcLists.map(sentOf),
    validAttachments: p.valid.length,
    failures,
  };
}

function pruneIndexesOf(deps: Deps, dryRun = false): Promise<[string, string][]> {
  return deps.ipamIndexDir ? pruneIndexes(deps.ipamIndexDir, dryRun) : Promise.resolve([]);
}

/** Reservation indexes (src/ipam/host-local/reservation-index.ts) of host-local stores that are gone. */
function indexItems(found: [string, string][]): GcItem[] {
  return found.map(([file, dir]) => ({
    kind: 'index',
    network: path.basename(dir),
    containerId: '',
    name: 'host-local reservations',
    detail: `ipam-index/${file}`,
    reason: `its store ${dir} is gone`,
  }));
}

/** Per-container lock files of containers with nothing attached (left by versions that kept them). */
function lockItems(ids: string[]): GcItem[] {
  return ids.map((id) => ({
    kind: 'lock',
    network: '',
    containerId: id,
    name: id.slice(0, 12),
    detail: `locks/${id}.lock`,
    reason: 'nothing attached',
  }));
}
