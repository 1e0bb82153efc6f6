import type {Plugin, PluginContext} from '../exec/plugin.js';
import type {CmdArgs, CniInterface, DNS, IPConfig, Result, Route} from '../cni/types.js';
import {parseResult} from '../cni/results.js';
import {CniError, ErrorCode, toCniError} from '../cni/errors.js';
import {parseCniArgs} from '../cni/args.js';
import {decodeGoJson, goBool, goInt, goString, goStruct, omitEmpty, type GoValue} from '../cni/go-json.js';
import {netConfFields} from '../cni/netconf.js';
import {linkNameProblem} from '../cni/validate.js';
import {delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus} from './delegate.js';
import {configureIface} from './configure-iface.js';
import {validateExpectedIps, validateExpectedRoutes} from './validate-expected.js';
import {errnoText} from '../net/errors.js';
import {delLink, getLink, setLinkUp} from '../net/link.js';
import {createMacvlan, macvlanModeOf, type MacvlanMode} from '../net/link-macvlan.js';
import {checkNetnsPath, netnsExists} from '../net/netns.js';
import {defaultRouteInterface} from '../net/route.js';
import {writeSysctlsBestEffort} from '../net/sysctl.js';
import {inFlight} from '../util/concurrency.js';
import {UndoStack} from '../util/undo.js';

/**
 * The macvlan plugin, as the reference plugins/main/macvlan: a macvlan child
 * of `master` created straight into the container namespace, addressed from
 * IPAM (or L2-only without `ipam`). No host-side state of its own.
 */
export interface MacvlanConf {
  cniVersion: string;
  name: string;
  /** Empty until parseConf fills it from the default route. */
  master: string;
  mode: string;
  mtu: number;
  mac?: string;
  linkInContainer: boolean;
  ipamType?: string;
  dns?: DNS;
  runtimeMac?: string;
  prevResult?: unknown;
}

/** A MacvlanConf after parseConf: master resolved, mode and MAC validated. */
export interface ResolvedMacvlanConf extends MacvlanConf {
  mode: MacvlanMode;
  masterMtu: number;
}

const MODES: readonly string[] = ['bridge', 'private', 'vepa', 'passthru'];

