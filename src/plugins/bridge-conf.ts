import type {DNS, IPConfig, Route} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {parseCniArgs} from '../cni/args.js';
import {linkNameProblem} from '../cni/validate.js';
import {decodeGoJson, goBool, goInt, goPtr, goSlice, goString, goStruct, omitEmpty, type GoValue} from '../cni/go-json.js';
import {netConfFields} from '../cni/netconf.js';
import {cidrString, familyOf, ipString, networkOf, nextIP, parseAddr, parseCidrAsWritten, type Cidr, type Family} from '../util/ip.js';
import {errorText} from '../util/error-text.js';
import {rememberLast} from '../util/remember-last.js';

/** The bridge plugin's config (reference plugins/main/bridge, Debian 1.1.1 behaviour): its type, loadNetConf, and what ADD refuses. */
export interface BridgeConf {
  cniVersion: string;
  name: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend: string;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  vlanTrunk: VlanTrunk[];
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  ipamType: string;
  dns?: DNS;
  /** Container MAC: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac. */
  mac: string;
  prevResult?: Record<string, unknown>;
}

/** The reference's NetConf (with the fields of its later releases), for the Go-JSON reader. */
const vlanTrunkType = goStruct('main.VlanTrunk', {minID: goPtr(goInt), maxID: goPtr(goInt), id: goPtr(goInt)});
const netConfType = goStruct('main.NetConf', {
  ...netConfFields,
  bridge: goString,
  isGateway: goBool,
  isDefaultGateway: goBool,
  forceAddress: goBool,
  ipMasq: goBool,
  ipMasqBackend: goString,
  mtu: goInt,
  hairpinMode: goBool,
  promiscMode: goBool,
  vlan: goInt,
  vlanTrunk: goSlice(goPtr(vlanTrunkType)),
  preserveDefaultVlan: goBool,
  macspoofchk: goBool,
  enabledad: goBool,
  disableContainerInterface: goBool,
  portIsolation: goBool,
  args: goStruct('struct { Cni main.BridgeArgs "json:\\"cni,omitempty\\"" }', {cni: goStruct('main.BridgeArgs', {mac: goString})}),
  runtimeConfig: goStruct('struct { Mac string "json:\\"mac,omitempty\\"" }', {mac: goString}),
});

type VlanTrunk = GoValue<typeof vlanTrunkType> | undefined;

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

function trunkErrors(trunk: VlanTrunk[]): void {
  for (const t of trunk) {
    const e = t ?? vlanTrunkType.zero();
    const bad = (n: number | undefined): boolean => n === undefined || n < 1 || n > 4094;
    if (e.minID !== undefined && bad(e.minID)) throw fail('incorrect trunk minID parameter');
    if (e.maxID !== undefined && bad(e.maxID)) throw fail('incorrect trunk maxID parameter');
    if (e.minID !== undefined && e.maxID !== undefined && e.minID > e.maxID) throw fail('minID is greater than maxID in trunk parameter');
    if (e.minID === undefined && e.maxID !== undefined) throw fail('minID and maxID should be configured simultaneously, minID is missing');
    if (e.minID !== undefined && e.maxID === undefined) throw fail('minID and maxID should be configured simultaneously, maxID is missing');
    if (e.id !== undefined && bad(e.id)) throw fail('incorrect trunk id parameter');
  }
}

/**
 * loadNetConf: Go-JSON decoding, the reference's defaults, vlan checks, CNI_ARGS
 * and MAC precedence; parsed once for the same stdin and CNI_ARGS in a row (the
 * targets of a bulk call), so the conf is shared and never changed.
 */
export const parseConf = rememberLast(loadNetConf);

