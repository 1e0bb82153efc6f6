/**
 * Where this host meets the underlay: its public IP (what peers send vxlan
 * packets to, and how the registry finds this host's lease again) and the
 * link that carries it. As flannel finds them: the address of `iface`, or
 * `publicIP` on whatever link holds it, or else the link of the IPv4
 * default route and its address. Reads only.
 */
import type {Runner} from '../exec/runner.js';
import {listAddrs, type LinkAddrs} from '../net/addr.js';
import {listRoutes} from '../net/route.js';
import {parsePublicIP} from './lease.js';

export interface Uplink {
  publicIP: string;
  /** The link the vxlan device sends through. */
  uplink: string;
}

export interface UplinkChoice {
  iface?: string;
  publicIP?: string;
}

/** The first global IPv4 address of a link, or undefined. */
function firstV4(l: LinkAddrs): string | undefined {
  const a = l.addr_info.find((x) => x.family === 'inet' && x.scope === 'global' && parsePublicIP(x.local));
  return a?.local;
}

/** Pure: the uplink from what `ip -j addr show` and the IPv4 main table say. */
export function chooseUplink(
  c: UplinkChoice,
  links: LinkAddrs[],
  routes: {dst: string; dev?: string; prefsrc?: string; metric?: number}[],
): Uplink {
  if (c.publicIP) {
    const owner = links.find((l) => l.addr_info.some((a) => a.family === 'inet' && a.local === c.publicIP));
    if (c.iface && !links.some((l) => l.ifname === c.iface))
      throw new Error(`iface ${JSON.stringify(c.iface)} does not exist on this host`);
    if (!owner) throw new Error(`publicIP ${c.publicIP} is not an address of this host (the vxlan device sends from it)`);
    return {publicIP: c.publicIP, uplink: c.iface ?? owner.ifname};
  }
  if (c.iface) {
    const l = links.find((x) => x.ifname === c.iface);
    if (!l) throw new Error(`iface ${JSON.stringify(c.iface)} does not exist on this host`);
    const ip = firstV4(l);
    if (!ip) throw new Error(`iface ${c.iface} has no global IPv4 address to use as this host's public IP`);
    return {publicIP: ip, uplink: c.iface};
  }
  const defaults = routes.filter((r) => r.dst === 'default' && r.dev).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  if (defaults.length === 0)
    throw new Error('no IPv4 default route to find this host\'s public IP from: set "iface" or "publicIP" in the network config');
  const d = defaults[0];
  const l = links.find((x) => x.ifname === d.dev);
  const ip = (d.prefsrc && parsePublicIP(d.prefsrc)) || (l && firstV4(l));
  if (!ip) throw new Error(`the default route's link ${d.dev} has no global IPv4 address: set "iface" or "publicIP" in the network config`);
  return {publicIP: ip, uplink: d.dev!};
}

/** This host's uplink: two reads (addresses, routes) run together. */
export async function findUplink(runner: Runner, c: UplinkChoice): Promise<Uplink> {
  const [links, routes] = await Promise.all([listAddrs(runner), c.iface || c.publicIP ? Promise.resolve([]) : listRoutes(runner, 4)]);
  return chooseUplink(c, links, routes);
}
