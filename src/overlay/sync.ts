/**
 * One host's overlay sync, in flannel's order: make the vxlan device (its
 * MAC goes into the lease), take or renew the host's lease, give the device
 * the subnet's VTEP address, then program every peer lease and remove
 * what belongs to leases that are gone.
 */
import {cidrString} from '../util/ip.js';
import type {Runner} from '../exec/runner.js';
import {ensureVxlan, linkMtu, syncPeers, type Peer, type PeerPlan, type VxlanDevice} from '../net/link-vxlan.js';
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
  lease: SubnetLease;
  device: VxlanDevice;
  peers: Peer[];
  plan: PeerPlan;
}

/** The peers to program from a listing: every other host's vxlan lease on this VNI, in subnet order. */
export function peersFromLeases(leases: readonly SubnetLease[], own: SubnetLease, vni: number): Peer[] {
  return leases
    .filter((l) => l.key !== own.key && l.attrs.publicIP !== own.attrs.publicIP && isVxlanPeer(l, vni))
    .map((l) => ({subnet: cidrString(l.subnet), publicIP: l.attrs.publicIP, vtepMac: l.attrs.vtepMac as string}))
    .sort((a, b) => (a.subnet < b.subnet ? -1 : a.subnet > b.subnet ? 1 : 0));
}

export async function syncHost(runner: Runner, registry: SubnetRegistry, host: HostSpec): Promise<HostSync> {
  const cfg = await registry.getConfig();
  const mtu = host.mtu ?? (await linkMtu(runner, host.uplink)) - VXLAN_OVERHEAD;
  const base = {vni: cfg.backend.vni, port: cfg.backend.port, localIP: host.publicIP, uplink: host.uplink, mtu};
  const first = await ensureVxlan(runner, base);
  const lease = await registry.acquire({publicIP: host.publicIP, vtepMac: first.mac, preferred: host.preferred}, cfg);
  const device = await ensureVxlan(runner, {...base, subnet: cidrString(lease.subnet)});
  const {leases} = await registry.listLeases();
  const peers = peersFromLeases(leases, lease, cfg.backend.vni);
  const plan = await syncPeers(runner, cfg.backend.vni, peers);
  return {lease, device, peers, plan};
}