function loadNetConf(stdin: string, cniArgs: string): BridgeConf {
  let n: GoValue<typeof netConfType>;
  try {
    n = decodeGoJson(stdin, netConfType, {...netConfType.zero(), bridge: 'cni0'});
  } catch (err) {
    throw fail(`failed to load netconf: ${errorText(err)}`);
  }
  if (n.vlan < 0 || n.vlan > 4094) throw fail(`invalid VLAN ID ${n.vlan} (must be between 0 and 4094)`);
  trunkErrors(n.vlanTrunk);
  let mac = '';
  if (cniArgs) mac = parseCniArgs(cniArgs, ['MAC']).MAC ?? '';
  mac = n.args.cni.mac || mac;
  mac = n.runtimeConfig.mac || mac;
  return {
    cniVersion: n.cniVersion,
    name: n.name,
    bridge: n.bridge,
    isGateway: n.isGateway || n.isDefaultGateway,
    isDefaultGateway: n.isDefaultGateway,
    forceAddress: n.forceAddress,
    ipMasq: n.ipMasq,
    ipMasqBackend: n.ipMasqBackend,
    mtu: n.mtu,
    hairpinMode: n.hairpinMode,
    promiscMode: n.promiscMode,
    vlan: n.vlan,
    vlanTrunk: n.vlanTrunk,
    preserveDefaultVlan: n.preserveDefaultVlan,
    macspoofchk: n.macspoofchk,
    enabledad: n.enabledad,
    disableContainerInterface: n.disableContainerInterface,
    portIsolation: n.portIsolation,
    ipamType: n.ipam.type,
    dns: omitEmpty(n.dns),
    mac,
    prevResult: n.prevResult,
  };
}

/** What ADD refuses before touching anything. */
export function refuseUnsupported(c: BridgeConf): void {
  const bad = linkNameProblem(c.bridge);
  if (bad) throw fail(`failed to create bridge ${JSON.stringify(c.bridge)}: could not add ${JSON.stringify(c.bridge)}: ${bad}`);
  if (c.mac && !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(c.mac)) throw fail(`address ${JSON.stringify(c.mac)}: invalid MAC address`);
  if (c.hairpinMode && c.promiscMode) throw fail('cannot set hairpin mode and promiscuous mode at the same time.');
  if (c.vlan !== 0 || c.vlanTrunk.length > 0) {
    throw fail(`failed to create bridge "${c.bridge}": vlan/vlanTrunk need bridge VLAN filtering, which is not available on this kernel`);
  }
  if (!['', 'iptables', 'nftables'].includes(c.ipMasqBackend)) throw fail(`unknown ipmasq backend "${c.ipMasqBackend}"`);
  if (c.disableContainerInterface && c.ipamType) throw fail('cannot use IPAM when DisableContainerInterface flag is set');
  if (!c.ipamType && ['', '0.1.0', '0.2.0'].includes(c.cniVersion)) throw fail('cannot convert: no valid IP addresses');
}

export interface Gateways {
  /** Gateway CIDRs for the bridge (gateway IP with the address's prefix), v4 then v6. */
  gws: Record<Family, Cidr[]>;
}

/** calcGateways: interface index 2, computed gateways, isDefaultGateway routes. */
export function calcGateways(ips: IPConfig[], routes: Route[], c: BridgeConf): Gateways {
  const gws: Record<Family, Cidr[]> = {4: [], 6: []};
  const defaultDone: Record<Family, boolean> = {4: false, 6: false};
  for (const ipc of ips) {
    const a = parseCidrAsWritten(ipc.address);
    if (!a) throw fail(`Unknown IP object: ${ipc.address}`);
    const f = familyOf(a.ip);
    ipc.interface = 2;
    if (!ipc.gateway && c.isGateway) ipc.gateway = ipString(nextIP(networkOf(a)));
    if (c.isDefaultGateway && !defaultDone[f]) {
      const dst = f === 4 ? '0.0.0.0/0' : '::/0';
      const found = routes.some(
        (r) =>
          r.gw &&
          parseCidrAsWritten(r.dst) &&
          cidrString({...parseCidrAsWritten(r.dst)!, ip: networkOf(parseCidrAsWritten(r.dst)!)}) === dst,
      );
      if (!found) routes.push(ipc.gateway ? {dst, gw: ipc.gateway} : {dst});
      defaultDone[f] = true;
    }
    if (c.isGateway && ipc.gateway) {
      const g = parseAddr(ipc.gateway);
      if (g) gws[f].push({ip: g, prefix: a.prefix});
    }
  }
  return {gws};
}
