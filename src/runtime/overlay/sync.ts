/**
 * `overlay sync`: this host's side of an overlay, once or kept in step.
 *
 * Once: take or renew the lease, make the vxlan device, program every peer
 * lease and remove what gone leases left (src/overlay/sync.ts), under the
 * per-host lock.
 *
 * --follow (and `watch`, for every overlay in the conf dir): after a full
 * sync, a watch on the leases from the revision that sync read; every change
 * re-reads the leases and syncs the peers; a watch that lost history
 * (compaction) does the same. The lease is renewed before it runs out, and
 * when this host's own lease goes (expired, deleted) the full sync runs
 * again and takes one. Failures are reported and retried with backoff.
 */
import type {Deps} from '../../deps.js';
import {cidrString} from '../../util/ip.js';
import {syncPeers, type Peer, type PeerPlan} from '../../net/link-vxlan.js';
import {connectOverlay, withOverlay} from '../../overlay/connect.js';
import {withHostLock} from '../../overlay/host-lock.js';
import type {SubnetRegistry} from '../../overlay/registry.js';
import {peersFromLeases, syncHost, type HostSync} from '../../overlay/sync.js';
import {findUplink, type Uplink} from '../../overlay/uplink.js';
import type {SubnetLease} from '../../overlay/lease.js';
import {overlayNetworksIn, type OverlayNetwork} from './network.js';
import {errorText} from '../../util/error-text.js';

export interface PeerChanges {
  added: string[];
  removed: string[];
}

export interface OverlaySyncReport {
  network: string;
  publicIP: string;
  uplink: string;
  subnet: string;
  device: string;
  vtepMac: string;
  mtu: number;
  expiresAt?: string;
  peers: Peer[];
  changes: PeerChanges;
}

/** A peer sync that changed something (under --follow and `watch`). */
export interface PeerSyncReport {
  network: string;
  peers: Peer[];
  changes: PeerChanges;
}

/** Which peer subnets a plan adds (routes replaced) and removes (routes deleted). */
export function planChanges(plan: PeerPlan): PeerChanges {
  const subnets = (verb: string): string[] => plan.ip.filter((l) => l[0] === 'route' && l[1] === verb).map((l) => l[2]);
  return {added: subnets('replace'), removed: subnets('del')};
}

function syncReport(net: OverlayNetwork, up: Uplink, s: HostSync): OverlaySyncReport {
  return {
    network: net.list.name,
    publicIP: up.publicIP,
    uplink: up.uplink,
    subnet: cidrString(s.lease.subnet),
    device: s.device.name,
    vtepMac: s.device.mac,
    mtu: s.mtu,
    expiresAt: s.lease.expiresAt?.toISOString(),
    peers: s.peers,
    changes: planChanges(s.plan),
  };
}

async function syncLocked(deps: Deps, net: OverlayNetwork, registry: SubnetRegistry, up: Uplink): Promise<HostSync> {
  return withHostLock(deps.paths.stateDir, () =>
    syncHost(deps.runner, registry, {publicIP: up.publicIP, uplink: up.uplink, mtu: net.conf.mtu}, deps.hooks),
  );
}

/** One full sync of this host. */
export async function overlaySync(deps: Deps, net: OverlayNetwork): Promise<OverlaySyncReport> {
  const up = await findUplink(deps.runner, net.conf);
  return withOverlay(net.conf, deps, async ({registry}) => syncReport(net, up, await syncLocked(deps, net, registry, up)));
}

/** The peers again from a fresh listing (after a change or a lost watch history). */
async function resyncPeers(
  deps: Deps,
  registry: SubnetRegistry,
  own: SubnetLease,
  vni: number,
): Promise<{peers: Peer[]; changes: PeerChanges}> {
  return withHostLock(deps.paths.stateDir, async () => {
    const {leases} = await registry.listLeases();
    const peers = peersFromLeases(leases, own, vni);
    return {peers, changes: planChanges(await syncPeers(deps.runner, vni, peers))};
  });
}

export interface FollowReport {
  /** After every full sync (the first, renewals, a lost own lease). */
  synced?(r: OverlaySyncReport): void;
  /** After a peer sync that changed something. */
  peers?(r: PeerSyncReport): void;
  /** Failures and reconnections, one line each. */
  info?(message: string): void;
}

export interface FollowOptions {
  signal?: AbortSignal;
  report?: FollowReport;
  /** Retry pause after a failure: first and longest (ms). */
  backoffMs?: {initial: number; max: number};
  now?: () => number;
}

