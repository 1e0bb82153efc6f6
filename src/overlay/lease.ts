/**
 * One host's subnet lease as flannel stores it: the key names the subnet,
 * the value says where the host is and how to reach it:
 *   {"PublicIP":"192.0.2.7","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"8a:3f:…"}}
 * A key attached to an etcd lease expires unless renewed; a key without one
 * is a reservation, written by an operator for the host with that PublicIP.
 */
import {decodeGo, goInt, goPtr, goRawMessage, goString, goStruct, type GoType} from '../cni/go-json.js';
import {parseJsonNode} from '../cni/json.js';
import {ipString, isV4, parseIP, type Cidr} from '../util/ip.js';
import {parseUnicastMac} from '../net/mac.js';
import type {KeyValue} from '../etcd/types.js';
import {parseSubnetKeyName, subnetsPrefix} from './keys.js';
import {errorText} from '../util/error-text.js';

export interface LeaseAttrs {
  publicIP: string;
  /** Absent on a bare reservation, until its host takes it. */
  backendType?: string;
  vni?: number;
  vtepMac?: string;
}

export interface SubnetLease {
  subnet: Cidr;
  key: string;
  attrs: LeaseAttrs;
  /** The etcd lease the key is attached to; "0" for a reservation. */
  etcdLease: string;
  reservation: boolean;
  modRevision: number;
  /** When the etcd lease runs out (absent for a reservation, or when not asked). */
  expiresAt?: Date;
  /** Set by acquire() when it took this subnet just now (the host held none before). */
  created?: boolean;
}

/** A unicast Ethernet address, lower case with colons, or undefined. */
export const parseMac = parseUnicastMac;

export function parsePublicIP(text: string): string | undefined {
  const ip = typeof text === 'string' ? parseIP(text) : undefined;
  if (!ip || !isV4(ip)) return undefined;
  const v = ip.getValue();
  if (v === 0n || v === 0xffffffffn || v >> 28n === 0xen) return undefined; // unspecified, broadcast, multicast
  return ipString(ip);
}

export function formatLeaseAttrs(a: LeaseAttrs): string {
  const publicIP = parsePublicIP(a.publicIP);
  if (!publicIP) throw new Error(`lease: PublicIP ${JSON.stringify(a.publicIP)} is not a unicast IPv4 address`);
  if (a.backendType === undefined) return JSON.stringify({PublicIP: publicIP});
  if (a.backendType !== 'vxlan') throw new Error(`lease: backend type ${JSON.stringify(a.backendType)} is not supported`);
  const mac = a.vtepMac === undefined ? undefined : parseMac(a.vtepMac);
  if (!mac) throw new Error(`lease: VtepMAC ${JSON.stringify(a.vtepMac)} is not a unicast MAC address`);
  if (!Number.isInteger(a.vni) || (a.vni as number) < 0 || (a.vni as number) > 0xffffff)
    throw new Error(`lease: VNI ${a.vni} is not 0..16777215`);
  return JSON.stringify({PublicIP: publicIP, BackendType: 'vxlan', BackendData: {VNI: a.vni, VtepMAC: mac}});
}

/** PublicIP, written as a string; anything else is refused naming the value it holds. */
const publicIpText: GoType<string | undefined> = {
  name: 'string',
  zero: () => undefined,
  decode: (node, prev, st) =>
    node.kind === 'string' ? node.value : node.kind === 'null' ? undefined : st.mismatch(node, 'string', prev, true),
};

/** flannel's LeaseAttrs, for the Go-JSON reader: BackendData stays raw until the backend is known, as flannel keeps it. */
const leaseAttrsType = goStruct('LeaseAttrs', {PublicIP: publicIpText, BackendType: goPtr(goString), BackendData: goRawMessage});
const vxlanAttrsType = goStruct('vxlanLeaseAttrs', {VNI: goPtr(goInt), VtepMAC: goPtr(goString)});

/** A lease value as stored by us or by flannel; throws one line on anything not usable. */
export function parseLeaseAttrs(text: string): LeaseAttrs {
  const node = parseJsonNode(text);
  if (node.kind !== 'object') throw new Error('lease value is not a JSON object');
  const a = decodeGo(node, leaseAttrsType);
  const publicIP = parsePublicIP(a.PublicIP ?? '');
  if (!publicIP) throw new Error(`lease: PublicIP ${JSON.stringify(a.PublicIP)} is not a unicast IPv4 address`);
  if (a.BackendType === undefined) return {publicIP};
  const backendType = a.BackendType;
  if (backendType !== 'vxlan') return {publicIP, backendType};
  const data = a.BackendData ? decodeGo(a.BackendData, vxlanAttrsType) : vxlanAttrsType.zero();
  if (data.VtepMAC === undefined) return {publicIP, backendType};
  const vtepMac = parseMac(data.VtepMAC);
  if (!vtepMac) throw new Error(`lease: VtepMAC ${JSON.stringify(data.VtepMAC)} is not a unicast MAC address`);
  const vni = data.VNI ?? 1;
  if (vni < 0 || vni > 0xffffff) throw new Error(`lease: VNI ${vni} is not 0..16777215`);
  return {publicIP, backendType, vni, vtepMac};
}

/** A key under `<prefix>/subnets/` read as a lease, or an Error saying why it is skipped. */
export function parseLeaseKv(kv: KeyValue, prefix: string): SubnetLease | Error {
  const base = subnetsPrefix(prefix);
  const name = kv.key.startsWith(base) ? kv.key.slice(base.length) : '';
  const subnet = parseSubnetKeyName(name);
  if (!subnet) return new Error(`${kv.key}: not a subnet key`);
  try {
    const attrs = parseLeaseAttrs(kv.value);
    return {subnet, key: kv.key, attrs, etcdLease: kv.lease, reservation: kv.lease === '0', modRevision: kv.modRevision};
  } catch (err) {
    return new Error(`${kv.key}: ${errorText(err)}`);
  }
}

/** Whether a peer's lease has what the vxlan datapath needs to reach it. */
export function isVxlanPeer(l: SubnetLease, vni: number): l is SubnetLease & {attrs: Required<LeaseAttrs>} {
  return l.attrs.backendType === 'vxlan' && l.attrs.vtepMac !== undefined && l.attrs.vni === vni;
}
