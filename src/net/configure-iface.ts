import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import type {Result} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {familyOf, parseAddr, parseCidrAsWritten, type Cidr, type Family} from '../util/ip.js';
import {errnoText} from './errors.js';
import {ipBatchAfterSysctls, listAddrs} from './ip.js';
import {writeSysctls} from './sysctl.js';

/**
 * The reference's shared ipam.ConfigureIface (1.1.1 semantics): apply a
 * result's addresses and routes to `ifname` inside `netns`. Plugin-agnostic:
 * bridge and macvlan both call it after their own sysctls.
 *
 * Writes are one `ip -batch -` in the namespace, after the plugin's
 * best-effort sysctls in the same process (two batches when an IPv6 gateway
 * makes us wait for DAD between addresses and routes).
 */
export interface ConfigureOptions {
  /** How long to wait for IPv6 addresses to leave tentative state. */
  settleTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Best-effort sysctls of the plugin (arp_notify, accept_dad, ...) written in
   * the same namespace process just before the addresses, failures ignored.
   */
  sysctls?: Record<string, string>;
}

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** netlink.AddrAdd fills in the IPv4 broadcast for prefixes shorter than /31. */
export function brdPlus(c: Cidr): string[] {
  return familyOf(c.ip) === 4 && c.prefix < 31 ? ['broadcast', '+'] : [];
}

interface Step {
  line: string[];
  /** Error text for this step, given the kernel's words. */
  onError: (errno: string) => string;
}

function routeSteps(ifname: string, result: Result, gw: Partial<Record<Family, string>>): Step[] {
  return (result.routes ?? []).map((r) => {
    const dst = parseCidrAsWritten(r.dst);
    if (!dst) throw fail(`invalid route destination ${r.dst}`);
    const via = r.gw ?? gw[familyOf(dst.ip)];
    const line = ['route', 'prepend', r.dst];
    if (via) line.push('via', via);
    line.push('dev', ifname);
    if (r.priority !== undefined) line.push('metric', String(r.priority));
    if (r.table !== undefined) line.push('table', String(r.table));
    if (r.scope !== undefined) line.push('scope', String(r.scope));
    return {line, onError: (e) => `failed to add route '${r.dst} via ${via ?? '<nil>'} dev ${ifname}': ${e}`};
  });
}

/** Run the steps in one batch, turning a failure into the failing step's message. */
async function runSteps(runner: Runner, netns: string, ifname: string, steps: Step[], sysctls: Record<string, string> = {}): Promise<void> {
  if (steps.length === 0) return;
  try {
    await ipBatchAfterSysctls(runner, steps.map((s) => s.line), sysctls, netns);
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    if (/cannot find device/i.test(err.stderr)) throw fail(`failed to lookup "${ifname}": Link not found`);
    const m = /Command failed -:(\d+)/.exec(err.stderr);
    const idx = m ? Number(m[1]) - 1 : steps.length === 1 ? 0 : -1;
    const errno = errnoText(err);
    throw fail(idx >= 0 && idx < steps.length ? steps[idx].onError(errno) : `failed to configure "${ifname}": ${errno}`);
  }
}

/** Wait until no address on the link is tentative (the reference ignores a timeout). */
async function settleAddresses(runner: Runner, netns: string, ifname: string, opts: ConfigureOptions): Promise<void> {
  const sleep = opts.sleep ?? realSleep;
  const deadline = Date.now() + (opts.settleTimeoutMs ?? 10_000);
  for (;;) {
    const links = await listAddrs(runner, netns, ifname).catch(() => []);
    const busy = links.some((l) => l.addr_info.some((a) => a.tentative || a.dadfailed));
    if (!busy || Date.now() > deadline) return;
    await sleep(50);
  }
}

export async function configureIface(runner: Runner, netns: string, ifname: string, result: Result, opts: ConfigureOptions = {}): Promise<void> {
  const ifaces = result.interfaces ?? [];
  if (ifaces.length === 0) throw fail('no interfaces to configure');

  const addrSteps: Step[] = [];
  const gw: Partial<Record<Family, string>> = {};
  let hasV6 = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    const shown = `{Interface:${ipc.interface} Address:${ipc.address} Gateway:${ipc.gateway ?? '<nil>'}}`;
    if (ipc.interface < 0 || ipc.interface >= ifaces.length || ifaces[ipc.interface].name !== ifname) {
      throw fail(`failed to add IP addr ${shown} to "${ifname}": invalid interface index`);
    }
    const c = parseCidrAsWritten(ipc.address);
    if (!c) throw fail(`invalid IP address ${ipc.address}`);
    if (familyOf(c.ip) === 6) hasV6 = true;
    addrSteps.push({line: ['addr', 'add', ipc.address, ...brdPlus(c), 'dev', ifname], onError: (e) => `failed to add IP addr ${shown} to "${ifname}": ${e}`});
    const g = ipc.gateway ? parseAddr(ipc.gateway) : undefined;
    if (g && gw[familyOf(g)] === undefined) gw[familyOf(g)] = ipc.gateway;
  }

  if (hasV6) {
    try {
      await writeSysctls(runner, {'net/ipv6/conf/lo/disable_ipv6': '0', [`net/ipv6/conf/${ifname}/disable_ipv6`]: '0'}, netns);
    } catch (err) {
      throw fail(`failed to enable IPv6 for interface "${ifname}": ${errnoText(err)}`);
    }
  }

  const up: Step = {line: ['link', 'set', 'dev', ifname, 'up'], onError: (e) => `failed to set "${ifname}" UP: ${e}`};
  const routes = routeSteps(ifname, result, gw);
  if (gw[6] === undefined) {
    await runSteps(runner, netns, ifname, [...addrSteps, up, ...routes], opts.sysctls);
    return;
  }
  await runSteps(runner, netns, ifname, [...addrSteps, up], opts.sysctls);
  await settleAddresses(runner, netns, ifname, opts);
  await runSteps(runner, netns, ifname, routes);
}
