import type {IPConfig} from '../../cni/types.js';
import {cidrString, ipEqual, ipString, nextIP, type Addr} from '../../util/ip.js';
import {rangeContains, rangeFor, rangeSetContains, rangeSetString, type Range, type RangeSet} from './range.js';
import type {DiskStore} from './store.js';

/**
 * One range set's allocator (the reference's allocator.IPAllocator): the
 * store lock is held for the whole of one Get or Release, not across sets.
 */
export interface Allocation {
  ip: Addr;
  range: Range;
}

export function toIPConfig(a: Allocation): IPConfig {
  return {address: cidrString({ip: a.ip, prefix: a.range.subnet.prefix}), gateway: ipString(a.range.gateway)};
}

/**
 * The round-robin iterator: starts after last_reserved_ip when that lies in
 * the set (else at the first range's start), walks up, jumps range to range at
 * each rangeEnd with wrap-around, skips each range's gateway, and stops when it
 * comes back to where it started.
 */
export class RangeIter {
  private rangeIdx = 0;
  private cur: Addr | undefined;
  private startIP: Addr | undefined;

  constructor(
    private readonly set: RangeSet,
    lastReserved?: Addr,
  ) {
    if (lastReserved && rangeSetContains(set, lastReserved)) {
      this.rangeIdx = set.findIndex((r) => rangeFor([r], lastReserved));
      this.cur = lastReserved;
    } else {
      this.startIP = set[0].rangeStart;
    }
  }

  next(): Allocation | undefined {
    for (;;) {
      let r = this.set[this.rangeIdx];
      if (!this.cur) {
        this.cur = r.rangeStart;
        this.startIP = this.cur;
        if (ipEqual(this.cur, r.gateway)) continue;
        return {ip: this.cur, range: r};
      }
      if (ipEqual(this.cur, r.rangeEnd)) {
        this.rangeIdx = (this.rangeIdx + 1) % this.set.length;
        r = this.set[this.rangeIdx];
        this.cur = r.rangeStart;
      } else {
        this.cur = nextIP(this.cur);
      }
      if (!this.startIP) this.startIP = this.cur;
      else if (ipEqual(this.cur, this.startIP)) return undefined;
      if (ipEqual(this.cur, r.gateway)) continue;
      return {ip: this.cur, range: r};
    }
  }
}

export class IPAllocator {
  private readonly rangeId: string;

  constructor(
    private readonly set: RangeSet,
    private readonly store: DiskStore,
    index: number,
  ) {
    this.rangeId = String(index);
  }

  /** Allocator.Get: the requested IP, or the next free one. Throws the reference's errors. */
  get(id: string, ifname: string, requested?: Addr): Promise<IPConfig> {
    return this.store.withLock(() => toIPConfig(requested ? this.getRequested(id, ifname, requested) : this.getNext(id, ifname)));
  }

  private getRequested(id: string, ifname: string, ip: Addr): Allocation {
    const r = rangeFor(this.set, ip);
    if (!r) throw new Error(`${ipString(ip)} not in range set ${rangeSetString(this.set)}`);
    if (ipEqual(ip, r.gateway)) throw new Error(`requested ip ${ipString(ip)} is subnet's gateway`);
    if (!this.store.reserve(id, ifname, ip, this.rangeId)) {
      throw new Error(`requested IP address ${ipString(ip)} is not available in range set ${rangeSetString(this.set)}`);
    }
    return {ip, range: r};
  }

  private getNext(id: string, ifname: string): Allocation {
    for (const held of this.store.getByID(id, ifname)) {
      if (rangeSetContains(this.set, held)) {
        throw new Error(`${ipString(held)} has been allocated to ${id}, duplicate allocation is not allowed`);
      }
    }
    const iter = new RangeIter(this.set, this.store.lastReservedIP(this.rangeId));
    for (let a = iter.next(); a; a = iter.next()) {
      if (this.store.reserve(id, ifname, a.ip, this.rangeId)) return a;
    }
    throw new Error(`no IP addresses available in range set: ${rangeSetString(this.set)}`);
  }

  /** Allocator.Release: drops every IP of id+ifname (all families), under the lock. */
  release(id: string, ifname: string): Promise<void> {
    return this.store.withLock(() => this.store.releaseByID(id, ifname));
  }
}

/**
 * Whether the iterator would still find an address of the set not in
 * `reserved`: the set's addresses (each range's gateway left out, as the
 * iterator skips it) outnumber the reserved ones that fall among them.
 */
export function hasFreeAddress(set: RangeSet, reserved: readonly Addr[]): boolean {
  let size = 0n;
  for (const r of set) size += r.rangeEnd.getValue() - r.rangeStart.getValue() + 1n - (rangeContains(r, r.gateway) ? 1n : 0n);
  const taken = new Set(
    reserved
      .filter((ip) => {
        const r = rangeFor(set, ip);
        return r !== undefined && !ipEqual(ip, r.gateway);
      })
      .map(ipString),
  );
  return BigInt(taken.size) < size;
}
