import type {Plugin, PluginContext} from '../exec/plugin.js';
import type {CmdArgs, DNS, IPConfig, Result, Route} from '../cni/types.js';
import {CniError, ErrorCode, toCniError} from '../cni/errors.js';
import {parseCniArgs} from '../cni/args.js';
import {linkNameProblem, validateNetworkName} from '../cni/validate.js';
import {delegateAdd, delegateCheck, delegateDel, delegateGc} from './delegate.js';
import {validAttachments} from '../cni/gc-args.js';
import {decodeGoJson, goBool, goInt, goPtr, goSlice, goString, goStruct, omitEmpty, type GoValue} from '../cni/go-json.js';
import {netConfFields} from '../cni/netconf.js';
import {UndoStack} from '../util/undo.js';
import {settled, type Settled} from '../util/concurrency.js';
import {cidrString, familyOf, ipString, isGlobalUnicast, networkOf, nextIP, normalizeIp, parseAddr, parseCidrAsWritten, type Cidr, type Family} from '../util/ip.js';
import {configureIface} from './configure-iface.js';
import {ensureAddr, readLinksAddrs, revertAddr, type LinkAddrs} from '../net/addr.js';
import {delLink, getLink, readAddrsAndDelLink, setLinkUp} from '../net/link.js';
import {delBridgeIfUnused, ensureBridge, waitPortUp} from '../net/link-bridge.js';
import {createVeth, vethOnExistingBridge} from '../net/link-veth.js';
import {masqChainName, masqComment, masqOwners, setupIpMasq, teardownIpMasq, type JumpSelector} from '../net/iptables-masq.js';
import {readNatTable} from '../net/iptables.js';
import {setupSpoofCheck, teardownSpoofCheck} from '../net/nft-spoofchk.js';
import {resolveMasqBackend, setupNftMasq, teardownBackend, teardownNftMasq} from '../net/nft-masq.js';
import {enableForwarding, procSysctl, writeHostSysctlsBestEffort, type HostSysctl} from '../net/sysctl.js';
import {checkAttachment, prevResultOf} from './bridge-check.js';
import {errorText} from '../util/error-text.js';

/** The bridge plugin (reference plugins/main/bridge, Debian 1.1.1 behaviour). */
export interface BridgeConf {
  cniVersion: string;
  name: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend: string;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  vlanTrunk: VlanTrunk[];
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  ipamType: string;
  dns?: DNS;
  /** Container MAC: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac. */
  mac: string;
  prevResult?: Record<string, unknown>;
}

/** The reference's NetConf (with the fields of its later releases), for the Go-JSON reader. */
const vlanTrunkType = goStruct('main.VlanTrunk', {minID: goPtr(goInt), maxID: goPtr(goInt), id: goPtr(goInt)});
const netConfType = goStruct('main.NetConf', {
  ...netConfFields,
  bridge: goString,
  isGateway: goBool,
  isDefaultGateway: goBool,
  forceAddress: goBool,
  ipMasq: goBool,
  ipMasqBackend: goString,
  mtu: goInt,
  hairpinMode: goBool,
  promiscMode: goBool,
  vlan: goInt,
  vlanTrunk: goSlice(goPtr(vlanTrunkType)),
  preserveDefaultVlan: goBool,
  macspoofchk: goBool,
  enabledad: goBool,
  disableContainerInterface: goBool,
  portIsolation: goBool,
  args: goStruct('struct { Cni main.BridgeArgs "json:\\"cni,omitempty\\"" }', {cni: goStruct('main.BridgeArgs', {mac: goString})}),
  runtimeConfig: goStruct('struct { Mac string "json:\\"mac,omitempty\\"" }', {mac: goString}),
});

type VlanTrunk = GoValue<typeof vlanTrunkType> | undefined;

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

function trunkErrors(trunk: VlanTrunk[]): void {
  for (const t of trunk) {
    const e = t ?? vlanTrunkType.zero();
    const bad = (n: number | undefined): boolean => n === undefined || n < 1 || n > 4094;
    if (e.minID !== undefined && bad(e.minID)) throw fail('incorrect trunk minID parameter');
    if (e.maxID !== undefined && bad(e.maxID)) throw fail('incorrect trunk maxID parameter');
    if (e.minID !== undefined && e.maxID !== undefined && e.minID > e.maxID) throw fail('minID is greater than maxID in trunk parameter');
    if (e.minID === undefined && e.maxID !== undefined) throw fail('minID and maxID should be configured simultaneously, minID is missing');
    if (e.minID !== undefined && e.maxID === undefined) throw fail('minID and maxID should be configured simultaneously, maxID is missing');
    if (e.id !== undefined && bad(e.id)) throw fail('incorrect trunk id parameter');
  }
}

