import type {Plugin, PluginContext} from '../exec/plugin.js';
import type {ValidAttachments} from '../cni/gc-args.js';
import type {CmdArgs, Result} from '../cni/types.js';
import {CniError, ErrorCode, toCniError} from '../cni/errors.js';
import {validateNetworkName} from '../cni/validate.js';
import {validAttachments} from '../cni/gc-args.js';
import {delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus} from './delegate.js';
import {calcGateways, parseConf, refuseUnsupported, type BridgeConf} from './bridge-conf.js';
import {checkAttachment, prevResultOf} from './bridge-check.js';
import {configureIface} from './configure-iface.js';
import {UndoStack} from '../util/undo.js';
import {allInOrder, inFlight} from '../util/concurrency.js';
import {errorText} from '../util/error-text.js';
import {isGlobalUnicast, normalizeIp, parseAddr, type Cidr, type Family} from '../util/ip.js';
import {ensureAddr, readLinksAddrs, revertAddr, type LinkAddrs} from '../net/addr.js';
import {delLink, getLink, readAddrsAndDelLink, setLinkUp, type LinkInfo} from '../net/link.js';
import {delBridgeIfUnused, ensureBridge, waitPortUp} from '../net/link-bridge.js';
import {createVeth, vethOnExistingBridge, type Veth} from '../net/link-veth.js';
import {
  masqChainName,
  masqComment,
  masqOwners,
  setupIpMasq,
  teardownIpMasq,
  type JumpSelector,
  type MasqTarget,
} from '../net/iptables-masq.js';
import {readNatTable} from '../net/iptables.js';
import {delNftMasqRules, nftMasqOwners, resolveMasqBackend, setupNftMasq, teardownBackend, teardownNftMasq} from '../net/nft-masq.js';
import {setupSpoofCheck, teardownSpoofCheck} from '../net/nft-spoofchk.js';
import {enableForwarding, procSysctl, writeHostSysctlsBestEffort, writeSysctlsBestEffort, type HostSysctl} from '../net/sysctl.js';

/**
 * The bridge plugin (reference plugins/main/bridge, Debian 1.1.1 behaviour).
 * ADD is the reference's cmdAdd as named steps over one rollback stack:
 * setupBridge, setupVeth, setupSpoofCheck, allocateIpam, configureContainer
 * (alongside setupMasquerade), waitHostVethUp, setupGateways, refetchBridge.
 * The config, its parsing and calcGateways are in bridge-conf.ts; CHECK is
 * in bridge-check.ts.
 */

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

