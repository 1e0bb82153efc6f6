import {randomBytes} from 'node:crypto';
import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {cidrContains, cidrString, familyOf, normalizeIp, parseCidrAsWritten, type Cidr} from '../util/ip.js';
import {errnoText, isExists, isNotFound} from './errors.js';
import {failedBatchLine, inNetns, ipBatch, ipJsonBatch, type LinkInfo, type LinkAddrs} from './ip.js';
import {procSysctl, type HostSysctl} from './sysctl.js';
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

/**
 * Create the bridge if needed, check it is one, set promisc and up. A new
 * bridge is added, set up and read back in one `ip` process; an existing one
 * that is already up (and promiscuous when asked) is only read.
 */
export async function ensureBridge(runner: Runner, spec: BridgeSpec): Promise<{link: LinkInfo; created: boolean}> {
  const up = ['link', 'set', 'dev', spec.name, ...(spec.promisc ? ['promisc', 'on'] : []), 'up'];
  let link = await linkByName(runner, spec.name);
  if (!link) {
    const add = ['link', 'add', spec.name, ...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'type', 'bridge'];
    try {
      const {outputs} = await ipJsonBatch(runner, [add, up, ['link', 'show', 'dev', spec.name]]);
      link = (outputs[0] as LinkInfo[] | undefined)?.[0];
      if (!link) throw fail(`could not lookup "${spec.name}": Link not found`);
      return {link, created: true};
    } catch (err) {
      if (err instanceof CniError) throw err;
      // Someone else created it first: go on with theirs, as below.
      if (!isExists(err) || (err instanceof CommandError && failedBatchLine(err.stderr) !== 1)) throw fail(`could not add "${spec.name}": ${errnoText(err)}`);
    }
    link = await linkByName(runner, spec.name);
    if (!link) throw fail(`could not lookup "${spec.name}": Link not found`);
  }
  if (link.linkinfo?.info_kind !== 'bridge') throw fail(`"${spec.name}" already exists but is not a bridge`);
  if (!link.flags.includes('UP') || (spec.promisc && !link.flags.includes('PROMISC'))) await runner.run('ip', up);
  return {link, created: false};
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

export interface PortSpec {
  bridge: string;
  hairpin: boolean;
  isolated?: boolean;
}

function portLines(hostName: string, p: PortSpec): string[][] {
  const slave = ['link', 'set', 'dev', hostName, 'type', 'bridge_slave', 'hairpin', p.hairpin ? 'on' : 'off'];
  if (p.isolated !== undefined) slave.push('isolated', p.isolated ? 'on' : 'off');
  return [['link', 'set', 'dev', hostName, 'up'], ['link', 'set', 'dev', hostName, 'master', p.bridge], slave];
}

/** The container end's MAC: the configured one (normalised) or a random one. */
function vethMac(spec: VethSpec): string {
  const raw = (spec.mac || randomMac()).toLowerCase();
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/.test(raw)) throw fail(`address ${spec.mac}: invalid MAC address`);
  return raw.replace(/-/g, ':');
}

/** The pair (host end `hostName`, container end in its namespace) and the host end's port set-up. */
function vethLines(hostName: string, spec: VethSpec, mac: string, port: PortSpec): string[][] {
  // netlink.Veth in the reference sends IFLA_TXQLEN 0 for both ends.
  const mtu = [...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'txqlen', '0'];
  return [['link', 'add', hostName, ...mtu, 'type', 'veth', 'peer', 'name', spec.ifname, ...mtu, 'address', mac, 'netns', spec.netns], ...portLines(hostName, port)];
}

/**
 * The usual ADD, on a bridge that is already there and up, in one `ip`
 * process: read the bridge (before the new port can change its MAC, as
 * ensureBridge reads it) and make the veth pair on it. Undefined when that
 * does not hold (no such bridge yet, not a bridge, down, not promiscuous as
 * asked, a name taken): whatever the attempt made is deleted again, and the
 * caller takes the step-by-step path (ensureBridge, createVeth), which
 * handles and reports each of those cases.
 */
export async function vethOnExistingBridge(runner: Runner, br: BridgeSpec, spec: VethSpec, port: PortSpec, nameFn = randomVethName): Promise<{link: LinkInfo; hostName: string; containerMac: string} | undefined> {
  const mac = vethMac(spec);
  const hostName = nameFn();
  const {outputs, run} = await ipJsonBatch(runner, [['link', 'show', 'dev', br.name], ...vethLines(hostName, spec, mac, port)], undefined, false);
  const link = (outputs[0] as LinkInfo[] | undefined)?.[0];
  const usable = run.exitCode === 0 && link?.linkinfo?.info_kind === 'bridge' && link.flags.includes('UP') && (!br.promisc || link.flags.includes('PROMISC'));
  if (usable) return {link, hostName, containerMac: mac};
  // Stopped at the bridge read or the pair itself: nothing was made.
  const line = run.exitCode === 0 ? undefined : failedBatchLine(run.stderr);
  if (line === undefined || line > 2) await delLink(runner, hostName);
  return undefined;
}

/**
 * Create the pair from the host: the host end `vethXXXXXXXX` here, the
 * container end named `ifname` directly in the container namespace; then the
 * host end up, enslaved to the bridge, hairpin (and isolation) set. All of it
 * is one `ip -batch`; a failure after the pair exists deletes the pair.
 */
