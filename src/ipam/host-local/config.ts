import {parseCniArgs} from '../../cni/args.js';
import {parseJsonGo} from '../../cni/json.js';
import type {Route} from '../../cni/types.js';
import {cidrString, ipString, isV4, parseCidr, parseIP, type Addr, type Cidr} from '../../util/ip.js';
import {canonicalizeRangeSet, rangeSetsOverlap, type RangeSet, type RawRange} from './range.js';

/**
 * host-local's configuration, parsed as the reference's LoadIPAMConfig does:
 * Go JSON semantics (case-insensitive keys, null = default), the legacy
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

type Obj = Record<string, unknown>;

/** Go's encoding/json field matching: exact or case-insensitive, the later key wins. */
function field(obj: Obj, key: string): unknown {
  const lk = key.toLowerCase();
  let val: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lk) val = v;
  return val === null ? undefined : val;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function typeError(v: unknown, where: string, goType: string): Error {
  return new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${where} of type ${goType}`);
}

function asObj(v: unknown, where: string, goType: string): Obj | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || v === null) throw typeError(v, where, goType);
  return v as Obj;
}

function asArray(v: unknown, where: string, goType: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw typeError(v, where, goType);
  return v;
}

function asString(v: unknown, where: string): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw typeError(v, where, 'string');
  return v;
}

/** A net.IP JSON field: must be a valid textual IP. */
function ipField(v: unknown, where: string): Addr | undefined {
  const s = asString(v, where);
  if (s === '') return undefined;
  const ip = parseIP(s);
  if (!ip) throw new Error(`invalid IP address: ${s}`);
  return ip;
}

/** A types.IPNet JSON field (host bits kept). */
function cidrField(v: unknown): Cidr | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`);
  const c = parseCidr(v);
  if (!c) throw new Error(`invalid CIDR address: ${v}`);
  return c;
}

/** pkg/ip.IP: "ip" or "ip/prefix" (prefix dropped); "" means none. */
function requestedIP(s: string): Addr | undefined {
  if (s === '') return undefined;
  const ip = s.includes('/') ? parseCidr(s)?.ip : parseIP(s);
  if (!ip) throw new Error(`invalid IP address ${s}`);
  return ip;
}

function parseRange(v: unknown, where: string): RawRange {
  const o = asObj(v, where, 'allocator.Range') ?? {};
  return {
    subnet: cidrField(field(o, 'subnet')),
    rangeStart: ipField(field(o, 'rangeStart'), `${where}.rangeStart`),
    rangeEnd: ipField(field(o, 'rangeEnd'), `${where}.rangeEnd`),
    gateway: ipField(field(o, 'gateway'), `${where}.gateway`),
  };
}

function parseRangeSets(v: unknown, where: string): RawRange[][] {
  return asArray(v, where, '[]allocator.RangeSet').map((set) => asArray(set, where, 'allocator.RangeSet').map((r) => parseRange(r, where)));
}

function parseRoute(v: unknown): Route {
  const o = asObj(v, 'IPAMConfig.routes', 'types.Route') ?? {};
  const dst = cidrField(field(o, 'dst'));
  const gw = ipField(field(o, 'gw'), 'gw');
  const route: Route = {dst: dst ? cidrString(dst) : '<nil>'};
  if (gw) route.gw = ipString(gw);
  return route;
}

function parseIPList(v: unknown, where: string): Addr[] {
  const out: Addr[] = [];
  for (const item of asArray(v, where, '[]*ip.IP')) {
    const ip = requestedIP(asString(item, where));
    if (ip) out.push(ip);
  }
  return out;
}

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

export function parseConf(stdin: string, cniArgs: string): HostLocalConf {
  // JSON decoding first (its errors come first in the reference), then the checks.
  const top = asObj(parseJsonGo(stdin), 'Net', 'allocator.Net') ?? {};
  const ipam = asObj(field(top, 'ipam'), 'Net.ipam', 'allocator.IPAMConfig');
  const name = asString(field(top, 'name'), 'Net.name');
  const cniVersion = asString(field(top, 'cniVersion'), 'Net.cniVersion');
  const runtimeConfig = asObj(field(top, 'runtimeConfig'), 'Net.runtimeConfig', 'struct') ?? {};
  const argsCni = asObj(field(asObj(field(top, 'args'), 'Net.args', 'struct') ?? {}, 'cni'), 'Net.args.cni', 'allocator.IPAMArgs') ?? {};
  const runtimeRanges = parseRangeSets(field(runtimeConfig, 'ipRanges'), 'Net.runtimeConfig.ipRanges');
  const runtimeIPs = parseIPList(field(runtimeConfig, 'ips'), 'Net.runtimeConfig.ips');
  const argIPs = parseIPList(field(argsCni, 'ips'), 'IPAMArgs.ips');
  if (!ipam) throw new Error("IPAM config missing 'ipam' key");
  const legacy = parseRange(ipam, 'IPAMConfig');
  const ipamRanges = parseRangeSets(field(ipam, 'ranges'), 'IPAMConfig.ranges');
  const routes = asArray(field(ipam, 'routes'), 'IPAMConfig.routes', '[]*types.Route').map(parseRoute);
  const dataDir = asString(field(ipam, 'dataDir'), 'IPAMConfig.dataDir');
  const resolvConf = asString(field(ipam, 'resolvConf'), 'IPAMConfig.resolvConf');

  const requestedIPs = [...requestedFromArgs(cniArgs), ...argIPs, ...runtimeIPs];
  const rawSets: RawRange[][] = [...runtimeRanges, ...(legacy.subnet ? [[legacy]] : []), ...ipamRanges];
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
  return {name, cniVersion, ranges, routes, dataDir, resolvConf, requestedIPs};
}
