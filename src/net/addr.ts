import type {Runner} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {cidrContains, cidrString, familyOf, normalizeIp, parseCidrAsWritten, type Cidr} from '../util/ip.js';
import {errnoText, isExists} from './errors.js';
import {ipBatch, ipJsonBatch, ipRead, type IpLine} from './iproute.js';

/** Addresses (reference pkg/ip addr helpers and bridge.go's ensureAddr), read with `ip -j addr`. */
export interface AddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
  label?: string;
  dynamic?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

export interface LinkAddrs {
  ifindex: number;
  ifname: string;
  flags: string[];
  address?: string;
  addr_info: AddrInfo[];
}

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `ip -j addr show` output as links with their addresses (missing lists are empty). */
export function parseLinkAddrs(json: unknown): LinkAddrs[] {
  if (!Array.isArray(json)) throw new Error('ip -j addr: expected a list');
  return (json as Partial<LinkAddrs>[])
    .filter((l) => l !== null && typeof l === 'object' && typeof l.ifname === 'string')
    .map(
      (l) => ({...l, flags: Array.isArray(l.flags) ? l.flags : [], addr_info: Array.isArray(l.addr_info) ? l.addr_info : []}) as LinkAddrs,
    );
}

/** Every link's addresses in the namespace, or one link's (`dev`). */
export async function listAddrs(runner: Runner, netns?: string, dev?: string): Promise<LinkAddrs[]> {
  return parseLinkAddrs(await ipRead(runner, dev ? ['addr', 'show', 'dev', dev] : ['addr', 'show'], netns));
}

/** The addresses of several host links in one `ip` process; a missing link reads as undefined, and so do those after it. */
export async function readLinksAddrs(runner: Runner, names: string[]): Promise<(LinkAddrs | undefined)[]> {
  const {outputs} = await ipJsonBatch(
    runner,
    names.map((n) => ['addr', 'show', 'dev', n]),
    undefined,
    false,
  );
  return names.map((_n, i) => (outputs[i] ? parseLinkAddrs(outputs[i])[0] : undefined));
}

/** netlink.AddrAdd fills in the IPv4 broadcast for prefixes shorter than /31. */
function brdPlus(c: Cidr): string[] {
  return familyOf(c.ip) === 4 && c.prefix < 31 ? ['broadcast', '+'] : [];
}

/** The command that adds `address` (as written, e.g. "10.1.2.3/24") to a link, as netlink.AddrAdd does. */
export function addrAddLine(address: string, dev: string): IpLine {
  const c = parseCidrAsWritten(address);
  if (!c) throw fail(`invalid IP address ${address}`);
  return ['addr', 'add', address, ...brdPlus(c), 'dev', dev];
}

/**
 * Wait until no address on the link is tentative (or until the timeout,
 * which the reference ignores too).
 */
export async function waitAddrsSettled(runner: Runner, netns: string, dev: string, timeoutMs = 10_000, sleep = realSleep): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const links = await listAddrs(runner, netns, dev).catch(() => []);
    const busy = links.some((l) => l.addr_info.some((a) => a.tentative || a.dadfailed));
    if (!busy || Date.now() > deadline) return;
    await sleep(50);
  }
}

export interface AddrChange {
  added?: string;
  removed: string[];
  /** The link's MAC once done, when known without another read. */
  mac?: string;
}

/**
 * The reference's ensureAddr: the gateway CIDR on the link, failing (or, with
 * force, replacing) when another IPv4 / overlapping IPv6 address is there;
 * then the link's MAC is set to `pinMac` so it stops following its ports.
 */
export async function ensureAddr(
  runner: Runner,
  link: string,
  gw: Cidr,
  force: boolean,
  pinMac?: string,
  known?: LinkAddrs,
): Promise<AddrChange> {
  const info = known ?? (await readAddrs(runner, link));
  const want = cidrString(gw);
  const fam = familyOf(gw.ip) === 4 ? 'inet' : 'inet6';
  const removed: string[] = [];
  for (const a of info?.addr_info ?? []) {
    if (a.family !== fam) continue;
    const have = `${normalizeIp(a.local)}/${a.prefixlen}`;
    if (have === want) return {removed: [], mac: info?.address};
    const hc = parseCidrAsWritten(have)!;
    if (familyOf(gw.ip) === 4 || cidrContains(hc, gw.ip) || cidrContains(gw, hc.ip)) {
      if (!force) throw fail(`"${link}" already has an IP address different from ${want}`);
      removed.push(have);
    }
  }
  const lines = [...removed.map((r) => ['addr', 'del', r, 'dev', link]), addrAddLine(want, link)];
  // Pin the MAC (so it stops following the lowest port). A bridge whose ports all
  // left without a pinned MAC reads 00:00:00:00:00:00, which the kernel refuses:
  // then pin what it has now (a port has joined by this point), or nothing.
  const mac = [pinMac, info?.address].find((m) => m && !/^(00:){5}00$/.test(m));
  if (mac) lines.push(['link', 'set', 'dev', link, 'address', mac]);
  try {
    await ipBatch(runner, lines);
  } catch (err) {
    // A concurrent attach on the same bridge may have added the same gateway first: that is success (and not ours to undo).
    if (isExists(err) && removed.length === 0 && (await hasAddr(runner, link, want))) return {removed: []};
    // The batch may have stopped after adding the address: take it back before failing.
    if (!isExists(err) && (await hasAddr(runner, link, want).catch(() => false))) {
      await revertAddr(runner, link, {added: want, removed}).catch(() => undefined);
    }
    throw fail(`could not add IP address to "${link}": ${errnoText(err)}`);
  }
  return {added: want, removed, mac};
}

async function readAddrs(runner: Runner, link: string): Promise<LinkAddrs | undefined> {
  return (await listAddrs(runner, undefined, link))[0];
}

async function hasAddr(runner: Runner, link: string, want: string): Promise<boolean> {
  const info = await readAddrs(runner, link);
  return (info?.addr_info ?? []).some((a) => `${normalizeIp(a.local)}/${a.prefixlen}` === want);
}

/** Undo an ensureAddr: remove what it added, put back what it replaced. */
export async function revertAddr(runner: Runner, link: string, change: AddrChange): Promise<void> {
  const lines = [...(change.added ? [['addr', 'del', change.added, 'dev', link]] : []), ...change.removed.map((r) => addrAddLine(r, link))];
  await ipBatch(runner, lines);
}
