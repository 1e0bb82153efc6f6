import {parseCniArgs} from '../../cni/args.js';
import {decodeGoJson, goPtr, goSlice, goString, goStruct, type GoType} from '../../cni/go-json.js';
import type {Route} from '../../cni/types.js';
import {cidrString, ipString, isV4, parseCidr, parseIP, type Addr, type Cidr} from '../../util/ip.js';
import {rememberLast} from '../../util/remember-last.js';
import {canonicalizeRangeSet, rangeSetsOverlap, type RangeSet, type RawRange} from './range.js';

/**
 * host-local's configuration, parsed as the reference's LoadIPAMConfig does:
 * its Go structs through the Go-JSON reader (src/cni/go-json.ts), the legacy
 * single range and then runtimeConfig.ipRanges prepended to `ranges`, and
 * requested IPs from CNI_ARGS IP=, args.cni.ips and runtimeConfig.ips.
 */
export interface HostLocalConf {
  name: string;
  cniVersion: string;
  ranges: RangeSet[];
  routes: Route[];
  /** Empty when unset (the caller supplies the default). */
  dataDir: string;
  resolvConf: string;
  /** In the reference's order: CNI_ARGS IP, args.cni.ips, runtimeConfig.ips. */
  requestedIPs: Addr[];
}

/** net.IP (decodes itself from text): "" is nil; text that is no IP ends decoding. */
const netIP: GoType<Addr | undefined> = {
  name: 'net.IP',
  zero: () => undefined,
  decode(node, prev, st) {
    if (node.kind === 'null') return undefined;
    if (node.kind !== 'string') return st.mismatch(node, 'net.IP', prev);
    if (node.value === '') return undefined;
    const ip = parseIP(node.value);
    if (!ip) throw new Error(`invalid IP address: ${node.value}`);
    return ip;
  },
};

/** types.IPNet (decodes itself, through a string): host bits kept; anything but a CIDR ends decoding, null included. */
const ipNet: GoType<Cidr | undefined> = {
  name: 'types.IPNet',
  zero: () => undefined,
  decode(node, _prev, st) {
    const s = st.nested(goString, node);
    const c = parseCidr(s);
    if (!c) throw new Error(`invalid CIDR address: ${s}`);
    return c;
  },
};

/** pkg/ip.IP (decodes itself from text): "ip" or "ip/prefix", the prefix dropped; "" means none. */
function requestedIP(s: string): Addr | undefined {
  if (s === '') return undefined;
  const ip = s.includes('/') ? parseCidr(s)?.ip : parseIP(s);
  if (!ip) throw new Error(`invalid IP address ${s}`);
  return ip;
}

const requestedIPType: GoType<Addr | undefined> = {
  name: '*ip.IP',
  zero: () => undefined,
  decode(node, prev, st) {
    if (node.kind === 'null') return undefined;
    if (node.kind !== 'string') return st.mismatch(node, '*ip.IP', prev);
    return requestedIP(node.value);
  },
};

/** types.Route (decodes itself through the unexported route struct): dst printed with its host bits, as 1.1.1 prints it. */
const routeFields = goStruct('types.route', {dst: ipNet, gw: netIP});
const routeType: GoType<Route | undefined> = {
  name: '*types.Route',
  zero: () => undefined,
  decode(node, _prev, st) {
    if (node.kind === 'null') return undefined;
    const r = st.nested(routeFields, node);
    const route: Route = {dst: r.dst ? cidrString(r.dst) : '<nil>'};
    if (r.gw) route.gw = ipString(r.gw);
    return route;
  },
};

const rangeFields = {rangeStart: netIP, rangeEnd: netIP, subnet: ipNet, gateway: netIP};
const rangeSetType = goSlice(goStruct('allocator.Range', rangeFields), 'allocator.RangeSet');
const requestedIPList = goSlice(requestedIPType, '[]*ip.IP');

/** The reference's allocator.Net, for the Go-JSON reader. */
const netType = goStruct('allocator.Net', {
  name: goString,
  cniVersion: goString,
  ipam: goPtr(
    goStruct('allocator.IPAMConfig', {
      // the embedded *Range: its fields are promoted
      ...rangeFields,
      Name: goString,
      type: goString,
      routes: goSlice(routeType),
      dataDir: goString,
      resolvConf: goString,
      ranges: goSlice(rangeSetType),
    }),
  ),
  runtimeConfig: goStruct(
    'struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
    {
      ipRanges: goSlice(rangeSetType),
      ips: requestedIPList,
    },
  ),
  args: goPtr(
    goStruct('struct { A *allocator.IPAMArgs "json:\\"cni\\"" }', {cni: goPtr(goStruct('allocator.IPAMArgs', {ips: requestedIPList}))}),
  ),
});

const present = <T>(list: (T | undefined)[]): T[] => list.filter((x): x is T => x !== undefined);

/** version.GreaterThanOrEqualTo(v, "0.3.0"); unparsable versions are "not greater". */
function atLeast030(v: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > 0 || min >= 3;
}

function requestedFromArgs(cniArgs: string): Addr[] {
  if (!cniArgs) return [];
  const parsed = parseCniArgs(cniArgs, ['IP']);
  if (parsed.IP === undefined) return [];
  try {
    const ip = requestedIP(parsed.IP);
    return ip ? [ip] : [];
  } catch (err) {
    throw new Error(`ARGS: error parsing value of pair "IP=${parsed.IP}": ${(err as Error).message}`);
  }
}

/**
 * The config from the plugin's stdin and CNI_ARGS, parsed once for the same
 * pair in a row (src/util/remember-last.ts): bridge checks it before its
 * delegate reads it again, and every target of a bulk call has the same.
 */
export const parseConf = rememberLast(decodeConf);

function decodeConf(stdin: string, cniArgs: string): HostLocalConf {
  // JSON decoding first (its errors come first in the reference), then the checks.
  const n = decodeGoJson(stdin, netType);
  const {name, cniVersion, ipam} = n;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key");
  const legacy: RawRange = {subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway};
  const requestedIPs = [...requestedFromArgs(cniArgs), ...present(n.args?.cni?.ips ?? []), ...present(n.runtimeConfig.ips)];
  const rawSets: RawRange[][] = [...n.runtimeConfig.ipRanges, ...(legacy.subnet ? [[legacy]] : []), ...ipam.ranges];
  if (rawSets.length === 0) throw new Error('no IP ranges specified');
  const ranges: RangeSet[] = rawSets.map((raw, i) => {
    try {
      return canonicalizeRangeSet(raw);
    } catch (err) {
      throw new Error(`invalid range set ${i}: ${(err as Error).message}`);
    }
  });

  const numV4 = ranges.filter((s) => isV4(s[0].rangeStart)).length;
  const numV6 = ranges.length - numV4;
  if ((numV4 > 1 || numV6 > 1) && !atLeast030(cniVersion)) {
    throw new Error(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }
  for (let i = 0; i < ranges.length - 1; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangeSetsOverlap(ranges[i], ranges[j])) throw new Error(`range set ${i} overlaps with ${j}`);
    }
  }
  return {name, cniVersion, ranges, routes: present(ipam.routes), dataDir: ipam.dataDir, resolvConf: ipam.resolvConf, requestedIPs};
}
