import type {CniInterface, DNS, IPConfig, Result, Route} from './types.js';
import {CniError, ErrorCode} from './errors.js';
import {goMarshalIndent} from './json.js';
import {canonicalCidr, canonicalIp, isV4Text} from '../util/ip.js';

/**
 * One internal Result model (spec 1.1.0), rendered for each cniVersion exactly
 * as the reference 1.1.1 plugins print it, and parsed back from any version.
 *
 * Layouts (key order is the Go struct order of library v1.0.1):
 *   0.1.0/0.2.0   {cniVersion, ip4?{ip, gateway?, routes?}, ip6?, dns}
 *   0.3.x/0.4.0   {cniVersion, interfaces?, ips?[{version, interface?, address, gateway?}], routes?, dns}
 *   1.0.0         the same without `version`
 * Route `dst` keeps its host bits ("10.1.2.3/24" prints as is), as observed.
 *   1.1.0         1.0.0 plus interface mtu/socketPath/pciID and route mtu/advmss/priority/table/scope
 * `dns` is always printed (`"dns": {}` when empty).
 */
type Obj = Record<string, unknown>;

function dnsJson(dns: DNS | undefined): Obj {
  const d = dns ?? {};
  return {
    nameservers: d.nameservers?.length ? d.nameservers : undefined,
    domain: d.domain || undefined,
    search: d.search?.length ? d.search : undefined,
    options: d.options?.length ? d.options : undefined,
  };
}

function nz(n: number | undefined): number | undefined {
  return n ? n : undefined;
}

function routeJson(r: Route, full: boolean): Obj {
  const base: Obj = {dst: canonicalCidr(r.dst), gw: r.gw ? canonicalIp(r.gw) : undefined};
  if (!full) return base;
  return {...base, mtu: nz(r.mtu), advmss: nz(r.advmss), priority: nz(r.priority), table: r.table, scope: r.scope};
}

function ifaceJson(i: CniInterface, full: boolean): Obj {
  if (!full) return {name: i.name, mac: i.mac || undefined, sandbox: i.sandbox || undefined};
  return {
    name: i.name,
    mac: i.mac || undefined,
    mtu: nz(i.mtu),
    sandbox: i.sandbox || undefined,
    socketPath: i.socketPath || undefined,
    pciID: i.pciID || undefined,
  };
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length ? list : undefined;
}

function legacyJson(r: Result, version: string): Obj {
  const ip4 = r.ips?.find((ip) => isV4Text(ip.address));
  const ip6 = r.ips?.find((ip) => !isV4Text(ip.address));
  if (!ip4 && !ip6) throw new CniError(ErrorCode.Internal, 'cannot convert: no valid IP addresses');
  const fam = (ip: IPConfig | undefined, v4: boolean): Obj | undefined => {
    if (!ip) return undefined;
    const routes = (r.routes ?? []).filter((rt) => isV4Text(rt.dst) === v4).map((rt) => routeJson(rt, false));
    return {ip: canonicalCidr(ip.address), gateway: ip.gateway ? canonicalIp(ip.gateway) : undefined, routes: nonEmpty(routes)};
  };
  return {cniVersion: version, ip4: fam(ip4, true), ip6: fam(ip6, false), dns: dnsJson(r.dns)};
}

/** The JSON object for `version` (throws code 999 "cannot convert: …" for 0.1/0.2 without IPs). */
export function resultToJson(r: Result, cniVersion: string): Obj {
  const version = cniVersion || '0.1.0';
  if (version === '0.1.0' || version === '0.2.0') return legacyJson(r, version);
  const v04 = ['0.3.0', '0.3.1', '0.4.0'].includes(version);
  const full = version === '1.1.0';
  if (!v04 && version !== '1.0.0' && !full) {
    throw new CniError(ErrorCode.IncompatibleVersion, `no converter for CNI result version ${r.cniVersion} to ${version}`);
  }
  const ips = (r.ips ?? []).map((ip) => ({
    version: v04 ? (isV4Text(ip.address) ? '4' : '6') : undefined,
    interface: ip.interface,
    address: canonicalCidr(ip.address),
    gateway: ip.gateway ? canonicalIp(ip.gateway) : undefined,
  }));
  return {
    cniVersion: version,
    interfaces: nonEmpty((r.interfaces ?? []).map((i) => ifaceJson(i, full))),
    ips: nonEmpty(ips),
    routes: nonEmpty((r.routes ?? []).map((rt) => routeJson(rt, full))),
    dns: dnsJson(r.dns),
  };
}

