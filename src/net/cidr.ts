import {addrFromValue, cidrContains as contains, ipString, isV4, maskValue, networkOf as network, parseAddr, type Addr} from './addr.js';

/**
 * IPs and CIDRs as {family, value} for the bridge/iptables/doctor code, a thin
 * view over src/net/addr.ts (ip-num). Unlike addr.ts's parseIP, an IPv4-mapped
 * IPv6 text keeps family 6 here, and prints in IPv6 notation.
 */
export type Family = 4 | 6;

export interface IpAddr {
  family: Family;
  value: bigint;
}

export interface Cidr {
  ip: IpAddr;
  prefix: number;
}

const toAddr = (a: IpAddr): Addr => addrFromValue(a.family === 4, a.value);
const fromAddr = (a: Addr): IpAddr => ({family: isV4(a) ? 4 : 6, value: a.getValue()});

export function parseIp(s: string): IpAddr | undefined {
  const a = parseAddr(s);
  return a && fromAddr(a);
}

export function formatIp(a: IpAddr): string {
  return ipString(toAddr(a));
}

/** "10.1.2.3/24" keeping the host bits (as Go's ParseCIDR + IP does). */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const ip = m ? parseIp(m[1]) : undefined;
  if (!m || !ip || Number(m[2]) > (ip.family === 4 ? 32 : 128)) return undefined;
  return {ip, prefix: Number(m[2])};
}

export function maskOf(family: Family, prefix: number): bigint {
  return maskValue(family === 4, prefix);
}

/** The network address of a CIDR. */
export function networkOf(c: Cidr): IpAddr {
  return fromAddr(network({ip: toAddr(c.ip), prefix: c.prefix}));
}

/** "10.1.2.0/24" for "10.1.2.3/24". */
export function networkString(c: Cidr): string {
  return `${formatIp(networkOf(c))}/${c.prefix}`;
}

/** "10.1.2.3/24" in canonical text. */
export function cidrString(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

export function nextIp(a: IpAddr): IpAddr {
  return fromAddr(toAddr(a).nextIPNumber());
}

export function cidrContains(c: Cidr, a: IpAddr): boolean {
  return c.ip.family === a.family && contains({ip: toAddr(c.ip), prefix: c.prefix}, toAddr(a));
}

const NOT_GLOBAL = ['0.0.0.0/32', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3', '::/127', 'fe80::/10', 'ff00::/8'];

const notGlobal = new Map<Family, Cidr[]>();

/** Go's net.IP.IsGlobalUnicast for the addresses we meet (an IPv4-mapped address counts as IPv6). */
export function isGlobalUnicast(a: IpAddr): boolean {
  // Parsed once per family: IPv6 parsing is the slow part, and most callers only meet IPv4.
  let list = notGlobal.get(a.family);
  if (!list) notGlobal.set(a.family, (list = NOT_GLOBAL.filter((c) => c.includes(':') === (a.family === 6)).map((c) => parseCidr(c)!)));
  return !list.some((c) => cidrContains(c, a));
}

/** Canonical text of an IP string, or the input when it does not parse. */
export function canonicalIp(s: string): string {
  const a = parseIp(s);
  return a ? formatIp(a) : s;
}
