import type {Runner} from '../exec/runner.js';
import type {IPConfig, Route} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {listAddrs} from '../net/addr.js';
import {listRoutes, type RouteInfo} from '../net/route.js';
import {familyOf, ipEqual, maskOf, networkOf, parseAddr, parseCidrAsWritten, type Family} from '../util/ip.js';

/**
 * CHECK helpers shared by the main plugins (the reference's
 * ip.ValidateExpectedInterfaceIPs / ValidateExpectedRoute, 1.1.1 messages):
 * every prevResult address is on the interface with a route to its prefix, and
 * every prevResult route is in the main table (a default route matches by
 * destination only).
 */

function fail(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** A route `dst` as ip prints it (`default`, bare host, CIDR) as a comparable network key. */
export function prefixKey(dst: string, family: Family): string | undefined {
  if (dst === 'default') return `${family}|0|0`;
  const c = parseCidrAsWritten(dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);
  if (!c) return undefined;
  return `${familyOf(c.ip)}|${networkOf(c).getValue()}|${c.prefix}`;
}

function sameIp(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return !a && !b;
  return ipEqual(parseAddr(a), parseAddr(b));
}

/** Routes of the main table per family, read once per family on demand. */
function routeReader(runner: Runner, netns: string): (family: 4 | 6) => Promise<RouteInfo[]> {
  const cache = new Map<number, Promise<RouteInfo[]>>();
  return (family) => {
    if (!cache.has(family)) cache.set(family, listRoutes(runner, family, netns));
    return cache.get(family)!;
  };
}

export async function validateExpectedIps(runner: Runner, netns: string, ifname: string, ips: IPConfig[]): Promise<void> {
  if (ips.length === 0) return;
  let addrs;
  try {
    addrs = await listAddrs(runner, netns, ifname);
  } catch {
    throw fail(`Cannot find container link ${ifname}`);
  }
  const onLink = (addrs[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  const routes = routeReader(runner, netns);
  for (const ipc of ips) {
    const want = parseCidrAsWritten(ipc.address);
    const match = onLink.some((a) => {
      const c = parseCidrAsWritten(a);
      return !!want && !!c && ipEqual(c.ip, want.ip) && c.prefix === want.prefix;
    });
    if (!want || !match) throw fail(`Failed to match addr ${ipc.address} on interface ${ifname}`);
    const family = familyOf(want.ip);
    const key = prefixKey(ipc.address, family);
    const found = (await routes(family)).some((r) => prefixKey(r.dst, family) === key);
    if (!found) throw fail(`Failed to find Gateway ${ipc.gateway ?? '<nil>'} for interface ${ifname}`);
  }
}

/** Go's `%v` of a 1.1.1 types.Route: `{Dst:{IP:a.b.c.d Mask:ffffff00} GW:<nil>}`. */
function goRouteText(r: Route): string {
  const [addr, len] = r.dst.split('/');
  const family: Family = addr.includes(':') ? 6 : 4;
  const bits = family === 6 ? 128 : 32;
  const plen = Math.min(Number(len ?? bits) || 0, bits);
  const mask = maskOf(family, plen);
  return `{Dst:{IP:${addr} Mask:${mask.toString(16).padStart(bits / 4, '0')}} GW:${r.gw ?? '<nil>'}}`;
}

export async function validateExpectedRoutes(runner: Runner, netns: string, expected: Route[]): Promise<void> {
  const routes = routeReader(runner, netns);
  for (const r of expected) {
    const ip = parseCidrAsWritten(r.dst)?.ip;
    if (!ip) throw fail(`Invalid static route found ${goRouteText(r)}`);
    const family = familyOf(ip);
    const key = prefixKey(r.dst, family);
    const isDefault = key === `${family}|0|0`;
    const found = (await routes(family)).some((x) => prefixKey(x.dst, family) === key && (isDefault || sameIp(x.gateway, r.gw)));
    if (!found) throw fail(`Expected Route ${goRouteText(r)} not found in routing table`);
  }
}
