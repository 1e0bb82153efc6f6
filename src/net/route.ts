import {CommandError, type Runner} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {isNotFound} from './errors.js';
import {inNetns, ip, ipRead, type IpLine} from './iproute.js';

/** Routes, read with `ip -j route` and added the way netlink.RouteAdd does. */
export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  type?: string;
  flags: string[];
}

/** `ip -j route` output as routes (entries without a destination dropped, missing flags none). */
export function parseRoutes(json: unknown): RouteInfo[] {
  if (!Array.isArray(json)) throw new Error('ip -j route: expected a list');
  return (json as Partial<RouteInfo>[])
    .filter((r) => r !== null && typeof r === 'object' && typeof r.dst === 'string')
    .map((r) => ({...r, flags: Array.isArray(r.flags) ? r.flags : []}) as RouteInfo);
}

export async function listRoutes(runner: Runner, family: 4 | 6, netns?: string, table = 'main'): Promise<RouteInfo[]> {
  return parseRoutes(await ipRead(runner, [`-${family}`, 'route', 'show', 'table', table], netns));
}

/**
 * The interface of the first default route (IPv4, then IPv6, main table), as
 * the reference's macvlan picks its master when none is configured.
 */
export async function defaultRouteInterface(runner: Runner, netns?: string): Promise<string> {
  for (const family of [4, 6] as const) {
    const routes = await listRoutes(runner, family, netns);
    const def = routes.find((r) => r.dst === 'default' && r.dev);
    if (def?.dev) return def.dev;
  }
  throw new CniError(ErrorCode.Internal, 'no default route interface found');
}

export interface RouteSpec {
  dst: string;
  via?: string;
  dev: string;
  metric?: number;
  table?: number;
  scope?: number;
}

/** The command that adds a route (`route prepend`: in front of other routes to the same destination). */
export function routeAddLine(r: RouteSpec): IpLine {
  const line = ['route', 'prepend', r.dst];
  if (r.via) line.push('via', r.via);
  line.push('dev', r.dev);
  if (r.metric !== undefined) line.push('metric', String(r.metric));
  if (r.table !== undefined) line.push('table', String(r.table));
  if (r.scope !== undefined) line.push('scope', String(r.scope));
  return line;
}

export function routeShowDevLine(dev: string): IpLine {
  return ['route', 'show', 'dev', dev];
}

/** The command that routes `dst` via `via` on `dev`, the gateway taken as on-link (replace: idempotent). */
export function routeReplaceOnlinkLine(dst: string, via: string, dev: string): IpLine {
  return ['route', 'replace', dst, 'via', via, 'dev', dev, 'onlink'];
}

export function routeDelLine(dst: string, dev: string): IpLine {
  return ['route', 'del', dst, 'dev', dev];
}

/** Add a route to `dst` on `dev`: true when added, false when one is there already. */
export async function ensureRoute(runner: Runner, dst: string, dev: string, netns?: string): Promise<boolean> {
  const argv = ['route', 'add', dst, 'dev', dev];
  const r = await inNetns(runner, netns).run('ip', argv, {reject: false});
  if (r.exitCode === 0) return true;
  if (/exists/i.test(r.stderr)) return false;
  throw new CommandError(['ip', ...argv], r.exitCode, r.stdout, r.stderr);
}

/** Delete a route to `dst` on `dev`; an absent one is success. */
export async function delRoute(runner: Runner, dst: string, dev: string, netns?: string): Promise<void> {
  try {
    await ip(runner, ['route', 'del', dst, 'dev', dev], netns);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
