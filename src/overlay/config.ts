/**
 * The overlay network's config at `<prefix>/config`, as flannel writes and
 * reads it: {"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}.
 * Keys match as Go's encoding/json matches them (src/cni/go-json.ts); the
 * defaults are flannel's: SubnetLen /24 (or Network+2 for small networks),
 * SubnetMin the second subnet and SubnetMax the last, so the network's first
 * subnet is never leased. Only IPv4 and the vxlan backend are served here.
 */
import {decodeGo, goBool, goInt, goPtr, goString, goStruct} from '../cni/go-json.js';
import {parseJsonNode} from '../cni/json.js';
import {addrFromValue, cidrString, ipString, isV4, networkOf, parseCidr, parseIP, type Addr, type Cidr} from '../util/ip.js';

export const DEFAULT_VXLAN_PORT = 8472;
export const DEFAULT_VNI = 1;
const IFNAMSIZ = 15;

export interface VxlanBackend {
  type: 'vxlan';
  vni: number;
  port: number;
}

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  subnetMin: Addr;
  subnetMax: Addr;
  backend: VxlanBackend;
}

/** What `overlay init` writes: the rest takes flannel's defaults. */
export interface NetworkConfigInput {
  network: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  vni?: number;
  port?: number;
}

export function subnetSize(subnetLen: number): bigint {
  return 1n << BigInt(32 - subnetLen);
}

/** flannel's Config, for the Go-JSON reader; a field that may be absent is a pointer. */
const backendType = goStruct('BackendConfig', {Type: goString, VNI: goPtr(goInt), Port: goInt, DirectRouting: goBool, GBP: goBool});
const configType = goStruct('Config', {
  EnableIPv4: goPtr(goBool),
  EnableIPv6: goPtr(goBool),
  Network: goString,
  SubnetLen: goInt,
  SubnetMin: goString,
  SubnetMax: goString,
  Backend: backendType,
});

/** Parse and check a config as stored in etcd; throws one line saying what is wrong. */
export function parseNetworkConfig(text: string): NetworkConfig {
  const node = parseJsonNode(text);
  if (node.kind !== 'object') throw new Error('network config is not a JSON object');
  // flannel's backend type when none is named
  const c = decodeGo(node, configType, {...configType.zero(), Backend: {...backendType.zero(), Type: 'udp'}});
  if (c.EnableIPv6) throw new Error('network config: IPv6 networks (EnableIPv6) are not supported');
  if (c.EnableIPv4 === false) throw new Error('network config: EnableIPv4 false leaves nothing to lease');
  const b = c.Backend;
  if (b.Type !== 'vxlan') throw new Error(`network config: backend type ${JSON.stringify(b.Type)} is not supported (only vxlan)`);
  for (const opt of ['DirectRouting', 'GBP'] as const) if (b[opt]) throw new Error(`network config: vxlan option ${opt} is not supported`);
  return checkNetworkConfig({
    network: c.Network,
    subnetLen: c.SubnetLen,
    subnetMin: c.SubnetMin || undefined,
    subnetMax: c.SubnetMax || undefined,
    vni: b.VNI ?? DEFAULT_VNI,
    port: b.Port,
  });
}

/** Check a config and fill in flannel's defaults. */
export function checkNetworkConfig(input: NetworkConfigInput): NetworkConfig {
  const c = parseCidr(input.network);
  if (!input.network || !c || !isV4(c.ip) || c.mappedV4)
    throw new Error(`network config: Network ${JSON.stringify(input.network)} is not an IPv4 CIDR`);
  const network: Cidr = {ip: networkOf(c), prefix: c.prefix};
  let subnetLen = input.subnetLen ?? 0;
  if (!Number.isInteger(subnetLen) || subnetLen < 0) throw new Error(`network config: SubnetLen ${subnetLen} is not a prefix length`);
  if (subnetLen > 0) {
    if (subnetLen > 30) throw new Error('network config: SubnetLen must be at most 30');
    if (subnetLen < network.prefix + 2)
      throw new Error(`network config: Network ${cidrString(network)} must hold at least four /${subnetLen} subnets`);
  } else if (network.prefix > 28) {
    throw new Error(`network config: Network ${cidrString(network)} is too small (at most /28)`);
  } else {
    subnetLen = network.prefix <= 22 ? 24 : network.prefix + 2;
  }
  const size = subnetSize(subnetLen);
  const first = network.ip.getValue();
  const end = first + (1n << BigInt(32 - network.prefix));
  const bound = (text: string | undefined, def: bigint, what: string): Addr => {
    if (text === undefined) return addrFromValue(true, def);
    const ip = parseIP(text);
    if (!ip || !isV4(ip)) throw new Error(`network config: ${what} ${JSON.stringify(text)} is not an IPv4 address`);
    const v = ip.getValue();
    if (v < first || v >= end) throw new Error(`network config: ${what} ${text} is not in ${cidrString(network)}`);
    if (v % size !== 0n) throw new Error(`network config: ${what} ${text} is not on a /${subnetLen} boundary`);
    return ip;
  };
  const subnetMin = bound(input.subnetMin, first + size, 'SubnetMin');
  const subnetMax = bound(input.subnetMax, end - size, 'SubnetMax');
  if (subnetMin.getValue() > subnetMax.getValue()) {
    throw new Error(`network config: SubnetMin ${ipString(subnetMin)} is above SubnetMax ${ipString(subnetMax)}`);
  }
  const vni = input.vni ?? DEFAULT_VNI;
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new Error(`network config: VNI ${vni} is not 0..16777215`);
  if (`flannel.${vni}`.length > IFNAMSIZ)
    throw new Error(`network config: VNI ${vni} makes the device name flannel.${vni} longer than ${IFNAMSIZ} characters`);
  const port = input.port || DEFAULT_VXLAN_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`network config: Port ${port} is not 1..65535`);
  return {network, subnetLen, subnetMin, subnetMax, backend: {type: 'vxlan', vni, port}};
}

/** The JSON stored in etcd: what was given, in flannel's field names; defaults stay implicit. */
export function formatNetworkConfig(input: NetworkConfigInput): string {
  const cfg = checkNetworkConfig(input);
  const out: Record<string, unknown> = {Network: cidrString(cfg.network), SubnetLen: cfg.subnetLen};
  if (input.subnetMin !== undefined) out.SubnetMin = ipString(cfg.subnetMin);
  if (input.subnetMax !== undefined) out.SubnetMax = ipString(cfg.subnetMax);
  out.Backend = {Type: 'vxlan', VNI: cfg.backend.vni, Port: cfg.backend.port};
  return JSON.stringify(out);
}

/** Same network in effect (defaults filled in), however it is written. */
export function sameNetworkConfig(a: NetworkConfig, b: NetworkConfig): boolean {
  return (
    cidrString(a.network) === cidrString(b.network) &&
    a.subnetLen === b.subnetLen &&
    ipString(a.subnetMin) === ipString(b.subnetMin) &&
    ipString(a.subnetMax) === ipString(b.subnetMax) &&
    a.backend.vni === b.backend.vni &&
    a.backend.port === b.backend.port
  );
}
