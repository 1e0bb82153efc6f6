import {randomBytes} from 'node:crypto';
import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {canonicalIp, cidrContains, cidrString, parseCidr, type Cidr} from './cidr.js';
import {errnoText, isExists, isNotFound} from './errors.js';
import {inNetns, ipBatch, type LinkInfo, type LinkAddrs} from './ip.js';
import {readSysctl, writeSysctls} from './sysctl.js';
import {brdPlus} from './configure-iface.js';

/**
 * Kernel operations of the bridge plugin (reference pkg/ip + bridge.go
 * helpers), all through iproute2: reads with `ip -j`, writes batched.
 */
const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `ip -j -d link show dev NAME`, or undefined when there is no such link. */
export async function linkByName(runner: Runner, name: string, netns?: string): Promise<LinkInfo | undefined> {
  try {
    const {stdout} = await inNetns(runner, netns).run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
    const links = JSON.parse(stdout.trim() || '[]') as LinkInfo[];
    return links[0];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Delete a link; a missing link is success. */
export async function delLink(runner: Runner, name: string, netns?: string): Promise<void> {
  try {
    await inNetns(runner, netns).run('ip', ['link', 'del', 'dev', name]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Did nsenter fail because the namespace path does not exist? */
export function isNetnsMissing(err: unknown): boolean {
  return err instanceof CommandError && /nsenter: cannot open .*No such file or directory/i.test(err.stderr);
}

export interface BridgeSpec {
  name: string;
  mtu: number;
  promisc: boolean;
}

/** Create the bridge if needed, check it is one, set promisc and up. */
export async function ensureBridge(runner: Runner, spec: BridgeSpec): Promise<{link: LinkInfo; created: boolean}> {
  let link = await linkByName(runner, spec.name);
  let created = false;
  if (!link) {
    const argv = ['link', 'add', spec.name, ...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'type', 'bridge'];
    try {
      await runner.run('ip', argv);
      created = true;
    } catch (err) {
      if (!isExists(err)) throw fail(`could not add "${spec.name}": ${errnoText(err)}`);
    }
    link = await linkByName(runner, spec.name);
    if (!link) throw fail(`could not lookup "${spec.name}": Link not found`);
  }
  if (link.linkinfo?.info_kind !== 'bridge') throw fail(`"${spec.name}" already exists but is not a bridge`);
  await runner.run('ip', ['link', 'set', 'dev', spec.name, ...(spec.promisc ? ['promisc', 'on'] : []), 'up']);
  return {link, created};
}

/** Delete a bridge we created, unless some other attachment has joined it meanwhile. */
export async function delBridgeIfUnused(runner: Runner, name: string): Promise<void> {
  const {stdout} = await runner.run('ip', ['-j', 'link', 'show', 'master', name], {reject: false});
  const ports = JSON.parse(stdout.trim() || '[]') as LinkInfo[];
  if (ports.length === 0) await delLink(runner, name);
}

/** `veth` + 8 hex digits, as the reference's RandomVethName. */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

/** A random unicast, locally administered MAC (what the kernel would pick). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface VethSpec {
  netns: string;
  ifname: string;
  mtu: number;
  /** Container-side MAC; a random one when empty. */
  mac?: string;
}

/**
 * Create the pair from the host: the host end `vethXXXXXXXX` here, the
 * container end named `ifname` directly in the container namespace.
 */
export async function createVeth(runner: Runner, spec: VethSpec, nameFn = randomVethName): Promise<{hostName: string; containerMac: string}> {
  const raw = (spec.mac || randomMac()).toLowerCase();
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/.test(raw)) throw fail(`address ${spec.mac}: invalid MAC address`);
  const mac = raw.replace(/-/g, ':');
  // netlink.Veth in the reference sends IFLA_TXQLEN 0 for both ends.
  const mtu = [...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'txqlen', '0'];
  for (let i = 0; i < 10; i++) {
    const hostName = nameFn();
    try {
      await runner.run('ip', ['link', 'add', hostName, ...mtu, 'type', 'veth', 'peer', 'name', spec.ifname, ...mtu, 'address', mac, 'netns', spec.netns]);
      return {hostName, containerMac: mac};
    } catch (err) {
      if (err instanceof CommandError && /"netns" value/.test(err.stderr)) {
        throw fail(`failed to open netns "${spec.netns}": failed to Statfs "${spec.netns}": no such file or directory`);
      }
      if (!isExists(err)) throw fail(`failed to make veth pair: ${errnoText(err)}`);
      if (await linkByName(runner, hostName)) continue;
      throw fail(`container veth name provided (${spec.ifname}) already exists`);
    }
  }
  throw fail('failed to find a unique veth name');
}

export interface PortSpec {
  hostName: string;
  bridge: string;
  hairpin: boolean;
  isolated?: boolean;
}

/** Host end up, enslaved to the bridge, hairpin (and isolation) set. */
export async function attachPort(runner: Runner, p: PortSpec): Promise<void> {
  const slave = ['link', 'set', 'dev', p.hostName, 'type', 'bridge_slave', 'hairpin', p.hairpin ? 'on' : 'off'];
  if (p.isolated !== undefined) slave.push('isolated', p.isolated ? 'on' : 'off');
  try {
    await ipBatch(runner, [['link', 'set', 'dev', p.hostName, 'up'], ['link', 'set', 'dev', p.hostName, 'master', p.bridge], slave]);
  } catch (err) {
    throw fail(`failed to connect "${p.hostName}" to bridge ${p.bridge}: ${errnoText(err)}`);
  }
}

export interface AddrChange {
  added?: string;
  removed: string[];
}

/**
 * The reference's ensureAddr: the gateway CIDR on the link, failing (or, with
 * force, replacing) when another IPv4 / overlapping IPv6 address is there;
 * then the link's MAC is set to `pinMac` so it stops following its ports.
 */
export async function ensureAddr(runner: Runner, link: string, gw: Cidr, force: boolean, pinMac?: string): Promise<AddrChange> {
  const {stdout} = await runner.run('ip', ['-j', 'addr', 'show', 'dev', link]);
  const info = (JSON.parse(stdout.trim() || '[]') as LinkAddrs[])[0];
  const want = cidrString(gw);
  const fam = gw.ip.family === 4 ? 'inet' : 'inet6';
  const removed: string[] = [];
  for (const a of info?.addr_info ?? []) {
    if (a.family !== fam) continue;
    const have = `${canonicalIp(a.local)}/${a.prefixlen}`;
    if (have === want) return {removed: []};
    const hc = parseCidr(have)!;
    if (gw.ip.family === 4 || cidrContains(hc, gw.ip) || cidrContains(gw, hc.ip)) {
      if (!force) throw fail(`"${link}" already has an IP address different from ${want}`);
      removed.push(have);
    }
  }
  const lines = [...removed.map((r) => ['addr', 'del', r, 'dev', link]), ['addr', 'add', want, ...brdPlus(gw), 'dev', link]];
  // Pin the MAC (so it stops following the lowest port). A bridge whose ports all
  // left without a pinned MAC reads 00:00:00:00:00:00, which the kernel refuses:
  // then pin what it has now (a port has joined by this point), or nothing.
  const mac = [pinMac, info?.address].find((m) => m && !/^(00:){5}00$/.test(m));
  if (mac) lines.push(['link', 'set', 'dev', link, 'address', mac]);
  try {
    await ipBatch(runner, lines);
  } catch (err) {
    // A concurrent attach on the same bridge may have added the same gateway first: that is success (and not ours to undo).
    if (isExists(err) && removed.length === 0 && (await bridgeHasAddr(runner, link, want))) return {removed: []};
    // The batch may have stopped after adding the address: take it back before failing.
    if (!isExists(err) && (await bridgeHasAddr(runner, link, want).catch(() => false))) {
      await revertAddr(runner, link, {added: want, removed}).catch(() => undefined);
    }
    throw fail(`could not add IP address to "${link}": ${errnoText(err)}`);
  }
  return {added: want, removed};
}

async function bridgeHasAddr(runner: Runner, link: string, want: string): Promise<boolean> {
  const {stdout} = await runner.run('ip', ['-j', 'addr', 'show', 'dev', link]);
  const info = (JSON.parse(stdout.trim() || '[]') as LinkAddrs[])[0];
  return (info?.addr_info ?? []).some((a) => `${canonicalIp(a.local)}/${a.prefixlen}` === want);
}

/** Undo an ensureAddr: remove what it added, put back what it replaced. */
export async function revertAddr(runner: Runner, link: string, change: AddrChange): Promise<void> {
  const back = (r: string): string[] => ['addr', 'add', r, ...brdPlus(parseCidr(r)!), 'dev', link];
  const lines = [...(change.added ? [['addr', 'del', change.added, 'dev', link]] : []), ...change.removed.map(back)];
  await ipBatch(runner, lines);
}

/** Write ip_forward / ipv6 all.forwarding = 1 only where they are not 1 yet. */
export async function enableForwarding(runner: Runner, families: (4 | 6)[]): Promise<void> {
  const key = (f: 4 | 6): string => (f === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding');
  const todo: Record<string, string> = {};
  for (const f of families) {
    if ((await readSysctl(runner, key(f))) !== '1') todo[key(f)] = '1';
  }
  await writeSysctls(runner, todo);
}

/** Poll the host veth until it is oper-UP (reference retry schedule); return it. */
export async function waitPortUp(runner: Runner, hostName: string, sleep = realSleep): Promise<LinkInfo> {
  const schedule = [0, 50, 500, 1000, 1000];
  let last: LinkInfo | undefined;
  for (const ms of schedule) {
    if (ms) await sleep(ms);
    last = await linkByName(runner, hostName);
    if (!last) throw fail(`failed to lookup "${hostName}": Link not found`);
    if (last.operstate === 'UP') return last;
  }
  throw fail(`bridge port in error state: ${last?.operstate ?? 'unknown'}`);
}
