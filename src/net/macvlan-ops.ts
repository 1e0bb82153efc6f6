import {randomBytes} from 'node:crypto';
import {statfs} from 'node:fs/promises';
import {resolve} from 'node:path';
import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {errnoText, isNotFound} from './errors.js';
import {inNetns, listRoutes, type LinkInfo} from './ip.js';

/**
 * Kernel operations for the macvlan plugin: master lookup, creating the
 * macvlan straight into the container namespace under a temporary name and
 * renaming it, deleting it, and reading its mode. `netns` undefined = host.
 */

export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

function fail(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/**
 * The reference's ns.GetNS check: the path must exist and live on nsfs or
 * procfs. Errors read like the reference's (`failed to Statfs "<p>": ...`).
 */
export async function checkNetnsPath(path: string): Promise<void> {
  let st;
  try {
    st = await statfs(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text = code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw fail(`failed to Statfs "${path}": ${text}`);
  }
  if (st.type !== NSFS_MAGIC && st.type !== PROC_SUPER_MAGIC) {
    throw fail(`unknown FS magic on "${path}": ${st.type.toString(16)}`);
  }
}

/** True when the netns path exists (DEL treats a missing one as "already gone"). */
export async function netnsExists(path: string): Promise<boolean> {
  try {
    await statfs(path);
    return true;
  } catch {
    return false;
  }
}

/** The link called `name`, or undefined if there is none in that namespace. */
export async function findLink(runner: Runner, name: string, netns?: string): Promise<LinkInfo | undefined> {
  const r = await inNetns(runner, netns).run('ip', ['-j', '-d', 'link', 'show', 'dev', name], {reject: false});
  if (r.exitCode !== 0) {
    const err = new CommandError(['ip', '-j', '-d', 'link', 'show', 'dev', name], r.exitCode, r.stdout, r.stderr);
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const links = JSON.parse(r.stdout.trim() || '[]') as LinkInfo[];
  return links.find((l) => l.ifname === name);
}

/**
 * The interface of the first default route (IPv4, then IPv6, main table), as
 * the reference picks the master when none is configured.
 */
export async function defaultRouteInterface(runner: Runner, netns?: string): Promise<string> {
  for (const family of [4, 6] as const) {
    const routes = await listRoutes(runner, family, netns);
    const def = routes.find((r) => r.dst === 'default' && r.dev);
    if (def?.dev) return def.dev;
  }
  throw fail('no default route interface found');
}

/** A temporary link name as the reference's RandomVethName: `veth` + 8 hex digits. */
export function tempLinkName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

export interface CreateMacvlanOpts {
  master: string;
  mode: MacvlanMode;
  /** 0 = inherit the master's MTU. */
  mtu: number;
  /** Normalised MAC (lower-case, colons) or undefined for a random one. */
  mac?: string;
  /** Container namespace path. */
  netns: string;
  /** Final name inside the container. */
  ifname: string;
  /** The master lives in the container namespace; create the link there. */
  linkInContainer: boolean;
  /** Override the temporary name (tests). */
  tempName?: string;
}

/** Argv (without the leading `ip`) that creates the macvlan under `name`. */
export function macvlanAddArgv(name: string, o: CreateMacvlanOpts): string[] {
  const argv = ['link', 'add', name];
  if (o.mac) argv.push('address', o.mac);
  if (o.mtu > 0) argv.push('mtu', String(o.mtu));
  // The reference's netlink LinkAttrs literal sends IFLA_TXQLEN=0.
  argv.push('txqueuelen', '0', 'link', o.master);
  // iproute2 opens a `netns` value containing '/' as a file; make it absolute so
  // a relative path is never taken for a name under /var/run/netns or a PID.
  if (!o.linkInContainer) argv.push('netns', resolve(o.netns));
  argv.push('type', 'macvlan', 'mode', o.mode);
  return argv;
}

/**
 * Create the macvlan directly in the container namespace under a temporary
 * name (so it cannot collide with a host link), then rename it to `ifname`
 * there. A failed rename deletes the temporary link. Returns the live MAC.
 */
export async function createMacvlan(runner: Runner, o: CreateMacvlanOpts): Promise<{name: string; mac: string}> {
  const tmp = o.tempName ?? tempLinkName();
  const cont = inNetns(runner, o.netns);
  try {
    await (o.linkInContainer ? cont : runner).run('ip', macvlanAddArgv(tmp, o));
  } catch (err) {
    throw fail(`failed to create macvlan: ${errnoText(err)}`);
  }
  try {
    await cont.run('ip', ['link', 'set', 'dev', tmp, 'name', o.ifname]);
  } catch (err) {
    await cont.run('ip', ['link', 'del', 'dev', tmp], {reject: false});
    throw fail(`failed to rename macvlan to "${o.ifname}": ${errnoText(err)}`);
  }
  const link = await findLink(runner, o.ifname, o.netns);
  if (!link) throw fail(`failed to refetch macvlan "${o.ifname}": Link not found`);
  return {name: o.ifname, mac: link.address ?? ''};
}

/** Set a link up inside a namespace (the L2-only path). */
export async function setLinkUp(runner: Runner, ifname: string, netns: string): Promise<void> {
  try {
    await inNetns(runner, netns).run('ip', ['link', 'set', 'dev', ifname, 'up']);
  } catch (err) {
    throw fail(`failed to set "${ifname}" UP: ${errnoText(err)}`);
  }
}

/**
 * Delete `ifname` in the namespace at `netns`. A missing namespace or link is
 * success (DEL is idempotent).
 */
export async function delLinkInNetns(runner: Runner, ifname: string, netns: string): Promise<void> {
  if (!(await netnsExists(netns))) return;
  try {
    await inNetns(runner, netns).run('ip', ['link', 'del', 'dev', ifname]);
  } catch (err) {
    if (isNotFound(err)) return;
    throw fail(`failed to delete "${ifname}": ${errnoText(err)}`);
  }
}

/** The macvlan mode of a link read with `ip -d`, or undefined for non-macvlan links. */
export function macvlanModeOf(link: LinkInfo): string | undefined {
  if (link.linkinfo?.info_kind !== 'macvlan') return undefined;
  const mode = link.linkinfo.info_data?.mode;
  return typeof mode === 'string' ? mode : undefined;
}