export async function createVeth(runner: Runner, spec: VethSpec, port: PortSpec, nameFn = randomVethName): Promise<{hostName: string; containerMac: string}> {
  const mac = vethMac(spec);
  for (let i = 0; i < 10; i++) {
    const hostName = nameFn();
    try {
      await ipBatch(runner, vethLines(hostName, spec, mac, port));
      return {hostName, containerMac: mac};
    } catch (err) {
      if (err instanceof CommandError && (failedBatchLine(err.stderr) ?? 1) > 1) {
        await delLink(runner, hostName).catch(() => undefined);
        throw fail(`failed to connect "${hostName}" to bridge ${port.bridge}: ${errnoText(err)}`);
      }
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

export interface AddrChange {
  added?: string;
  removed: string[];
  /** The bridge's MAC once done, when known without another read. */
  mac?: string;
}

/**
 * The reference's ensureAddr: the gateway CIDR on the link, failing (or, with
 * force, replacing) when another IPv4 / overlapping IPv6 address is there;
 * then the link's MAC is set to `pinMac` so it stops following its ports.
 */
export async function ensureAddr(runner: Runner, link: string, gw: Cidr, force: boolean, pinMac?: string, known?: LinkAddrs): Promise<AddrChange> {
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
  return {added: want, removed, mac};
}

async function readAddrs(runner: Runner, link: string): Promise<LinkAddrs | undefined> {
  const {stdout} = await runner.run('ip', ['-j', 'addr', 'show', 'dev', link]);
  return (JSON.parse(stdout.trim() || '[]') as LinkAddrs[])[0];
}

async function bridgeHasAddr(runner: Runner, link: string, want: string): Promise<boolean> {
  const info = await readAddrs(runner, link);
  return (info?.addr_info ?? []).some((a) => `${normalizeIp(a.local)}/${a.prefixlen}` === want);
}

/** Undo an ensureAddr: remove what it added, put back what it replaced. */
export async function revertAddr(runner: Runner, link: string, change: AddrChange): Promise<void> {
  const back = (r: string): string[] => ['addr', 'add', r, ...brdPlus(parseCidrAsWritten(r)!), 'dev', link];
  const lines = [...(change.added ? [['addr', 'del', change.added, 'dev', link]] : []), ...change.removed.map(back)];
  await ipBatch(runner, lines);
}

/** Write ip_forward / ipv6 all.forwarding = 1 (host, in-process) only where they are not 1 yet. */
export function enableForwarding(families: (4 | 6)[], sys: HostSysctl = procSysctl): void {
  const key = (f: 4 | 6): string => (f === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding');
  for (const f of families) {
    if (sys.read(key(f)) !== '1') sys.write(key(f), '1');
  }
}

/** The host veth and the bridge with their addresses, read in one `ip` process. */
export async function readPortAndBridge(runner: Runner, hostName: string, bridge: string): Promise<{port?: LinkAddrs; bridge?: LinkAddrs}> {
  const {outputs} = await ipJsonBatch(runner, [['addr', 'show', 'dev', hostName], ['addr', 'show', 'dev', bridge]], undefined, false);
  const [port, br] = outputs.map((o) => (o as LinkAddrs[])[0]);
  return {port, bridge: br};
}

/**
 * Poll the host veth until it is oper-UP (reference retry schedule); return
 * it. `first` is a read already made, standing for the first poll.
 */
export async function waitPortUp(runner: Runner, hostName: string, sleep = realSleep, first?: {operstate?: string; address?: string}): Promise<{operstate?: string; address?: string}> {
  const schedule = [0, 50, 500, 1000, 1000];
  let last: {operstate?: string; address?: string} | undefined;
  for (const [i, ms] of schedule.entries()) {
    if (ms) await sleep(ms);
    last = i === 0 && first ? first : await linkByName(runner, hostName);
    if (!last) throw fail(`failed to lookup "${hostName}": Link not found`);
    if (last.operstate === 'UP') return last;
  }
  throw fail(`bridge port in error state: ${last?.operstate ?? 'unknown'}`);
}

/**
 * DEL's read-then-delete of the container link in one `ip` process inside
 * the namespace: every link's addresses (as before the delete), then the link
 * deleted (a missing link is fine). Undefined when the namespace is gone.
 */
export async function readAddrsAndDelLink(runner: Runner, netns: string, ifname: string): Promise<LinkAddrs[] | undefined> {
  let res;
  try {
    res = await ipJsonBatch(runner, [['addr', 'show'], ['link', 'del', 'dev', ifname]], netns, false);
  } catch (err) {
    if (isNetnsMissing(err)) return undefined;
    throw err;
  }
  const {outputs, run} = res;
  if (run.exitCode !== 0) {
    const err = new CommandError(['nsenter', `--net=${netns}`, '--', 'ip', '-j', '-d', '-batch', '-'], run.exitCode, run.stdout, run.stderr);
    if (isNetnsMissing(err)) return undefined;
    if (!(outputs.length === 1 && failedBatchLine(run.stderr) === 2 && isNotFound(err))) throw err;
  }
  return (outputs[0] ?? []) as LinkAddrs[];
}
