import * as IpNum from 'ip-num';

/**
 * The one IP module: parsing, canonical text and arithmetic for IPv4 and IPv6
 * alike, on ip-num (no other module imports it). Text follows Go's net
 * package, which is what the reference plugins print.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) has two readings, each kept
 * where its callers need it:
 * - Go's net package (parseIP, parseCidr, canonicalIp, canonicalCidr,
 *   isV4Text): the address is IPv4, as net.IP.To4 sees it, and a CIDR written
 *   in IPv6 notation keeps its 128-bit mask (`mappedV4`). Configs and results
 *   are read this way, as the reference plugins read them.
 * - As written (parseAddr, parseCidrAsWritten, normalizeIp): the address stays
 *   IPv6 and prints in IPv6 notation. Masquerade rules, routes, gateways and
 *   CHECK keep an address in the family it was written in.
 */
export type Addr = IpNum.IPv4 | IpNum.IPv6;

export type Family = 4 | 6;

/** A CIDR with its host bits kept, as Go's types.IPNet keeps them. */
export interface Cidr {
  ip: Addr;
  prefix: number;
  /** True when parseCidr read IPv6 notation but the address is IPv4-mapped (the mask stays 128-bit). */
  mappedV4?: boolean;
}

// ---- addresses

export function isV4(a: Addr): a is IpNum.IPv4 {
  return a instanceof IpNum.IPv4;
}

export function familyOf(a: Addr): Family {
  return isV4(a) ? 4 : 6;
}

export function bits(a: Addr): number {
  return isV4(a) ? 32 : 128;
}

let v4Mapped: IpNum.IPv6CidrRange | undefined;
const V4_MAPPED = (): IpNum.IPv6CidrRange => (v4Mapped ??= IpNum.IPv6CidrRange.fromCidr('::ffff:0:0/96'));

/** Go's To4 on an IPv4-mapped IPv6 address; any other address is returned as is. */
function unmapV4(a: Addr): Addr {
  if (isV4(a) || !V4_MAPPED().contains(new IpNum.IPv6CidrRange(a, new IpNum.IPv6Prefix(128n)))) return a;
  return IpNum.IPv4.fromNumber(a.getValue() - V4_MAPPED().getFirst().getValue());
}

/** Go's net.ParseIP syntax, keeping the written family: `::ffff:1.2.3.4` stays IPv6. */
export function parseAddr(s: string): Addr | undefined {
  if (s.includes('%')) return undefined;
  if (s.includes(':')) return IpNum.Validator.isValidIPv6String(s)[0] ? IpNum.IPv6.fromString(s) : undefined;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || !IpNum.Validator.isValidIPv4String(s)[0]) return undefined;
  return IpNum.IPv4.fromString(s);
}

/** Go's net.ParseIP followed by canonicalizeIP: IPv4-mapped IPv6 becomes IPv4. */
export function parseIP(s: string): Addr | undefined {
  const a = parseAddr(s);
  return a && unmapV4(a);
}

/** Canonical text of an address as given: dotted quad, or compressed lower-case IPv6 (RFC 5952). */
export function ipString(a: Addr): string {
  if (isV4(a)) return a.toString();
  return IpNum.collapseIPv6Number(a.toString());
}