/** loadNetConf: Go-JSON decoding, the reference's defaults, vlan checks, CNI_ARGS and MAC precedence. */
export function parseConf(stdin: string, cniArgs: string): BridgeConf {
  let n: GoValue<typeof netConfType>;
  try {
    n = decodeGoJson(stdin, netConfType, {...netConfType.zero(), bridge: 'cni0'});
  } catch (err) {
    throw fail(`failed to load netconf: ${errorText(err)}`);
  }
  if (n.vlan < 0 || n.vlan > 4094) throw fail(`invalid VLAN ID ${n.vlan} (must be between 0 and 4094)`);
  trunkErrors(n.vlanTrunk);
  let mac = '';
  if (cniArgs) mac = parseCniArgs(cniArgs, ['MAC']).MAC ?? '';
  mac = n.args.cni.mac || mac;
  mac = n.runtimeConfig.mac || mac;
  return {
    cniVersion: n.cniVersion,
    name: n.name,
    bridge: n.bridge,
    isGateway: n.isGateway || n.isDefaultGateway,
    isDefaultGateway: n.isDefaultGateway,
    forceAddress: n.forceAddress,
    ipMasq: n.ipMasq,
    ipMasqBackend: n.ipMasqBackend,
    mtu: n.mtu,
    hairpinMode: n.hairpinMode,
    promiscMode: n.promiscMode,
    vlan: n.vlan,
    vlanTrunk: n.vlanTrunk,
    preserveDefaultVlan: n.preserveDefaultVlan,
    macspoofchk: n.macspoofchk,
    enabledad: n.enabledad,
    disableContainerInterface: n.disableContainerInterface,
    portIsolation: n.portIsolation,
    ipamType: n.ipam.type,
    dns: omitEmpty(n.dns),
    mac,
    prevResult: n.prevResult,
  };
}

/** What ADD refuses before touching anything. */
function refuseUnsupported(c: BridgeConf): void {
  const bad = linkNameProblem(c.bridge);
  if (bad) throw fail(`failed to create bridge ${JSON.stringify(c.bridge)}: could not add ${JSON.stringify(c.bridge)}: ${bad}`);
  if (c.mac && !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(c.mac)) throw fail(`address ${JSON.stringify(c.mac)}: invalid MAC address`);
  if (c.hairpinMode && c.promiscMode) throw fail('cannot set hairpin mode and promiscuous mode at the same time.');
  if (c.vlan !== 0 || c.vlanTrunk.length > 0) {
    throw fail(`failed to create bridge "${c.bridge}": vlan/vlanTrunk need bridge VLAN filtering, which is not available on this kernel`);
  }
  if (!['', 'iptables', 'nftables'].includes(c.ipMasqBackend)) throw fail(`unknown ipmasq backend "${c.ipMasqBackend}"`);
  if (c.disableContainerInterface && c.ipamType) throw fail('cannot use IPAM when DisableContainerInterface flag is set');
  if (!c.ipamType && ['', '0.1.0', '0.2.0'].includes(c.cniVersion)) throw fail('cannot convert: no valid IP addresses');
}

interface Gateways {
  /** Gateway CIDRs for the bridge (gateway IP with the address's prefix), v4 then v6. */
  gws: Record<Family, Cidr[]>;
}

/** calcGateways: interface index 2, computed gateways, isDefaultGateway routes. */
export function calcGateways(ips: IPConfig[], routes: Route[], c: BridgeConf): Gateways {
  const gws: Record<Family, Cidr[]> = {4: [], 6: []};
  const defaultDone: Record<Family, boolean> = {4: false, 6: false};
  for (const ipc of ips) {
    const a = parseCidrAsWritten(ipc.address);
    if (!a) throw fail(`Unknown IP object: ${ipc.address}`);
    const f = familyOf(a.ip);
    ipc.interface = 2;
    if (!ipc.gateway && c.isGateway) ipc.gateway = ipString(nextIP(networkOf(a)));
    if (c.isDefaultGateway && !defaultDone[f]) {
      const dst = f === 4 ? '0.0.0.0/0' : '::/0';
      const found = routes.some((r) => r.gw && parseCidrAsWritten(r.dst) && cidrString({...parseCidrAsWritten(r.dst)!, ip: networkOf(parseCidrAsWritten(r.dst)!)}) === dst);
      if (!found) routes.push(ipc.gateway ? {dst, gw: ipc.gateway} : {dst});
      defaultDone[f] = true;
    }
    if (c.isGateway && ipc.gateway) {
      const g = parseAddr(ipc.gateway);
      if (g) gws[f].push({ip: g, prefix: a.prefix});
    }
  }
  return {gws};
}

