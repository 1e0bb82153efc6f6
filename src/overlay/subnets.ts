/**
 * Choosing a host's subnet (pure): the free /SubnetLen blocks between
 * SubnetMin and SubnetMax that overlap no existing lease or reservation,
 * as flannel picks them: the first 100 free ones, one of those at random, so
 * hosts that start together rarely want the same block.
 */
import {addrFromValue, type Cidr} from '../util/ip.js';
import {subnetSize, type NetworkConfig} from './config.js';

export const CANDIDATE_LIMIT = 100;

/** [first, end) of a CIDR as numbers. */
function span(c: Cidr): [bigint, bigint] {
  const first = c.ip.getValue();
  return [first, first + (1n << BigInt(32 - c.prefix))];
}

/** Whether a leased subnet fits this config (right size, between SubnetMin and SubnetMax). */
export function subnetFits(cfg: NetworkConfig, s: Cidr): boolean {
  const v = s.ip.getValue();
  return s.prefix === cfg.subnetLen && v >= cfg.subnetMin.getValue() && v <= cfg.subnetMax.getValue();
}

/** Up to `limit` free subnets in address order. */
export function freeSubnets(cfg: NetworkConfig, taken: readonly Cidr[], limit = CANDIDATE_LIMIT): Cidr[] {
  const size = subnetSize(cfg.subnetLen);
  const spans = taken.map(span).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Cidr[] = [];
  const max = cfg.subnetMax.getValue();
  let j = 0;
  for (let v = cfg.subnetMin.getValue(); v <= max && out.length < limit; v += size) {
    while (j < spans.length && spans[j][1] <= v) j++;
    // spans[j] is the first taken block ending after v; later ones start later still.
    let overlaps = false;
    for (let k = j; k < spans.length && spans[k][0] < v + size; k++) {
      if (spans[k][1] > v) {
        overlaps = true;
        break;
      }
    }
    if (!overlaps) out.push({ip: addrFromValue(true, v), prefix: cfg.subnetLen});
  }
  return out;
}

/** A free subnet, `preferred` when it is free and fits, else one of the first free ones at random. */
export function pickSubnet(
  cfg: NetworkConfig,
  taken: readonly Cidr[],
  random: () => number = Math.random,
  preferred?: Cidr,
): Cidr | undefined {
  if (preferred && subnetFits(cfg, preferred)) {
    const [a, b] = span(preferred);
    if (!taken.some((t) => span(t)[0] < b && span(t)[1] > a)) return preferred;
  }
  const free = freeSubnets(cfg, taken);
  if (free.length === 0) return undefined;
  return free[Math.min(free.length - 1, Math.floor(random() * free.length))];
}
