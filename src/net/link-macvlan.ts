import {resolve} from 'node:path';
import type {Runner} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {errnoText} from './errors.js';
import {inNetns, ip, type IpLine} from './iproute.js';
import {getLink, randomLinkName, type LinkInfo} from './link.js';

/**
 * macvlan links (the reference macvlan.go's createMacvlan): made straight
 * into the container namespace under a temporary name (so it cannot collide
 * with a host link), then renamed there.
 */
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

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

/** The command that creates the macvlan under `name`. */
export function macvlanAddLine(name: string, o: CreateMacvlanOpts): IpLine {
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

/** Create, rename, read back; a failed rename deletes the temporary link. Returns the live MAC. */
export async function createMacvlan(runner: Runner, o: CreateMacvlanOpts): Promise<{name: string; mac: string}> {
  const tmp = o.tempName ?? randomLinkName();
  try {
    await ip(runner, macvlanAddLine(tmp, o), o.linkInContainer ? o.netns : undefined);
  } catch (err) {
    throw fail(`failed to create macvlan: ${errnoText(err)}`);
  }
  try {
    await ip(runner, ['link', 'set', 'dev', tmp, 'name', o.ifname], o.netns);
  } catch (err) {
    await inNetns(runner, o.netns).run('ip', ['link', 'del', 'dev', tmp], {reject: false});
    throw fail(`failed to rename macvlan to "${o.ifname}": ${errnoText(err)}`);
  }
  const link = await getLink(runner, o.ifname, o.netns);
  if (!link) throw fail(`failed to refetch macvlan "${o.ifname}": Link not found`);
  return {name: o.ifname, mac: link.address ?? ''};
}

/** The macvlan mode of a link read with `ip -d`, or undefined for non-macvlan links. */
export function macvlanModeOf(link: LinkInfo): string | undefined {
  if (link.linkinfo?.info_kind !== 'macvlan') return undefined;
  const mode = link.linkinfo.info_data?.mode;
  return typeof mode === 'string' ? mode : undefined;
}