/** The address with this numeric value, IPv4 or IPv6. */
export function addrFromValue(v4: boolean, value: bigint): Addr {
  return v4 ? IpNum.IPv4.fromNumber(value) : IpNum.IPv6.fromBigInt(value);
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

const NOT_GLOBAL = ['0.0.0.0/32', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3', '::/127', 'fe80::/10', 'ff00::/8'];

const notGlobal = new Map<Family, Cidr[]>();

/** Go's net.IP.IsGlobalUnicast for the addresses we meet; an IPv4-mapped address read as written counts as IPv6. */
export function isGlobalUnicast(a: Addr): boolean {
  // Parsed once per family, on first use: most callers only meet IPv4.
  const f = familyOf(a);
  let list = notGlobal.get(f);
  if (!list) notGlobal.set(f, (list = NOT_GLOBAL.filter((c) => c.includes(':') === (f === 6)).map((c) => parseCidrAsWritten(c)!)));
  return !list.some((c) => cidrContains(c, a));
}

// ---- CIDRs

/** Go's net.ParseCIDR: address plus prefix, host bits kept; an IPv4-mapped address is IPv4 with `mappedV4`. */
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

/**
 * "10.1.2.3/24" with the address as written (an IPv4-mapped one stays IPv6)
 * and a prefix of one to three digits, host bits kept.
 */
export function parseCidrAsWritten(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const ip = m ? parseAddr(m[1]) : undefined;
  if (!m || !ip || Number(m[2]) > bits(ip)) return undefined;
  return {ip, prefix: Number(m[2])};
}

/** "10.1.2.3/24" in canonical text, host bits kept. */
export function cidrString(c: Cidr): string {
  return `${ipString(c.ip)}/${c.prefix}`;
}

/** The netmask of a prefix length as a number (`ffffff00` for /24 IPv4). */
export function maskOf(family: Family, prefix: number): bigint {
  return (family === 4 ? new IpNum.IPv4Prefix(BigInt(prefix)) : new IpNum.IPv6Prefix(BigInt(prefix))).toMask().getValue();
}

interface Bounds {
  first: Addr;
  last: Addr;
}

/**
 * The first and last address of each Cidr object met, worked out once: ip-num
 * derives them from the prefix's mask as bit strings on every call, and a bulk
 * call asks the same Cidr (a parsed config's subnet, the fixed ranges of
 * isGlobalUnicast) for every target. A Cidr is never changed once made.
 */
const bounds = new WeakMap<Cidr, Bounds>();

function boundsOf(c: Cidr): Bounds {
  let b = bounds.get(c);
  if (!b) {
    // Built from the parsed address (fromCidr would print it and parse the text back); a prefix too
    // long for the family still goes through fromCidr, for ip-num's own error.
    const range =
      c.prefix > bits(c.ip)
        ? (isV4(c.ip) ? IpNum.IPv4CidrRange : IpNum.IPv6CidrRange).fromCidr(`${c.ip.toString()}/${c.prefix}`)
        : isV4(c.ip)
          ? new IpNum.IPv4CidrRange(c.ip, new IpNum.IPv4Prefix(BigInt(c.prefix)))
          : new IpNum.IPv6CidrRange(c.ip, new IpNum.IPv6Prefix(BigInt(c.prefix)));
    b = {first: range.getFirst(), last: range.getLast()};
    bounds.set(c, b);
  }
  return b;
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(c: Cidr): Addr {
  return boundsOf(c).first;
}

/** "10.1.2.0/24" for "10.1.2.3/24". */
export function networkString(c: Cidr): string {
  return `${ipString(networkOf(c))}/${c.prefix}`;
}

/** The all-ones address of a CIDR. */
export function lastOf(c: Cidr): Addr {
  return boundsOf(c).last;
}

/** Same family and inside the CIDR's network. */
export function cidrContains(c: Cidr, a: Addr): boolean {
  if (!sameFamily(c.ip, a)) return false;
  return networkOf(c).isLessThanOrEquals(a) && lastOf(c).isGreaterThanOrEquals(a);
}

// ---- text, as Go prints net.IP and types.IPNet

/** Is this textual IP (or CIDR) IPv4, as Go's To4() decides? */
export function isV4Text(ipOrCidr: string): boolean {
  const a = parseIP(ipOrCidr.split('/')[0]);
  return a !== undefined && isV4(a);
}

/** A canonical IP as Go prints it (an IPv4-mapped one as IPv4), or throws `invalid IP address: <s>`. */
export function canonicalIp(s: string): string {
  const a = parseIP(s);
  if (!a) throw new Error(`invalid IP address: ${s}`);
  return ipString(a);
}

/** "10.1.2.3/24" stays a host address with its prefix, canonicalised; a prefix has at most three digits. */
export function canonicalCidr(s: string): string {
  const c = /^[^/]+\/\d{1,3}$/.test(s) ? parseCidr(s) : undefined;
  if (!c) throw new Error(`invalid CIDR address: ${s}`);
  return cidrString(c);
}

/** The canonical text of an IP as written (see parseAddr), or `s` itself when it is none: compares kernel, iptables and result text. */
export function normalizeIp(s: string): string {
  const a = parseAddr(s);
  return a ? ipString(a) : s;
}
