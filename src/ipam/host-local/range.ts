import {IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, IPv6Prefix, Validator, collapseIPv6Number} from '../../util/ip-num.js';

/**
 * IP values and host-local ranges. All arithmetic goes through ip-num, for
 * IPv4 and IPv6 alike. Semantics follow the reference's allocator/range.go:
 * a range is [rangeStart, rangeEnd] inside a subnet, with a gateway that the
 * iterator skips.
 */
export type Addr = IPv4 | IPv6;

/** A CIDR with its host bits kept, as Go's types.IPNet keeps them. */
export interface Cidr {
  ip: Addr;
  prefix: number;
  /** True when the text was IPv6 notation but the address is IPv4-mapped (mask stays 128-bit). */
  mappedV4?: boolean;
}

export interface Range {
  subnet: Cidr;
  rangeStart: Addr;
  rangeEnd: Addr;
  gateway: Addr;
}

export type RangeSet = Range[];

/** What the config holds before canonicalisation. */
export interface RawRange {
  subnet?: Cidr;
  rangeStart?: Addr;
  rangeEnd?: Addr;
  gateway?: Addr;
}

export function isV4(a: Addr): a is IPv4 {
  return a instanceof IPv4;
}

export function bits(a: Addr): number {
  return isV4(a) ? 32 : 128;
}

const V4_MAPPED = IPv6CidrRange.fromCidr('::ffff:0:0/96');

function mappedToV4(a: IPv6): IPv4 | undefined {
  if (!V4_MAPPED.contains(new IPv6CidrRange(a, new IPv6Prefix(128n)))) return undefined;
  return IPv4.fromNumber(a.getValue() - V4_MAPPED.getFirst().getValue());
}

/** Go's net.ParseIP followed by canonicalizeIP: IPv4-mapped IPv6 becomes IPv4. */
export function parseIP(s: string): Addr | undefined {
  if (s.includes('%')) return undefined;
  if (s.includes(':')) {
    if (!Validator.isValidIPv6String(s)[0]) return undefined;
    const v6 = IPv6.fromString(s);
    return mappedToV4(v6) ?? v6;
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || !Validator.isValidIPv4String(s)[0]) return undefined;
  return IPv4.fromString(s);
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

/** Canonical text, as Go prints an IP: dotted quad, or compressed lower-case IPv6. */
export function ipString(a: Addr): string {
  if (isV4(a)) return a.toString();
  return collapseIPv6Number(a.toString());
}

export function cidrString(c: Cidr): string {
  return `${ipString(c.ip)}/${c.prefix}`;
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

function cidrRange(c: Cidr): IPv4CidrRange | IPv6CidrRange {
  const text = `${c.ip.toString()}/${c.prefix}`;
  return isV4(c.ip) ? IPv4CidrRange.fromCidr(text) : IPv6CidrRange.fromCidr(text);
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(c: Cidr): Addr {
  return cidrRange(c).getFirst();
}

/** The all-ones address of a CIDR. */
export function lastOf(c: Cidr): Addr {
  return cidrRange(c).getLast();
}

function inSubnet(c: Cidr, a: Addr): boolean {
  if (!sameFamily(c.ip, a)) return false;
  return networkOf(c).isLessThanOrEquals(a) && lastOf(c).isGreaterThanOrEquals(a);
}

/** Range.Contains: same family, inside the subnet, within start..end when those are set. */
export function rangeContains(r: RawRange & {subnet: Cidr}, a: Addr): boolean {
  if (!inSubnet(r.subnet, a)) return false;
  if (r.rangeStart && ipCmp(a, r.rangeStart) < 0) return false;
  if (r.rangeEnd && ipCmp(a, r.rangeEnd) > 0) return false;
  return true;
}

export function rangeString(r: Range): string {
  return `${ipString(r.rangeStart)}-${ipString(r.rangeEnd)}`;
}

/** Range.Canonicalize: validates and fills defaults; throws with the reference's words. */
export function canonicalizeRange(raw: RawRange): Range {
  const subnet = raw.subnet;
  if (!subnet) throw new Error('IP <nil> not v4 nor v6');
  const maskBits = subnet.mappedV4 ? 128 : bits(subnet.ip);
  if (subnet.prefix > maskBits - 2) throw new Error(`Network ${cidrString(subnet)} too small to allocate from`);
  if (subnet.mappedV4) throw new Error('IPNet IP and Mask version mismatch');
  const net = networkOf(subnet);
  if (!ipEqual(net, subnet.ip)) {
    throw new Error(`Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${ipString(net)}`);
  }
  const canon = {subnet: {ip: net, prefix: subnet.prefix}};
  const gateway = raw.gateway ?? nextIP(net);
  const subnetText = cidrString(canon.subnet);
  let rangeStart = raw.rangeStart;
  if (rangeStart) {
    if (!rangeContains({...canon, rangeEnd: raw.rangeEnd}, rangeStart)) {
      throw new Error(`RangeStart ${ipString(rangeStart)} not in network ${subnetText}`);
    }
  } else {
    rangeStart = nextIP(net);
  }
  let rangeEnd = raw.rangeEnd;
  if (rangeEnd) {
    if (!rangeContains({...canon, rangeStart}, rangeEnd)) {
      throw new Error(`RangeEnd ${ipString(rangeEnd)} not in network ${subnetText}`);
    }
  } else {
    const last = lastOf(canon.subnet);
    rangeEnd = isV4(last) ? last.previousIPNumber() : last;
  }
  return {...canon, gateway, rangeStart, rangeEnd};
}

export function rangeOverlaps(a: Range, b: Range): boolean {
  if (!sameFamily(a.rangeStart, b.rangeStart)) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/** RangeSet.Canonicalize. */
export function canonicalizeRangeSet(raws: RawRange[]): RangeSet {
  if (raws.length === 0) throw new Error('empty range set');
  const set: RangeSet = [];
  for (const raw of raws) {
    const r = canonicalizeRange(raw);
    if (set.length > 0 && !sameFamily(set[0].rangeStart, r.rangeStart)) throw new Error('mixed address families');
    set.push(r);
  }
  for (let i = 0; i < set.length - 1; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangeOverlaps(set[i], set[j])) throw new Error(`subnets ${rangeString(set[i])} and ${rangeString(set[j])} overlap`);
    }
  }
  return set;
}

export function rangeFor(set: RangeSet, a: Addr): Range | undefined {
  return set.find((r) => rangeContains(r, a));
}

export function rangeSetContains(set: RangeSet, a: Addr): boolean {
  return rangeFor(set, a) !== undefined;
}

export function rangeSetString(set: RangeSet): string {
  return set.map(rangeString).join(',');
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangeOverlaps(r, r1)));
}
