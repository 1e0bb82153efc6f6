/**
 * One host's overlay sync, in flannel's order: make the vxlan device (its
 * MAC goes into the lease), take or renew the host's lease, give the device
 * the subnet's VTEP address, then program every peer lease and remove
 * what belongs to leases that are gone.
 */
import {cidrString} from '../util/ip.js';
import type {Runner} from '../exec/runner.js';
import {delVxlan, ensureVxlan, linkMtu, syncPeers, type Peer, type PeerPlan, type VxlanDevice} from '../net/link-vxlan.js';
import type {NetworkConfig} from './config.js';
import type {Hooks} from '../util/hooks.js';
import {isVxlanPeer, type SubnetLease} from './lease.js';
import type {AcquireRequest, SubnetRegistry} from './registry.js';

/** flannel's vxlan overhead: the device's MTU is the uplink's minus this. */
export const VXLAN_OVERHEAD = 50;

export interface HostSpec {
  publicIP: string;
  uplink: string;
  /** Default: the uplink's MTU less 50. */
  mtu?: number;
  preferred?: AcquireRequest['preferred'];
}

export interface HostSync {
  config: NetworkConfig;
  lease: SubnetLease;
  device: VxlanDevice;
  /** The overlay's MTU (the vxlan device's). */
  mtu: number;
  peers: Peer[];
  plan: PeerPlan;
  /** The store revision the peers were read at (a watch goes on from the next one). */
  revision: number;
  /** What this call made that was not there before: undone when the sync fails, and by a caller that cannot use it after all. */
  created: {device: boolean; lease: boolean};
}

/** The peers to program from a listing: every other host's vxlan lease on this VNI, in subnet order. */
export function peersFromLeases(leases: readonly SubnetLease[], own: SubnetLease, vni: number): Peer[] {
  return leases
    .filter((l) => l.key !== own.key && l.attrs.publicIP !== own.attrs.publicIP && isVxlanPeer(l, vni))
    .map((l) => ({subnet: cidrString(l.subnet), publicIP: l.attrs.publicIP, vtepMac: l.attrs.vtepMac as string}))
    .sort((a, b) => (a.subnet < b.subnet ? -1 : a.subnet > b.subnet ? 1 : 0));
}

/**
 * Sync one host. Nothing half-made stays behind when it fails: a device or
 * lease this call created is removed again (a device or lease that was there
 * before is kept, as the host's). `hooks`: the caller's test hooks (a pause
 * before the lease is taken lines up racing hosts).
 */
export async function syncHost(runner: Runner, registry: SubnetRegistry, host: HostSpec, hooks?: Hooks): Promise<HostSync> {
  const cfg = await registry.getConfig();
  const mtu = host.mtu ?? (await linkMtu(runner, host.uplink)) - VXLAN_OVERHEAD;
  const base = {vni: cfg.backend.vni, port: cfg.backend.port, localIP: host.publicIP, uplink: host.uplink, mtu};
  const first = await ensureVxlan(runner, base);
  let lease: SubnetLease | undefined;
  try {
    await hooks?.pausePoint('overlay:acquire');
    lease = await registry.acquire({publicIP: host.publicIP, vtepMac: first.mac, preferred: host.preferred}, cfg);
    const device = await ensureVxlan(runner, {...base, subnet: cidrString(lease.subnet)});
    const {leases, revision} = await registry.listLeases();
    const peers = peersFromLeases(leases, lease, cfg.backend.vni);
    const plan = await syncPeers(runner, cfg.backend.vni, peers);
    return {config: cfg, lease, device, mtu, peers, plan, revision, created: {device: first.created, lease: lease.created === true}};
  } catch (err) {
    if (lease?.created) await registry.release(lease).catch(() => undefined);
    if (first.created) await delVxlan(runner, cfg.backend.vni).catch(() => undefined);
    throw err;
  }
}