export interface IpamOps {
  add(ctx: PluginContext, type: string, args: CmdArgs): Promise<Result>;
  del(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
  check(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
  gc?(ctx: PluginContext, type: string, args: CmdArgs): Promise<void>;
}

const delegateIpam: IpamOps = {add: delegateAdd, del: delegateDel, check: delegateCheck, gc: delegateGc};

export interface BridgeOptions {
  ipam?: IpamOps;
  sleep?: (ms: number) => Promise<void>;
  /** Host-namespace sysctls (in-process /proc/sys by default). */
  sysctl?: HostSysctl;
}

export function makeBridgePlugin(opts: BridgeOptions = {}): Plugin {
  const ipam = opts.ipam ?? delegateIpam;
  const sys = opts.sysctl ?? procSysctl;

  async function add(ctx: PluginContext, args: CmdArgs): Promise<Result> {
    const c = parseConf(args.stdin, args.args);
    refuseUnsupported(c);
    if (c.ipamType === 'host-local') await preflightHostLocal(args);
    const {runner} = ctx;
    return UndoStack.run(ctx.log, async (undo) => {
      const brSpec = {name: c.bridge, mtu: c.mtu, promisc: c.promiscMode};
      const vethSpec = {netns: args.netns, ifname: args.ifname, mtu: c.mtu, mac: c.mac};
      const portSpec = {bridge: c.bridge, hairpin: c.hairpinMode, isolated: c.portIsolation || undefined};
      // The bridge is usually there already: read it and make the pair on it in one process.
      let quick;
      try {
        quick = await vethOnExistingBridge(runner, brSpec, vethSpec, portSpec);
      } catch (err) {
        if (err instanceof CniError) throw err;
        throw fail(`failed to create bridge "${c.bridge}": ${errorText(err)}`);
      }
      if (quick) undo.push(`delete veth ${quick.hostName}`, () => delLink(runner, quick.hostName));
      let br;
      try {
        br = quick ? {link: quick.link, created: false} : await ensureBridge(runner, brSpec);
      } catch (err) {
        throw fail(`failed to create bridge "${c.bridge}": ${errorText(err)}`);
      }
      if (br.created) undo.push(`delete bridge ${c.bridge}`, () => delBridgeIfUnused(runner, c.bridge));
      ctx.hooks?.crashPoint('bridge:bridge');
      const pinMac = br.link.address;
      const oldRa = br.created ? undefined : sys.read(`net/ipv6/conf/${c.bridge}/accept_ra`);
      if (oldRa !== undefined && oldRa !== '0') {
        undo.push(`restore accept_ra of ${c.bridge}`, async () => writeHostSysctlsBestEffort({[`net/ipv6/conf/${c.bridge}/accept_ra`]: oldRa}, sys));
      }

      // One `ip -batch`: the pair, the host end up, enslaved, hairpin set.
      let veth: {hostName: string; containerMac: string};
      if (quick) veth = quick;
      else {
        veth = await createVeth(runner, vethSpec, portSpec);
        const made = veth.hostName;
        undo.push(`delete veth ${made}`, () => delLink(runner, made));
      }
      ctx.hooks?.crashPoint('bridge:veth');
      writeHostSysctlsBestEffort({[`net/ipv6/conf/${c.bridge}/accept_ra`]: '0', [`net/ipv6/conf/${veth.hostName}/accept_ra`]: '0'}, sys);
      let brMac: string | undefined;

      const result: Result = {
        cniVersion: c.cniVersion,
        interfaces: [
          {name: c.bridge, mac: br.link.address},
          {name: veth.hostName},
          {name: args.ifname, mac: veth.containerMac, sandbox: args.netns},
        ],
      };
      if (c.macspoofchk) {
        await setupSpoofCheck(runner, {hostIface: veth.hostName, mac: veth.containerMac, containerId: args.containerId, ifname: args.ifname});
        undo.push('remove mac spoof-check', () => teardownSpoofCheck(runner, args.containerId, args.ifname));
      }

      if (c.ipamType) {
        // After the links, as the reference: a set-up that fails first leaves
        // the IPAM store untouched (an allocation and release would still move
        // host-local's last_reserved_ip).
        const r = await ipam.add(ctx, c.ipamType, args);
        undo.push(`release IPAM (${c.ipamType})`, () => ipam.del(ctx, c.ipamType, args));
        ctx.hooks?.crashPoint('bridge:ipam');
        result.ips = (r.ips ?? []).map((i) => ({...i}));
        result.routes = (r.routes ?? []).map((x) => ({...x}));
        if (result.ips.length === 0) throw fail('IPAM plugin returned missing IP config');
        const {gws} = calcGateways(result.ips, result.routes, c);
        if (result.routes.length === 0) delete result.routes;

        // The masquerade rules depend on the addresses only: they are written
        // while the container side is configured (undo registered first).
        let masq: Promise<Settled<void>> | undefined;
        if (c.ipMasq && resolveMasqBackend(c.ipMasqBackend) === 'nftables') {
          const inst = {network: c.name, ifname: args.ifname, containerId: args.containerId};
          undo.push('remove nftables masquerade rules', () => teardownNftMasq(runner, inst));
          masq = settled(setupNftMasq(runner, inst, result.ips.map((i) => i.address)));
        } else if (c.ipMasq) {
          const target = {chain: masqChainName(c.name, args.containerId), comment: masqComment(c.name, args.containerId)};
          const addrs = result.ips.map((i) => i.address);
          undo.push('remove masquerade rules', () => teardownIpMasq(runner, target, {kind: 'ips', ips: addrs.map((a) => a.split('/')[0])}));
          masq = settled(setupIpMasq(runner, target, addrs));
        }
        const dad = c.enabledad
          ? {[`net/ipv6/conf/${args.ifname}/enhanced_dad`]: '1', [`net/ipv6/conf/${args.ifname}/accept_dad`]: '1'}
          : {[`net/ipv6/conf/${args.ifname}/accept_dad`]: '0'};
        const configured = await settled(configureIface(runner, args.netns, args.ifname, result, {sleep: opts.sleep, sysctls: {...dad, [`net/ipv4/conf/${args.ifname}/arp_notify`]: '1'}}));
        const masqDone = await masq;
        if ('error' in configured) throw configured.error;
        if (masqDone && 'error' in masqDone) throw masqDone.error;
        ctx.hooks?.crashPoint('bridge:configured');

        // The port and the bridge's addresses in one read; the port is polled further only if not up yet.
        const [seenPort, seenBridge] = await readLinksAddrs(runner, [veth.hostName, c.bridge]);
        const port = await waitPortUp(runner, veth.hostName, opts.sleep, seenPort);
        result.interfaces![1].mac = port.address;
        brMac = seenBridge?.address;
        let brAddrs = seenBridge;

        if (c.isGateway) {
          for (const f of [4, 6] as const) {
            for (const gw of gws[f]) {
              let change;
              try {
                change = await ensureAddr(runner, c.bridge, gw, c.forceAddress, pinMac, brAddrs);
              } catch (err) {
                throw fail(`failed to set bridge addr: ${errorText(err)}`);
              }
              brAddrs = undefined;
              brMac = change.mac;
              undo.push(`restore addresses of ${c.bridge}`, () => revertAddr(runner, c.bridge, change));
            }
          }
          const fams = ([4, 6] as const).filter((f) => gws[f].length > 0);
          try {
            enableForwarding([...fams], sys);
          } catch (err) {
            throw fail(`failed to enable forwarding: ${errorText(err)}`);
          }
        }
      } else if (!c.disableContainerInterface) {
        await setLinkUp(runner, args.ifname, args.netns).catch((err: unknown) => {
          throw fail(`failed to set "${args.ifname}" up: ${errorText(err)}`);
        });
      }

      // The bridge MAC may have changed when the first port joined: re-read unless known since.
      if (!brMac) {
        const br2 = await getLink(runner, c.bridge);
        if (!br2) throw fail(`could not lookup "${c.bridge}": Link not found`);
        brMac = br2.address;
      }
      result.interfaces![0].mac = brMac;
      if (!result.interfaces![1].mac) {
        const port = await getLink(runner, veth.hostName);
        if (!port) throw fail(`failed to lookup "${veth.hostName}": Link not found`);
        result.interfaces![1].mac = port.address;
      }
      if (c.dns) result.dns = c.dns;
      return result;
    });
  }

  async function del(ctx: PluginContext, args: CmdArgs): Promise<void> {
    const c = parseConf(args.stdin, args.args);
    const {runner} = ctx;
    const masq = Boolean(c.ipamType) && c.ipMasq;
    const prevIps = prevResultIps(c, args);
    const ipamDel = async (): Promise<void> => {
      if (c.ipamType) await ipam.del(ctx, c.ipamType, args);
    };

    const target = {chain: masqChainName(c.name, args.containerId), comment: masqComment(c.name, args.containerId)};
    // The usual DEL names its addresses in the cached result (prevResult, or
    // for configs before 0.4.0 the runtime's cache): their masquerade teardown
    // and the IPAM release run alongside the link delete (each waits out a
    // kernel RCU grace period or a lock, ~15 ms here; concurrent waits
    // overlap). The reference releases the IPAM first; nothing in the link
    // delete depends on it, and a failed release fails the DEL either way.
    // Addresses the namespace shows beyond the known ones are torn down after.
    // The link delete, the longest of them, is started first.
    const deleting = args.netns ? settled(readAddrsAndDelLink(runner, args.netns, args.ifname)) : undefined;
    const early = masq && args.netns && prevIps.length > 0 ? settled(teardownIpMasq(runner, target, {kind: 'ips', ips: prevIps})) : undefined;
    let sel: JumpSelector | undefined = prevIps.length > 0 ? {kind: 'ips', ips: prevIps} : {kind: 'all'};
    if (deleting) {
      const released = settled(ipamDel());
      // Addresses first (for the masquerade selection), then the link deleted: one process.
      const read = await deleting;
      const masqDone = await early;
      const ipamDone = await released;
      if ('error' in ipamDone) throw ipamDone.error;
      if ('error' in read) throw read.error;
      if (masqDone && 'error' in masqDone) throw masqDone.error;
      const links = read.value;
      if (links) {
        // The kernel derives an IPv6 address's scope from the address itself: link
        // and host scope are fe80::/10 and ::1, never global unicast, so they are not parsed.
        const globalIps = (l: LinkAddrs): string[] =>
          l.addr_info.filter((a) => !(a.family === 'inet6' && (a.scope === 'link' || a.scope === 'host'))).map((a) => a.local).filter((ip) => {
            const p = parseAddr(ip);
            return p !== undefined && isGlobalUnicast(p);
          });
        const mine = links.find((l) => l.ifname === args.ifname);
        const known = [...new Set([...(mine ? globalIps(mine) : []), ...prevIps])];
        const elsewhere = links.filter((l) => l.ifname !== args.ifname).flatMap(globalIps);
        sel = known.length > 0 ? {kind: 'ips', ips: known} : {kind: 'except', ips: elsewhere};
        if (early) {
          const done = new Set(prevIps.map(normalizeIp));
          const extra = known.filter((ip) => !done.has(normalizeIp(ip)));
          sel = extra.length > 0 ? {kind: 'ips', ips: extra} : undefined;
        }
      } else {
        sel = {kind: 'all'};
      }
    } else {
      await ipamDel();
    }
    if (c.macspoofchk) await teardownSpoofCheck(runner, args.containerId, args.ifname).catch((err: unknown) => ctx.log.warn(errorText(err)));
    if (masq && teardownBackend(c.ipMasqBackend) === 'nftables') await teardownNftMasq(runner, {network: c.name, ifname: args.ifname, containerId: args.containerId});
    if (masq && sel) await teardownIpMasq(runner, target, sel);
  }

  async function check(ctx: PluginContext, args: CmdArgs): Promise<void> {
    const c = parseConf(args.stdin, args.args);
    await checkAttachment(ctx, args, c, () => ipam.check(ctx, c.ipamType, args));
  }

  /** GC (spec 1.1): forward to IPAM, then drop masquerade chains of this network whose container is not valid. */
  async function gc(ctx: PluginContext, args: CmdArgs): Promise<void> {
    const c = parseConf(args.stdin, args.args);
    const valid = validAttachments(args.stdin);
    const errors: string[] = [];
    if (c.ipamType) await ipam.gc?.(ctx, c.ipamType, args).catch((e: unknown) => errors.push(`IPAM GC: ${errorText(e)}`));
    if (c.ipamType && c.ipMasq) {
      const stale = new Map<string, string>();
      for (const f of [4, 6] as const) {
        for (const o of masqOwners(await readNatTable(ctx.runner, f))) if (o.network === c.name && !valid.containerIds.has(o.containerId)) stale.set(o.chain, o.containerId);
      }
      for (const [chain, id] of stale) {
        await teardownIpMasq(ctx.runner, {chain, comment: masqComment(c.name, id)}, {kind: 'all'}).catch((e: unknown) => errors.push(`${chain}: ${errorText(e)}`));
      }
    }
    if (errors.length > 0) throw fail(errors.join('; '));
  }

  return {type: 'bridge', add, del, check, gc};
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

export const plugin: Plugin = makeBridgePlugin();
