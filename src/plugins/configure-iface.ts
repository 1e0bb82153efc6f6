import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import type {Result} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {familyOf, parseAddr, parseCidrAsWritten, type Family} from '../util/ip.js';
import {errnoText} from '../net/errors.js';
import {failedBatchLine, ipBatch, type IpLine} from '../net/iproute.js';
import {addrAddLine, waitAddrsSettled} from '../net/addr.js';
import {linkUpLine} from '../net/link.js';
import {routeAddLine} from '../net/route.js';
import {writeSysctls} from '../net/sysctl.js';

/**
 * The reference's shared ipam.ConfigureIface (1.1.1 semantics): apply a
 * result's addresses and routes to `ifname` inside `netns`, then set it up.
 * Plugin-agnostic: bridge and macvlan both call it after their own sysctls.
 *
 * The writes are one `ip -batch -` in the namespace (two when an IPv6 gateway
 * makes us wait for DAD between addresses and routes); each command carries
 * the message the reference gives when the kernel refuses it.
 */
export interface ConfigureOptions {
  /** How long to wait for IPv6 addresses to leave tentative state. */
  settleTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

interface Step {
  line: IpLine;
  /** Error text for this step, given the kernel's words. */
  onError: (errno: string) => string;
}

function routeSteps(ifname: string, result: Result, gw: Partial<Record<Family, string>>): Step[] {
  return (result.routes ?? []).map((r) => {
    const dst = parseCidrAsWritten(r.dst);
    if (!dst) throw fail(`invalid route destination ${r.dst}`);
    const via = r.gw ?? gw[familyOf(dst.ip)];
    const line = routeAddLine({dst: r.dst, via, dev: ifname, metric: r.priority, table: r.table, scope: r.scope});
    return {line, onError: (e) => `failed to add route '${r.dst} via ${via ?? '<nil>'} dev ${ifname}': ${e}`};
  });
}

/** Run the steps in one batch, turning a failure into the failing step's message. */
async function runSteps(runner: Runner, netns: string, ifname: string, steps: Step[]): Promise<void> {
  if (steps.length === 0) return;
  try {
    await ipBatch(
      runner,
      steps.map((s) => s.line),
      netns,
    );
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    if (/cannot find device/i.test(err.stderr)) throw fail(`failed to lookup "${ifname}": Link not found`);
    const n = failedBatchLine(err.stderr);
    const idx = n !== undefined ? n - 1 : steps.length === 1 ? 0 : -1;
    const errno = errnoText(err);
    throw fail(idx >= 0 && idx < steps.length ? steps[idx].onError(errno) : `failed to configure "${ifname}": ${errno}`);
  }
}

export async function configureIface(
  runner: Runner,
  netns: string,
  ifname: string,
  result: Result,
  opts: ConfigureOptions = {},
): Promise<void> {
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
    addrSteps.push({line: addrAddLine(ipc.address, ifname), onError: (e) => `failed to add IP addr ${shown} to "${ifname}": ${e}`});
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

  const up: Step = {line: linkUpLine(ifname), onError: (e) => `failed to set "${ifname}" UP: ${e}`};
  const routes = routeSteps(ifname, result, gw);
  if (gw[6] === undefined) {
    await runSteps(runner, netns, ifname, [...addrSteps, up, ...routes]);
    return;
  }
  await runSteps(runner, netns, ifname, [...addrSteps, up]);
  await waitAddrsSettled(runner, netns, ifname, opts.settleTimeoutMs, opts.sleep);
  await runSteps(runner, netns, ifname, routes);
}