/** When to renew: flannel's margin of an hour before expiry, or half the time left for short leases. */
export function renewDelayMs(expiresAt: Date | undefined, now: number): number | undefined {
  if (!expiresAt) return undefined; // a reservation does not expire
  const left = expiresAt.getTime() - now;
  const hour = 3600_000;
  return Math.max(1000, left > 2 * hour ? left - hour : left / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, {once: true});
  });
}

type PhaseEnd = 'renew' | 'resync' | 'stop';

/**
 * Follow the leases after a full sync until the lease is due for renewal,
 * this host's own lease went, or `signal` aborts. Rejects when the watch is
 * refused for good.
 */
function followPhase(deps: Deps, net: OverlayNetwork, registry: SubnetRegistry, s: HostSync, opts: FollowOptions): Promise<PhaseEnd> {
  const {signal, report = {}} = opts;
  const vni = s.config.backend.vni;
  return new Promise<PhaseEnd>((resolve, reject) => {
    let ended = false;
    let running = false;
    let again = false;
    let retry: NodeJS.Timeout | undefined;
    const sync = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        try {
          const r = await resyncPeers(deps, registry, s.lease, vni);
          if (r.changes.added.length + r.changes.removed.length > 0) report.peers?.({network: net.list.name, ...r});
        } catch (err) {
          report.info?.(`${net.list.name}: peer sync failed (retrying): ${errorText(err)}`);
          if (!ended) retry = setTimeout(() => void sync(), 1000);
        }
      } while (again && !ended);
      running = false;
    };
    const delay = renewDelayMs(s.lease.expiresAt, (opts.now ?? Date.now)());
    const renew = delay === undefined ? undefined : setTimeout(() => end('renew'), delay);
    const w = registry.watchLeases(
      {
        onChange: (changes) => {
          if (changes.some((c) => c.type === 'removed' && c.key === s.lease.key)) return end('resync');
          void sync();
        },
        onReset: () => void sync(),
        onError: (err) => report.info?.(`${net.list.name}: etcd watch: ${err.message} (reconnecting)`),
      },
      s.revision + 1,
    );
    w.ready.catch((err: unknown) => {
      if (ended) return;
      finish();
      reject(err instanceof Error ? err : new Error(String(err)));
    });
    const onAbort = (): void => end('stop');
    signal?.addEventListener('abort', onAbort, {once: true});
    if (signal?.aborted) end('stop');

    function finish(): void {
      ended = true;
      if (renew) clearTimeout(renew);
      if (retry) clearTimeout(retry);
      signal?.removeEventListener('abort', onAbort);
      w.close();
    }
    function end(why: PhaseEnd): void {
      if (ended) return;
      finish();
      resolve(why);
    }
  });
}

/** Keep this host's side of one overlay in step until `signal` aborts. */
export async function followOverlay(deps: Deps, net: OverlayNetwork, opts: FollowOptions = {}): Promise<void> {
  const {signal, report = {}} = opts;
  const backoff = opts.backoffMs ?? {initial: 250, max: 5000};
  const conn = connectOverlay(net.conf, deps);
  let pause = backoff.initial;
  try {
    while (!signal?.aborted) {
      try {
        const up = await findUplink(deps.runner, net.conf);
        const s = await syncLocked(deps, net, conn.registry, up);
        report.synced?.(syncReport(net, up, s));
        pause = backoff.initial;
        const why = await followPhase(deps, net, conn.registry, s, opts);
        if (why === 'stop') break;
        if (why === 'resync')
          report.info?.(`${net.list.name}: this host's lease on ${cidrString(s.lease.subnet)} is gone; taking one again`);
      } catch (err) {
        if (signal?.aborted) break;
        report.info?.(`${net.list.name}: ${errorText(err)} (retrying in ${pause} ms)`);
        await sleep(pause, signal);
        pause = Math.min(pause * 2, backoff.max);
      }
    }
  } finally {
    await conn.close();
  }
}

/** `watch`: follow every overlay network in the conf dir until `signal` aborts. */
export async function followOverlaysIn(deps: Deps, opts: FollowOptions = {}): Promise<void> {
  const found = await overlayNetworksIn(deps.confDir);
  for (const f of found) if (f.error) opts.report?.info?.(`${f.file}: not followed: ${f.error}`);
  const nets = found.flatMap((f) => (f.network ? [f.network] : []));
  for (const n of nets)
    opts.report?.info?.(`following overlay network ${n.list.name} (etcd ${n.conf.etcd.endpoints.join(', ')}, prefix ${n.conf.prefix})`);
  await Promise.all(nets.map((n) => followOverlay(deps, n, opts)));
}
