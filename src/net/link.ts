import {randomBytes} from 'node:crypto';
import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {isNetnsMissing, isNotFound} from './errors.js';
import {failedBatchLine, ip, ipJsonBatch, ipRead, parseIpJson, type IpLine} from './iproute.js';
import {parseLinkAddrs, type LinkAddrs} from './addr.js';

/**
 * Links (reference pkg/ip link helpers): the one lookup by name, listing,
 * up, delete. The kinds of link live beside this file (link-bridge,
 * link-veth, link-macvlan, link-vxlan).
 */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  link_type?: string;
  address?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  promiscuity?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

/** `ip -j link show` output as links: entries without a name are dropped, missing flags are none. */
export function parseLinks(json: unknown): LinkInfo[] {
  if (!Array.isArray(json)) throw new Error('ip -j link: expected a list');
  return (json as Partial<LinkInfo>[])
    .filter((l) => l !== null && typeof l === 'object' && typeof l.ifname === 'string')
    .map((l) => ({...l, flags: Array.isArray(l.flags) ? l.flags : []}) as LinkInfo);
}

export async function listLinks(runner: Runner, netns?: string): Promise<LinkInfo[]> {
  return parseLinks(await ipRead(runner, ['-d', 'link', 'show'], netns));
}

/**
 * The link called `name` in that namespace (with `-d` details), or undefined
 * when there is none: the one link lookup. A namespace that is gone reads as
 * no link. As the kernel resolves the name, an alternative name finds its link.
 */
export async function getLink(runner: Runner, name: string, netns?: string): Promise<LinkInfo | undefined> {
  try {
    return parseLinks(await ipRead(runner, ['-d', 'link', 'show', 'dev', name], netns))[0];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The command that sets a link up (for a caller's batch). */
export function linkUpLine(name: string): IpLine {
  return ['link', 'set', 'dev', name, 'up'];
}

/** Set a link up; failures are the caller's to word. */
export async function setLinkUp(runner: Runner, name: string, netns?: string): Promise<void> {
  await ip(runner, linkUpLine(name), netns);
}

/** Set a link down; failures are the caller's to word. */
export async function setLinkDown(runner: Runner, name: string, netns?: string): Promise<void> {
  await ip(runner, ['link', 'set', 'dev', name, 'down'], netns);
}

/** Delete a link; a missing link (or namespace) is success. */
export async function delLink(runner: Runner, name: string, netns?: string): Promise<void> {
  try {
    await ip(runner, ['link', 'del', 'dev', name], netns);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** `veth` + 8 hex digits, as the reference's RandomVethName (host veths, temporary names). */
export function randomLinkName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

/** The ports of a bridge (links whose master it is). */
export async function listPorts(runner: Runner, master: string): Promise<LinkInfo[]> {
  const {stdout} = await runner.run('ip', ['-j', 'link', 'show', 'master', master], {reject: false});
  return parseLinks(parseIpJson(stdout));
}

/**
 * DEL's read-then-delete of the container link in one `ip` process inside
 * the namespace: every link's addresses (as before the delete), then the link
 * deleted (a missing link is fine). Undefined when the namespace is gone.
 */
export async function readAddrsAndDelLink(runner: Runner, netns: string, ifname: string): Promise<LinkAddrs[] | undefined> {
  let res;
  try {
    res = await ipJsonBatch(
      runner,
      [
        ['addr', 'show'],
        ['link', 'del', 'dev', ifname],
      ],
      netns,
      false,
    );
  } catch (err) {
    if (isNetnsMissing(err)) return undefined;
    throw err;
  }
  const {outputs, run} = res;
  if (run.exitCode !== 0) {
    const err = new CommandError(
      ['nsenter', `--net=${netns}`, '--', 'ip', '-j', '-d', '-batch', '-'],
      run.exitCode,
      run.stdout,
      run.stderr,
    );
    if (isNetnsMissing(err)) return undefined;
    if (!(outputs.length === 1 && failedBatchLine(run.stderr) === 2 && isNotFound(err))) throw err;
  }
  return parseLinkAddrs(outputs[0] ?? []);
}