export interface IpamOps {
  add(ctx: PluginContext, type: string, args: CmdArgs): Promise<Result>;
  del(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
  check(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
  gc?(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
  status?(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
}

const delegateIpam: IpamOps = {add: delegateAdd, del: delegateDel, check: delegateCheck, gc: delegateGc, status: delegateStatus};

export interface BridgeOptions {
  ipam?: IpamOps;
  sleep?: (ms: number) => Promise<void>;
  /** Host-namespace sysctls (in-process /proc/sys by default). */
  sysctl?: HostSysctl;
}

/** What the bridge's commands are given besides the plugin context (tests replace them). */
interface Parts {
  ipam: IpamOps;
  sys: HostSysctl;
  sleep?: (ms: number) => Promise<void>;
}

/** One ADD in progress: its inputs, its rollback stack, and what the steps so far have made. */
interface Add extends Parts {
  ctx: PluginContext;
  args: CmdArgs;
  c: BridgeConf;
  undo: UndoStack;
  bridge?: {link: LinkInfo; created: boolean};
  veth?: Veth;
  result: Result;
  /** Gateway CIDRs for the bridge, per family (from IPAM's addresses). */
  gws: Record<Family, Cidr[]>;
  /** The bridge's addresses as last read, while still current. */
  bridgeAddrs?: LinkAddrs;
  /** The bridge's MAC once known after the port joined. */
  bridgeMac?: string;
}

const bridgeSpec = (c: BridgeConf) => ({name: c.bridge, mtu: c.mtu, promisc: c.promiscMode});
const vethSpec = (a: Add) => ({netns: a.args.netns, ifname: a.args.ifname, mtu: a.c.mtu, mac: a.c.mac});
const portSpec = (c: BridgeConf) => ({bridge: c.bridge, hairpin: c.hairpinMode, isolated: c.portIsolation || undefined});

/**
 * The bridge, made if needed (reference setupBridge). It is usually there
 * already: then it is read and the veth pair made on it in one process, and
 * setupVeth has nothing left to do.
 */
async function setupBridge(a: Add): Promise<void> {
  const {runner} = a.ctx;
  const {c, undo} = a;
  let quick;
  try {
    quick = await vethOnExistingBridge(runner, bridgeSpec(c), vethSpec(a), portSpec(c));
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw fail(`failed to create bridge "${c.bridge}": ${errorText(err)}`);
  }
  if (quick) {
    a.veth = quick;
    undo.push(`delete veth ${quick.hostName}`, () => delLink(runner, quick.hostName));
  }
  try {
    a.bridge = quick ? {link: quick.link, created: false} : await ensureBridge(runner, bridgeSpec(c));
  } catch (err) {
    throw fail(`failed to create bridge "${c.bridge}": ${errorText(err)}`);
  }
  if (a.bridge.created) undo.push(`delete bridge ${c.bridge}`, () => delBridgeIfUnused(runner, c.bridge));
  a.ctx.hooks?.crashPoint('bridge:bridge');
  const oldRa = a.bridge.created ? undefined : a.sys.read(`net/ipv6/conf/${c.bridge}/accept_ra`);
  if (oldRa !== undefined && oldRa !== '0') {
    undo.push(`restore accept_ra of ${c.bridge}`, async () =>
      writeHostSysctlsBestEffort({[`net/ipv6/conf/${c.bridge}/accept_ra`]: oldRa}, a.sys),
    );
  }
}

/** The veth pair, its host end a port of the bridge (reference setupVeth): one `ip -batch`. */
async function setupVeth(a: Add): Promise<Veth> {
  const {runner} = a.ctx;
  if (!a.veth) {
    const made = await createVeth(runner, vethSpec(a), portSpec(a.c));
    a.veth = made;
    a.undo.push(`delete veth ${made.hostName}`, () => delLink(runner, made.hostName));
  }
  a.ctx.hooks?.crashPoint('bridge:veth');
  writeHostSysctlsBestEffort({[`net/ipv6/conf/${a.c.bridge}/accept_ra`]: '0', [`net/ipv6/conf/${a.veth.hostName}/accept_ra`]: '0'}, a.sys);
  a.result.interfaces = [
    {name: a.c.bridge, mac: a.bridge!.link.address},
    {name: a.veth.hostName},
    {name: a.args.ifname, mac: a.veth.containerMac, sandbox: a.args.netns},
  ];
  return a.veth;
}

/**
 * The container interface's DAD and ARP sysctls, written as the reference
 * does before its addresses, failures ignored. Its own process in the
 * namespace, run while the host side goes on.
 */
function setContainerSysctls(a: Add): Promise<void> {
  const ifname = a.args.ifname;
  const dad = a.c.enabledad
    ? {[`net/ipv6/conf/${ifname}/enhanced_dad`]: '1', [`net/ipv6/conf/${ifname}/accept_dad`]: '1'}
    : {[`net/ipv6/conf/${ifname}/accept_dad`]: '0'};
  return writeSysctlsBestEffort(a.ctx.runner, {...dad, [`net/ipv4/conf/${ifname}/arp_notify`]: '1'}, a.args.netns);
}

async function setupMacSpoofCheck(a: Add, veth: Veth): Promise<void> {
  if (!a.c.macspoofchk) return;
  const {runner} = a.ctx;
  await setupSpoofCheck(runner, {hostIface: veth.hostName, mac: veth.containerMac, containerId: a.args.containerId, ifname: a.args.ifname});
  a.undo.push('remove mac spoof-check', () => teardownSpoofCheck(runner, a.args.containerId, a.args.ifname));
}

/**
 * The addresses from IPAM and the gateways they imply. After the links, as
 * the reference: a set-up that fails first leaves the IPAM store untouched
 * (an allocation and release would still move host-local's last_reserved_ip).
 */
async function allocateIpam(a: Add, type: string): Promise<void> {
  const r = await a.ipam.add(a.ctx, type, a.args);
  a.undo.push(`release IPAM (${type})`, () => a.ipam.del(a.ctx, type, a.args));
  a.ctx.hooks?.crashPoint('bridge:ipam');
  a.result.ips = (r.ips ?? []).map((i) => ({...i}));
  a.result.routes = (r.routes ?? []).map((x) => ({...x}));
  if (a.result.ips.length === 0) throw fail('IPAM plugin returned missing IP config');
  a.gws = calcGateways(a.result.ips, a.result.routes, a.c).gws;
  if (a.result.routes.length === 0) delete a.result.routes;
}

function masqTarget(c: BridgeConf, containerId: string): MasqTarget {
  return {chain: masqChainName(c.name, containerId), comment: masqComment(c.name, containerId)};
}

/** The masquerade rules of the addresses (their undo registered before they are written). */
async function setupMasquerade(a: Add): Promise<void> {
  if (!a.c.ipMasq) return;
  const {runner} = a.ctx;
  const addrs = a.result.ips!.map((i) => i.address);
  if (resolveMasqBackend(a.c.ipMasqBackend) === 'nftables') {
    const inst = {network: a.c.name, ifname: a.args.ifname, containerId: a.args.containerId};
    a.undo.push('remove nftables masquerade rules', () => teardownNftMasq(runner, inst));
    await setupNftMasq(runner, inst, addrs);
    return;
  }
  const target = masqTarget(a.c, a.args.containerId);
  a.undo.push('remove masquerade rules', () => teardownIpMasq(runner, target, {kind: 'ips', ips: addrs.map((x) => x.split('/')[0])}));
  await setupIpMasq(runner, target, addrs);
}

/** The container interface's addresses, routes and state (reference ipam.ConfigureIface), once its sysctls are written. */
async function configureContainer(a: Add, sysctls: Promise<void>): Promise<void> {
  await sysctls;
  await configureIface(a.ctx.runner, a.args.netns, a.args.ifname, a.result, {sleep: a.sleep});
}

/** The host end of the pair oper-UP, read with the bridge's addresses; polled further only if not up yet. */
async function waitHostVethUp(a: Add): Promise<void> {
  const hostName = a.veth!.hostName;
  const [port, bridge] = await readLinksAddrs(a.ctx.runner, [hostName, a.c.bridge]);
  const up = await waitPortUp(a.ctx.runner, hostName, a.sleep, port);
  a.result.interfaces![1].mac = up.address;
  a.bridgeMac = bridge?.address;
  a.bridgeAddrs = bridge;
}

/** The gateway addresses on the bridge (its MAC pinned) and forwarding on (reference isGW). */
async function setupGateways(a: Add): Promise<void> {
  if (!a.c.isGateway) return;
  const {runner} = a.ctx;
  for (const f of [4, 6] as const) {
    for (const gw of a.gws[f]) {
      let change;
      try {
        change = await ensureAddr(runner, a.c.bridge, gw, a.c.forceAddress, a.bridge!.link.address, a.bridgeAddrs);
      } catch (err) {
        throw fail(`failed to set bridge addr: ${errorText(err)}`);
      }
      a.bridgeAddrs = undefined;
      a.bridgeMac = change.mac;
      a.undo.push(`restore addresses of ${a.c.bridge}`, () => revertAddr(runner, a.c.bridge, change));
    }
  }
  try {
    enableForwarding(
      ([4, 6] as const).filter((f) => a.gws[f].length > 0),
      a.sys,
    );
  } catch (err) {
    throw fail(`failed to enable forwarding: ${errorText(err)}`);
  }
}

/** Without IPAM the container end still has to be up (reference L2 path). */
async function setContainerUp(a: Add): Promise<void> {
  try {
    await setLinkUp(a.ctx.runner, a.args.ifname, a.args.netns);
  } catch (err) {
    throw fail(`failed to set "${a.args.ifname}" up: ${errorText(err)}`);
  }
}

/** The bridge's MAC may have changed when the first port joined: read again unless known since (and the host end's, if not yet known). */
async function refetchBridge(a: Add): Promise<void> {
  const ifaces = a.result.interfaces!;
  if (!a.bridgeMac) {
    const br = await getLink(a.ctx.runner, a.c.bridge);
    if (!br) throw fail(`could not lookup "${a.c.bridge}": Link not found`);
    a.bridgeMac = br.address;
  }
  ifaces[0].mac = a.bridgeMac;
  if (!ifaces[1].mac) {
    const port = await getLink(a.ctx.runner, ifaces[1].name);
    if (!port) throw fail(`failed to lookup "${ifaces[1].name}": Link not found`);
    ifaces[1].mac = port.address;
  }
  // A copy: the parsed conf is shared with the next call of the same bytes (parseConf).
  if (a.c.dns) a.result.dns = structuredClone(a.c.dns);
}

/** host-local's config errors before the bridge is made (the reference meets them only after creating it). */
async function preflightHostLocal(args: CmdArgs): Promise<void> {
  const {parseConf: parseIpam} = await import('../ipam/host-local/config.js');
  let name: string;
  try {
    name = parseIpam(args.stdin, args.args).name;
  } catch (err) {
    throw toCniError(err);
  }
  validateNetworkName(name);
}

/** Bare IPs that prevResult (else the runtime's cached result) gave this ifname; none when absent or unparsable. */
function prevResultIps(c: BridgeConf, args: CmdArgs): string[] {
  try {
    const prev = prevResultOf(c) ?? args.cachedResult;
    if (!prev) return [];
    const ifaces = prev.interfaces ?? [];
    return (prev.ips ?? [])
      .filter((i) => i.interface === undefined || ifaces[i.interface]?.name === args.ifname)
      .map((i) => i.address.split('/')[0]);
  } catch {
    return [];
  }
}

/**
 * The masquerade jumps DEL still has to remove once the namespace's
 * addresses are read: those of the deleted link and the known ones, less
 * those already torn down (`early`); when none is known, every jump of the
 * chain except those of addresses still on other links. All of them when the
 * namespace was gone.
 */
function remainingMasq(links: LinkAddrs[] | undefined, ifname: string, prevIps: string[], early: boolean): JumpSelector | undefined {
  if (!links) return {kind: 'all'};
  // The kernel derives an IPv6 address's scope from the address itself: link
  // and host scope are fe80::/10 and ::1, never global unicast, so they are not parsed.
  const globalIps = (l: LinkAddrs): string[] =>
    l.addr_info
      .filter((x) => !(x.family === 'inet6' && (x.scope === 'link' || x.scope === 'host')))
      .map((x) => x.local)
      .filter((ip) => {
        const p = parseAddr(ip);
        return p !== undefined && isGlobalUnicast(p);
      });
  const mine = links.find((l) => l.ifname === ifname);
  const known = [...new Set([...(mine ? globalIps(mine) : []), ...prevIps])];
  if (!early)
    return known.length > 0
      ? {kind: 'ips', ips: known}
      : {kind: 'except', ips: links.filter((l) => l.ifname !== ifname).flatMap(globalIps)};
  const done = new Set(prevIps.map(normalizeIp));
  const extra = known.filter((ip) => !done.has(normalizeIp(ip)));
  return extra.length > 0 ? {kind: 'ips', ips: extra} : undefined;
}

/** The iptables masquerade chains of this network whose container has no valid attachment, each removed (errors collected). */
async function gcIptablesMasq(ctx: PluginContext, c: BridgeConf, valid: ValidAttachments, errors: string[]): Promise<void> {
  const stale = new Map<string, string>();
  for (const f of [4, 6] as const) {
    for (const o of masqOwners(await readNatTable(ctx.runner, f)))
      if (o.network === c.name && !valid.containerIds.has(o.containerId)) stale.set(o.chain, o.containerId);
  }
  for (const [chain, id] of stale) {
    await teardownIpMasq(ctx.runner, {chain, comment: masqComment(c.name, id)}, {kind: 'all'}).catch((e: unknown) =>
      errors.push(`${chain}: ${errorText(e)}`),
    );
  }
}

/** The nftables masquerade rules of this network's attachments that are not valid, removed in one transaction. */
async function gcNftMasq(ctx: PluginContext, c: BridgeConf, valid: ValidAttachments): Promise<void> {
  const stale = (await nftMasqOwners(ctx.runner)).filter((o) => o.network === c.name && !valid.has(o.containerId, o.ifname));
  await delNftMasqRules(
    ctx.runner,
    stale.flatMap((o) => o.handles),
  );
}

async function add(p: Parts, ctx: PluginContext, args: CmdArgs): Promise<Result> {
  const c = parseConf(args.stdin, args.args);
  refuseUnsupported(c);
  if (c.ipamType === 'host-local') await preflightHostLocal(args);
  return UndoStack.run(ctx.log, async (undo) => {
    const a: Add = {ctx, args, c, undo, ...p, result: {cniVersion: c.cniVersion}, gws: {4: [], 6: []}};
    await setupBridge(a);
    const veth = await setupVeth(a);
    const sysctls = c.ipamType ? inFlight(setContainerSysctls(a)) : undefined;
    await setupMacSpoofCheck(a, veth);
    if (c.ipamType) {
      await allocateIpam(a, c.ipamType);
      // The masquerade rules depend on the addresses only: written while the container side is configured.
      const masq = inFlight(setupMasquerade(a));
      await allInOrder([inFlight(configureContainer(a, sysctls!)), masq]);
      ctx.hooks?.crashPoint('bridge:configured');
      await waitHostVethUp(a);
      await setupGateways(a);
    } else if (!c.disableContainerInterface) {
      await setContainerUp(a);
    }
    await refetchBridge(a);
    return a.result;
  });
}

async function releaseIpam(p: Parts, ctx: PluginContext, c: BridgeConf, args: CmdArgs): Promise<void> {
  if (c.ipamType) await p.ipam.del(ctx, c.ipamType, args);
}

/**
 * DEL. The usual one names its addresses in the cached result (prevResult,
 * or for configs before 0.4.0 the runtime's cache): their masquerade
 * teardown and the IPAM release run alongside the link delete (each waits
 * out a kernel RCU grace period or a lock; concurrent waits overlap). The
 * reference releases the IPAM first; nothing in the link delete depends on
 * it, and a failed release fails the DEL either way. Addresses the
 * namespace shows beyond the known ones are torn down after.
 */
async function del(p: Parts, ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseConf(args.stdin, args.args);
  const {runner} = ctx;
  const masq = Boolean(c.ipamType) && c.ipMasq;
  const prevIps = prevResultIps(c, args);
  const target = masqTarget(c, args.containerId);
  let remaining: JumpSelector | undefined = prevIps.length > 0 ? {kind: 'ips', ips: prevIps} : {kind: 'all'};
  if (args.netns) {
    // The link delete, the longest, goes first; it reads the namespace's addresses in the same process.
    const deleting = inFlight(readAddrsAndDelLink(runner, args.netns, args.ifname));
    const early = masq && prevIps.length > 0 ? inFlight(teardownIpMasq(runner, target, {kind: 'ips', ips: prevIps})) : undefined;
    const released = inFlight(releaseIpam(p, ctx, c, args));
    const [, links] = await allInOrder([released, deleting, early ?? Promise.resolve()]);
    remaining = remainingMasq(links, args.ifname, prevIps, early !== undefined);
  } else {
    await releaseIpam(p, ctx, c, args);
  }
  if (c.macspoofchk) await teardownSpoofCheck(runner, args.containerId, args.ifname).catch((err: unknown) => ctx.log.warn(errorText(err)));
  if (masq && teardownBackend(c.ipMasqBackend) === 'nftables')
    await teardownNftMasq(runner, {network: c.name, ifname: args.ifname, containerId: args.containerId});
  if (masq && remaining) await teardownIpMasq(runner, target, remaining);
}

async function check(p: Parts, ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseConf(args.stdin, args.args);
  await checkAttachment(ctx, args, c, () => p.ipam.check(ctx, c.ipamType, args));
}

/**
 * GC (spec 1.1): forwarded to IPAM, then this network's masquerade rules of
 * attachments not in cni.dev/valid-attachments removed (with iptables a
 * chain per container, with nftables rules per attachment). Every part is
 * tried; their errors come back together.
 */
async function gc(p: Parts, ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseConf(args.stdin, args.args);
  const valid = validAttachments(args.stdin);
  const errors: string[] = [];
  const attempt = (what: string, q: Promise<unknown> | undefined): Promise<unknown> | undefined =>
    q?.catch((e: unknown) => errors.push(`${what}: ${errorText(e)}`));
  if (c.ipamType) await attempt('IPAM GC', p.ipam.gc?.(ctx, c.ipamType, args));
  if (c.ipamType && c.ipMasq) {
    if (teardownBackend(c.ipMasqBackend) === 'nftables') await attempt('nftables masquerade', gcNftMasq(ctx, c, valid));
    else await attempt('masquerade', gcIptablesMasq(ctx, c, valid, errors));
  }
  if (errors.length > 0) throw fail(errors.join('; '));
}

/**
 * STATUS (spec 1.1): whether ADD can work here. What ADD refuses of the
 * config, and a link of the bridge's name that is not a bridge, are error
 * 50 (cannot ADD); then IPAM's STATUS, whose error is ours.
 */
async function status(p: Parts, ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseConf(args.stdin, args.args);
  try {
    refuseUnsupported(c);
  } catch (err) {
    throw new CniError(ErrorCode.PluginNotAvailable, toCniError(err).message);
  }
  const link = await getLink(ctx.runner, c.bridge);
  if (link && link.linkinfo?.info_kind !== 'bridge')
    throw new CniError(ErrorCode.PluginNotAvailable, `"${c.bridge}" already exists but is not a bridge`);
  if (c.ipamType) await p.ipam.status?.(ctx, c.ipamType, args);
}

export function makeBridgePlugin(opts: BridgeOptions = {}): Plugin {
  const p: Parts = {ipam: opts.ipam ?? delegateIpam, sys: opts.sysctl ?? procSysctl, sleep: opts.sleep};
  return {
    type: 'bridge',
    add: (ctx, args) => add(p, ctx, args),
    del: (ctx, args) => del(p, ctx, args),
    check: (ctx, args) => check(p, ctx, args),
    gc: (ctx, args) => gc(p, ctx, args),
    status: (ctx, args) => status(p, ctx, args),
  };
}

export const plugin: Plugin = makeBridgePlugin();
