import type * as IpNum from 'ip-num';
import {ipNum, type IPv4, type IPv6} from '../util/ip-num.js';

/**
 * The one IP module: parsing, canonical text and arithmetic for IPv4 and
 * IPv6 alike, all through ip-num. Text follows Go's net package (ParseIP,
 * ParseCIDR, IP.String), which is what the reference plugins print.
 */
export type Addr = IPv4 | IPv6;

/** A CIDR with its host bits kept, as Go's types.IPNet keeps them. */
export interface Cidr {
  ip: Addr;
  prefix: number;
  /** True when the text was IPv6 notation but the address is IPv4-mapped (mask stays 128-bit). */
  mappedV4?: boolean;
}

export function isV4(a: Addr): a is IPv4 {
  return a instanceof ipNum().IPv4;
}

export function bits(a: Addr): number {
  return isV4(a) ? 32 : 128;
}

let v4Mapped: IpNum.IPv6CidrRange | undefined;
const V4_MAPPED = (): IpNum.IPv6CidrRange => (v4Mapped ??= ipNum().IPv6CidrRange.fromCidr('::ffff:0:0/96'));

/** Go's To4 on an IPv4-mapped IPv6 address; any other address is returned as is. */
export function unmapV4(a: Addr): Addr {
  const {IPv6CidrRange, IPv6Prefix} = ipNum();
  if (isV4(a) || !V4_MAPPED().contains(new IPv6CidrRange(a, new IPv6Prefix(128n)))) return a;
  return ipNum().IPv4.fromNumber(a.getValue() - V4_MAPPED().getFirst().getValue());
}

/** Go's net.ParseIP syntax, keeping the written family: `::ffff:1.2.3.4` stays IPv6. */
export function parseAddr(s: string): Addr | undefined {
  if (s.includes('%')) return undefined;
  if (s.includes(':')) return ipNum().Validator.isValidIPv6String(s)[0] ? ipNum().IPv6.fromString(s) : undefined;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || !ipNum().Validator.isValidIPv4String(s)[0]) return undefined;
  return ipNum().IPv4.fromString(s);
}

/** Go's net.ParseIP followed by canonicalizeIP: IPv4-mapped IPv6 becomes IPv4. */
export function parseIP(s: string): Addr | undefined {
  const a = parseAddr(s);
  return a && unmapV4(a);
}

/** Go's net.ParseCIDR: address plus prefix, host bits kept. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ipText = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  if (!/^\d+$/.test(prefixText)) return undefined;
  const ip = parseIP(ipText);
  if (!ip) return undefined;
  const textBits = ipText.includes(':') ? 128 : 32;
  const prefix = Number(prefixText);
  if (prefix > textBits) return undefined;
  if (textBits === 128 && isV4(ip)) return {ip, prefix, mappedV4: true};
  return {ip, prefix};
}

/** Canonical text of an address as given: dotted quad, or compressed lower-case IPv6 (RFC 5952). */
export function ipString(a: Addr): string {
  if (isV4(a)) return a.toString();
  return ipNum().collapseIPv6Number(a.toString());
}

export function cidrString(c: Cidr): string {
  return `${ipString(c.ip)}/${c.prefix}`;
}

/** The address with this numeric value, IPv4 or IPv6. */
export function addrFromValue(v4: boolean, value: bigint): Addr {
  return v4 ? ipNum().IPv4.fromNumber(value) : ipNum().IPv6.fromBigInt(value);
}

/** The netmask of a prefix length as a number (`ffffff00` for /24 IPv4). */
export function maskValue(v4: boolean, prefix: number): bigint {
  const {IPv4Prefix, IPv6Prefix} = ipNum();
  return (v4 ? new IPv4Prefix(BigInt(prefix)) : new IPv6Prefix(BigInt(prefix))).toMask().getValue();
}

export function sameFamily(a: Addr, b: Addr): boolean {
  return isV4(a) === isV4(b);
}

export function ipEqual(a: Addr | undefined, b: Addr | undefined): boolean {
  if (!a || !b) return false;
  return sameFamily(a, b) && a.isEquals(b);
}

/** Compare within one family: <0, 0, >0. */
export function ipCmp(a: Addr, b: Addr): number {
  if (a.isLessThan(b)) return -1;
  if (a.isGreaterThan(b)) return 1;
  return 0;
}

export function nextIP(a: Addr): Addr {
  return a.nextIPNumber();
}

function cidrRange(c: Cidr): IpNum.IPv4CidrRange | IpNum.IPv6CidrRange {
  const text = `${c.ip.toString()}/${c.prefix}`;
  return isV4(c.ip) ? ipNum().IPv4CidrRange.fromCidr(text) : ipNum().IPv6CidrRange.fromCidr(text);
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(c: Cidr): Addr {
  return cidrRange(c).getFirst();
}

/** The all-ones address of a CIDR. */
export function lastOf(c: Cidr): Addr {
  return cidrRange(c).getLast();
}

/** Same family and inside the CIDR's network. */
export function cidrContains(c: Cidr, a: Addr): boolean {
  if (!sameFamily(c.ip, a)) return false;
  return networkOf(c).isLessThanOrEquals(a) && lastOf(c).isGreaterThanOrEquals(a);
}
