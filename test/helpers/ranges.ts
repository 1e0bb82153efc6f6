/** Range literals for host-local unit tests: addresses and raw ranges from strings. */
import {parseCidr, parseIP} from '../../src/util/ip.js';
import type {RawRange} from '../../src/ipam/host-local/range.js';

export const ip = (s: string) => {
  const a = parseIP(s);
  if (!a) throw new Error(`bad ip ${s}`);
  return a;
};

export const raw = (subnet: string, extra: {rangeStart?: string; rangeEnd?: string; gateway?: string} = {}): RawRange => ({
  subnet: parseCidr(subnet),
  rangeStart: extra.rangeStart ? ip(extra.rangeStart) : undefined,
  rangeEnd: extra.rangeEnd ? ip(extra.rangeEnd) : undefined,
  gateway: extra.gateway ? ip(extra.gateway) : undefined,
});
