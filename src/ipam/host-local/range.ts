import {
  bits,
  cidrContains,
  cidrString,
  ipCmp,
  ipEqual,
  ipString,
  isV4,
  lastOf,
  networkOf,
  nextIP,
  sameFamily,
  type Addr,
  type Cidr,
} from '../../util/ip.js';

/**
 * host-local ranges, following the reference's allocator/range.go: a range
 * is [rangeStart, rangeEnd] inside a subnet, with a gateway that the
 * iterator skips. Addresses and their arithmetic come from src/util/ip.ts.
 */
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

/** Range.Contains: same family, inside the subnet, within start..end when those are set. */
export function rangeContains(r: RawRange & {subnet: Cidr}, a: Addr): boolean {
  if (!cidrContains(r.subnet, a)) return false;
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