/** What a plugin prints on stdout for a successful ADD: pretty JSON, no newline. */
export function renderResult(r: Result, cniVersion: string): string {
  return goMarshalIndent(resultToJson(r, cniVersion));
}

// ---------------------------------------------------------------- parsing

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new CniError(ErrorCode.DecodingFailure, `failed to parse result: ${what} must be a string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : str(v, what);
}

function optNum(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new CniError(ErrorCode.DecodingFailure, `failed to parse result: ${what} must be an integer`);
  return v;
}

function strList(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new CniError(ErrorCode.DecodingFailure, `failed to parse result: ${what} must be a list`);
  return v.map((x) => str(x, what));
}

function parseDns(v: unknown): DNS | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const d = v as Obj;
  const dns: DNS = {
    nameservers: strList(d.nameservers, 'dns.nameservers'),
    domain: optStr(d.domain, 'dns.domain'),
    search: strList(d.search, 'dns.search'),
    options: strList(d.options, 'dns.options'),
  };
  const clean = Object.fromEntries(Object.entries(dns).filter(([, x]) => x !== undefined && (!Array.isArray(x) || x.length)));
  return Object.keys(clean).length ? (clean as DNS) : undefined;
}

function parseRoute(v: unknown): Route {
  const o = (v ?? {}) as Obj;
  const r: Route = {dst: canonicalCidr(str(o.dst, 'route dst'))};
  const gw = optStr(o.gw, 'route gw');
  if (gw) r.gw = canonicalIp(gw);
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = optNum(o[k], `route ${k}`);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CniError(ErrorCode.DecodingFailure, `failed to parse result: ${what} must be a list`);
  return v;
}

function isLegacy(version: string, o: Obj): boolean {
  if (version === '' || version === '0.1.0' || version === '0.2.0') return true;
  return !('ips' in o || 'interfaces' in o) && ('ip4' in o || 'ip6' in o);
}

/** Parse a result of any version (e.g. a prevResult or a delegate's output) into the internal model. */
export function parseResult(json: unknown, fallbackVersion = ''): Result {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CniError(ErrorCode.DecodingFailure, 'failed to parse result: not a JSON object');
  }
  const o = json as Obj;
  const cniVersion = optStr(o.cniVersion, 'cniVersion') ?? fallbackVersion;
  const r: Result = {cniVersion: cniVersion || '0.1.0'};
  if (isLegacy(cniVersion, o)) {
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    for (const key of ['ip4', 'ip6']) {
      const fam = o[key] as Obj | undefined;
      if (!fam) continue;
      const ip: IPConfig = {address: canonicalCidr(str(fam.ip, `${key}.ip`))};
      const gw = optStr(fam.gateway, `${key}.gateway`);
      if (gw) ip.gateway = canonicalIp(gw);
      ips.push(ip);
      routes.push(...list(fam.routes, `${key}.routes`).map(parseRoute));
    }
    if (ips.length) r.ips = ips;
    if (routes.length) r.routes = routes;
  } else {
    const ifs = list(o.interfaces, 'interfaces').map((v) => {
      const i = (v ?? {}) as Obj;
      const out: CniInterface = {name: str(i.name ?? '', 'interface name')};
      const mac = optStr(i.mac, 'mac');
      if (mac) out.mac = mac;
      const mtu = optNum(i.mtu, 'mtu');
      if (mtu) out.mtu = mtu;
      for (const k of ['sandbox', 'socketPath', 'pciID'] as const) {
        const s = optStr(i[k], k);
        if (s) out[k] = s;
      }
      return out;
    });
    const ips = list(o.ips, 'ips').map((v) => {
      const i = (v ?? {}) as Obj;
      const ip: IPConfig = {address: canonicalCidr(str(i.address, 'ip address'))};
      const idx = optNum(i.interface, 'ip interface');
      if (idx !== undefined) ip.interface = idx;
      const gw = optStr(i.gateway, 'ip gateway');
      if (gw) ip.gateway = canonicalIp(gw);
      return ip;
    });
    const routes = list(o.routes, 'routes').map(parseRoute);
    if (ifs.length) r.interfaces = ifs;
    if (ips.length) r.ips = ips;
    if (routes.length) r.routes = routes;
  }
  const dns = parseDns(o.dns);
  if (dns) r.dns = dns;
  return r;
}

/** Re-express a result at another version (as the reference's GetAsVersion + parse). */
export function convertResult(r: Result, toVersion: string): Result {
  return parseResult(resultToJson(r, toVersion));
}