function fail(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** The reference's NetConf (with linkInContainer from its later releases), for the Go-JSON reader. */
const netConfType = goStruct('main.NetConf', {
  ...netConfFields,
  master: goString,
  mode: goString,
  mtu: goInt,
  mac: goString,
  linkInContainer: goBool,
  runtimeConfig: goStruct('struct { Mac string "json:\\"mac,omitempty\\"" }', {mac: goString}),
});

/** Plain JSON decode of the config (what DEL needs): no lookups, no CNI_ARGS. */
export function decodeConf(stdin: string): MacvlanConf {
  let n: GoValue<typeof netConfType>;
  try {
    n = decodeGoJson(stdin, netConfType);
  } catch (err) {
    throw fail(`failed to load netconf: ${(err as Error).message}`);
  }
  return {
    cniVersion: n.cniVersion,
    name: n.name,
    master: n.master,
    mode: n.mode,
    mtu: n.mtu,
    mac: n.mac || undefined,
    linkInContainer: n.linkInContainer,
    ipamType: n.ipam.type || undefined,
    dns: omitEmpty(n.dns),
    runtimeMac: n.runtimeConfig.mac || undefined,
    prevResult: n.prevResult,
  };
}

/** Go's net.ParseMAC for the 6-byte forms, normalised to lower-case with colons. */
export function parseMac(s: string): string {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(s);
  const dot = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i.exec(s);
  if (m) return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
  if (dot)
    return dot
      .slice(1)
      .join('')
      .toLowerCase()
      .replace(/(..)(?!$)/g, '$1:');
  throw fail(`invalid args ${s} for MAC addr: address ${s}: invalid MAC address`);
}

/**
 * The full config load of ADD and CHECK: default master from the default route,
 * master MTU bound, MAC precedence (mac < CNI_ARGS MAC < runtimeConfig.mac),
 * mode and MAC validation.
 */
export async function parseConf(ctx: PluginContext, args: CmdArgs): Promise<ResolvedMacvlanConf> {
  const conf = decodeConf(args.stdin);
  const where = conf.linkInContainer ? args.netns : undefined;
  if (conf.master && linkNameProblem(conf.master)) throw fail(`failed to lookup master ${JSON.stringify(conf.master)}: Link not found`);
  const master = conf.master || (await defaultRouteInterface(ctx.runner, where));
  const link = await getLink(ctx.runner, master, where);
  if (!link) throw await masterMissing(ctx, master, conf.linkInContainer, args.netns);
  if (conf.mtu < 0 || conf.mtu > link.mtu) {
    throw fail(`invalid MTU ${conf.mtu}, must be [0, master MTU(${link.mtu})]`);
  }
  let mac = conf.mac;
  const envMac = parseCniArgs(args.args, ['MAC']).MAC;
  if (envMac) mac = envMac;
  if (conf.runtimeMac) mac = conf.runtimeMac;
  const mode = conf.mode || 'bridge';
  if (!MODES.includes(mode)) throw fail(`unknown macvlan mode: ${JSON.stringify(conf.mode)}`);
  return {...conf, master, mode: mode as MacvlanMode, masterMtu: link.mtu, mac: mac ? parseMac(mac) : undefined};
}

/** "Link not found", made specific when the master sits on the other side. */
async function masterMissing(ctx: PluginContext, master: string, inContainer: boolean, netns: string): Promise<CniError> {
  const base = `failed to lookup master "${master}": Link not found`;
  if (!netns || !(await netnsExists(netns))) return fail(base);
  const other = await getLink(ctx.runner, master, inContainer ? undefined : netns).catch(() => undefined);
  if (!other) return fail(base);
  return inContainer
    ? fail(`${base} in the container namespace; it is in the host namespace (unset linkInContainer)`)
    : fail(`${base} in the host namespace; it is in the container namespace (set linkInContainer)`);
}

async function openNetns(netns: string): Promise<void> {
  try {
    await checkNetnsPath(netns);
  } catch (err) {
    throw fail(`failed to open netns "${netns}": ${(err as Error).message}`);
  }
}

/** Create the macvlan in the container; its undo deletes it. */
async function createLink(ctx: PluginContext, args: CmdArgs, conf: ResolvedMacvlanConf, undo: UndoStack): Promise<Result> {
  const link = await createMacvlan(ctx.runner, {
    master: conf.master,
    mode: conf.mode,
    mtu: conf.mtu,
    mac: conf.mac,
    netns: args.netns,
    ifname: args.ifname,
    linkInContainer: conf.linkInContainer,
  });
  undo.push(`delete ${args.ifname}`, () => delContainerLink(ctx, args));
  return {cniVersion: conf.cniVersion, interfaces: [{name: link.name, mac: link.mac, sandbox: args.netns}]};
}

/** Addresses from IPAM (its undo releases them), for the container interface (index 0). */
async function allocateIpam(ctx: PluginContext, args: CmdArgs, ipamType: string, result: Result, undo: UndoStack): Promise<void> {
  const ipam = await delegateAdd(ctx, ipamType, args);
  undo.push('release IPAM', () => delegateDel(ctx, ipamType, args));
  if (!ipam.ips || ipam.ips.length === 0) throw fail('IPAM plugin returned missing IP config');
  result.ips = ipam.ips.map((ipc): IPConfig => ({...ipc, interface: 0}));
  if (ipam.routes && ipam.routes.length > 0) result.routes = ipam.routes.map((r): Route => ({...r}));
}

/** The L2-only interface: just up. */
async function setContainerUp(ctx: PluginContext, args: CmdArgs): Promise<void> {
  try {
    await setLinkUp(ctx.runner, args.ifname, args.netns);
  } catch (err) {
    throw fail(`failed to set "${args.ifname}" UP: ${errnoText(err)}`);
  }
}

/** The container interface, deleted; a missing namespace or link is success (DEL is idempotent). */
async function delContainerLink(ctx: PluginContext, args: CmdArgs): Promise<void> {
  if (!(await netnsExists(args.netns))) return;
  try {
    await delLink(ctx.runner, args.ifname, args.netns);
  } catch (err) {
    throw fail(`failed to delete "${args.ifname}": ${errnoText(err)}`);
  }
}

async function add(ctx: PluginContext, args: CmdArgs): Promise<Result> {
  const conf = await parseConf(ctx, args);
  await openNetns(args.netns);
  return UndoStack.run(ctx.log, async (undo) => {
    const result = await createLink(ctx, args, conf, undo);
    if (conf.ipamType) {
      // The interface's sysctl (ignored when refused, as the reference ignores it) is
      // written while IPAM allocates: it needs only the link, and the addresses wait for it.
      const sysctls = inFlight(writeSysctlsBestEffort(ctx.runner, {[`net/ipv4/conf/${args.ifname}/arp_notify`]: '1'}, args.netns));
      await allocateIpam(ctx, args, conf.ipamType, result, undo);
      await sysctls;
      await configureIface(ctx.runner, args.netns, args.ifname, result);
    } else {
      await setContainerUp(ctx, args);
    }
    result.dns = conf.dns ?? {};
    return result;
  });
}

/**
 * DEL: plain decode only (no master lookup, so DEL works after the master is
 * gone), IPAM DEL first, then the link; a missing netns or link is success.
 */
async function del(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = decodeConf(args.stdin);
  if (conf.ipamType) await delegateDel(ctx, conf.ipamType, args);
  if (!args.netns) return;
  await delContainerLink(ctx, args);
}

async function check(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = await parseConf(ctx, args);
  await openNetns(args.netns);
  if (conf.ipamType) await delegateCheck(ctx, conf.ipamType, args);
  if (conf.prevResult === undefined || conf.prevResult === null || typeof conf.prevResult !== 'object') {
    throw fail('Required prevResult missing');
  }
  const prev = parseResult(conf.prevResult, conf.cniVersion);
  const cont: Partial<CniInterface> = (prev.interfaces ?? []).find((i) => i.name === args.ifname && i.sandbox === args.netns) ?? {};
  if (cont.sandbox !== args.netns) {
    throw fail(`Sandbox in prevResult ${cont.sandbox ?? ''} doesn't match configured netns: ${args.netns}`);
  }
  const name = cont.name ?? '';
  const link = await getLink(ctx.runner, name, args.netns);
  if (!link) throw fail(`Container Interface name in prevResult: ${name} not found`);
  const mode = macvlanModeOf(link);
  if (mode === undefined) throw fail(`Error: Container interface ${name} not of type macvlan`);
  if (mode !== conf.mode) throw fail(`Container macvlan mode ${mode} does not match expected value: ${conf.mode}`);
  if (cont.mac && cont.mac !== link.address) {
    throw fail(`Interface ${name} Mac ${cont.mac} doesn't match container Mac: ${link.address ?? ''}`);
  }
  await validateExpectedIps(ctx.runner, args.netns, args.ifname, prev.ips ?? []);
  await validateExpectedRoutes(ctx.runner, args.netns, prev.routes ?? []);
}

/** GC (spec 1.1): macvlan keeps no host state of its own, so GC is its IPAM's. */
async function gc(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = decodeConf(args.stdin);
  if (conf.ipamType) await delegateGc(ctx, conf.ipamType, args);
}

/**
 * STATUS (spec 1.1): the master ADD would use is there (the default route's
 * interface when none is set) and the config is one ADD takes, else error 50;
 * then IPAM's STATUS, whose error is ours. A master inside the container's
 * namespace (linkInContainer) cannot be looked up without one, and is not.
 */
async function status(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = decodeConf(args.stdin);
  if (!conf.linkInContainer) {
    try {
      await parseConf(ctx, {...args, netns: ''});
    } catch (err) {
      throw new CniError(ErrorCode.PluginNotAvailable, toCniError(err).message);
    }
  }
  if (conf.ipamType) await delegateStatus(ctx, conf.ipamType, args);
}

export const plugin: Plugin = {type: 'macvlan', add, del, check, gc, status};
