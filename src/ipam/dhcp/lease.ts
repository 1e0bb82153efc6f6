/**
 * A held DHCP lease: what the daemon persists, its timers (RFC 2131 §4.4.5)
 * and its mapping to a CNI result. Pure.
 */
import type {Result, Route} from '../../cni/types.js';
import {CniError, ErrorCode} from '../../cni/errors.js';
import {Opt, maskToPrefix, optIp, optIps, optString, optUint32, parseClasslessRoutes, parseStaticRoutes} from './packet.js';

export interface Lease {
  /** `<containerID>/<network name>/<ifname>`: the client id string and the table key. */
  key: string;
  containerId: string;
  network: string;
  ifname: string;
  netns: string;
  mac: string;
  address: string;
  serverId: string;
  /** When the request that produced the current ACK was sent (ms since epoch). */
  obtainedAt: number;
  /** Seconds. */
  leaseTime: number;
  t1: number;
  t2: number;
  /** ACK options, code → hex payload. */
  options: Record<string, string>;
  /** Parameter request list (option 55). */
  paramList: number[];
  /** Extra options sent to the server, code → hex payload. */
  provide: Record<string, string>;
  /** Route priority from the config (0 = unset). */
  priority?: number;
}

export const DEFAULT_LEASE_SECONDS = 3600;

export function optionsToRecord(options: Map<number, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of options) out[String(k)] = v.toString('hex');
  return out;
}

export function recordToOptions(rec: Record<string, string>): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [k, v] of Object.entries(rec)) out.set(Number(k), Buffer.from(v, 'hex'));
  return out;
}

/** Lease, T1 and T2 in seconds from an ACK's options, with RFC 2131 defaults. */
export function leaseTimers(options: Map<number, Buffer>): {leaseTime: number; t1: number; t2: number} {
  const leaseTime = optUint32(options, Opt.LeaseTime) ?? DEFAULT_LEASE_SECONDS;
  let t1 = optUint32(options, Opt.RenewalTime) ?? Math.floor(leaseTime * 0.5);
  let t2 = optUint32(options, Opt.RebindingTime) ?? Math.floor(leaseTime * 0.875);
  if (t2 > leaseTime) t2 = Math.floor(leaseTime * 0.875);
  if (t1 > t2) t1 = Math.floor(t2 * (0.5 / 0.875));
  return {leaseTime, t1, t2};
}

export type LeasePhase = 'bound' | 'renewing' | 'rebinding' | 'expired';

export interface LeaseDeadlines {
  renewAt: number;
  rebindAt: number;
  expiresAt: number;
}

export function deadlines(l: Pick<Lease, 'obtainedAt' | 't1' | 't2' | 'leaseTime'>): LeaseDeadlines {
  return {
    renewAt: l.obtainedAt + l.t1 * 1000,
    rebindAt: l.obtainedAt + l.t2 * 1000,
    expiresAt: l.obtainedAt + l.leaseTime * 1000,
  };
}

export function leasePhase(l: Pick<Lease, 'obtainedAt' | 't1' | 't2' | 'leaseTime'>, now: number): LeasePhase {
  const d = deadlines(l);
  if (now < d.renewAt) return 'bound';
  if (now < d.rebindAt) return 'renewing';
  if (now < d.expiresAt) return 'rebinding';
  return 'expired';
}

/** The next moment the maintenance loop must act for this lease. */
export function nextWake(l: Pick<Lease, 'obtainedAt' | 't1' | 't2' | 'leaseTime'>, now: number): number {
  const d = deadlines(l);
  switch (leasePhase(l, now)) {
    case 'bound':
      return d.renewAt;
    case 'renewing':
    case 'rebinding':
      return now;
    case 'expired':
      return now;
  }
}

function routeWithPriority(r: Route, priority?: number): Route {
  return priority ? {...r, priority} : r;
}

/**
 * ACK → CNI result. ips = yiaddr/mask with the first router as gateway;
 * routes = option 121 if present, else option 33 (classful) plus a default
 * route via the router. Unlike the reference, options 6 and 15 become `dns`.
 */
export function leaseToResult(address: string, options: Map<number, Buffer>, cniVersion: string, priority?: number): Result {
  const mask = optIp(options, Opt.SubnetMask);
  if (!mask) throw new CniError(ErrorCode.Internal, 'DHCP option Subnet Mask not found in DHCPACK');
  const router = optIp(options, Opt.Router);
  const result: Result = {
    cniVersion,
    ips: [{address: `${address}/${maskToPrefix(mask)}`, ...(router ? {gateway: router} : {})}],
    routes: [],
  };
  const classless = options.get(Opt.ClasslessRoutes);
  if (classless && classless.length > 0) {
    for (const r of parseClasslessRoutes(classless)) {
      const route: Route = r.gw === '0.0.0.0' ? {dst: r.dst, scope: 253} : {dst: r.dst, gw: r.gw};
      result.routes!.push(routeWithPriority(route, priority));
    }
  } else {
    const statics = options.get(Opt.StaticRoutes);
    if (statics) for (const r of parseStaticRoutes(statics)) result.routes!.push(routeWithPriority({dst: r.dst, gw: r.gw}, priority));
    if (router) result.routes!.push(routeWithPriority({dst: '0.0.0.0/0', gw: router}, priority));
  }
  const nameservers = optIps(options, Opt.DNS);
  const domain = optString(options, Opt.DomainName);
  result.dns = {};
  if (nameservers.length > 0) result.dns.nameservers = nameservers;
  if (domain) result.dns.domain = domain;
  return result;
}

export function leaseResult(l: Lease, cniVersion: string): Result {
  return leaseToResult(l.address, recordToOptions(l.options), cniVersion, l.priority);
}
