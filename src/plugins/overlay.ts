/**
 * The `overlay` plugin: containers on several hosts on one network, as
 * flannel's vxlan backend with its etcd layout and its CNI plugin do it.
 *
 * ADD (under the per-host lock, src/overlay/host-lock.ts): take or renew
 * this host's subnet lease in etcd and sync the vxlan device and its peers
 * once (src/overlay/sync.ts); then delegate to our bridge + host-local over
 * the leased subnet, with a route to the whole overlay network through the
 * bridge's gateway. The bridge is reached by type through ctx.plugins
 * (./delegate.ts), as flannel invokes its delegate. The delegate config is
 * kept, as flannel keeps it, so DEL needs neither etcd nor the lease.
 *
 * Masquerade: the delegated bridge runs with ipMasq off, and with `ipMasq`
 * this plugin writes the reference's masquerade chain itself, with the
 * overlay network (not the host's subnet) as the destination that is
 * accepted unchanged. Traffic to containers on other hosts keeps its source
 * address; only traffic leaving the overlay network is masqueraded. The chain
 * has the bridge's name, comment and shape, so check, gc and DEL treat it as
 * a bridge's.
 *
 * DEL removes the container's state only (link, address, rules, kept
 * config); the host's lease and vxlan device stay, as flannel leaves them.
 */
import {readFile, rm} from 'node:fs/promises';
import path from 'node:path';
import type {Plugin, PluginContext} from '../exec/plugin.js';
import type {CmdArgs, Result} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {parseResult} from '../cni/results.js';
import {cidrString, ipString, nextIP} from '../util/ip.js';
import {masqChainName, masqComment, setupIpMasq, teardownIpMasq, type JumpSelector} from '../net/iptables-masq.js';
import {delVxlan} from '../net/link-vxlan.js';
import {connectOverlay, withOverlay} from '../overlay/connect.js';
import {lockHost} from '../overlay/host-lock.js';
import {parseOverlayConf, type OverlayNetConf} from '../overlay/net-conf.js';
import {syncHost, type HostSync} from '../overlay/sync.js';
import {findUplink} from '../overlay/uplink.js';
import {writeFileAtomic} from '../util/atomic.js';
import {UndoStack} from '../util/undo.js';
import {errorText} from '../util/error-text.js';
import {delegateAdd, delegateCheck, delegateDel} from './delegate.js';

/** Where ADD keeps the delegate config of one attachment. */
export function delegateFile(stateDir: string, network: string, containerId: string, ifname: string): string {
  return path.join(stateDir, 'overlay', `${network}-${containerId}-${ifname}.json`);
}

/** The bridge + host-local config over this host's subnet (flannel's delegate, with our masquerade kept apart). */
export function delegateConf(c: OverlayNetConf, s: Pick<HostSync, 'config' | 'lease' | 'mtu'>): Record<string, unknown> {
  const gateway = ipString(nextIP(s.lease.subnet.ip));
  const conf: Record<string, unknown> = {
    cniVersion: c.cniVersion,
    name: c.name,
    type: 'bridge',
    bridge: c.bridge,
    isGateway: true,
    ipMasq: false,
    mtu: s.mtu,
    hairpinMode: c.hairpinMode,
    ipam: {
      type: 'host-local',
      ranges: [[{subnet: cidrString(s.lease.subnet), gateway}]],
      routes: [{dst: cidrString(s.config.network), gw: gateway}],
    },
  };
  if (c.raw.dns !== undefined) conf.dns = c.raw.dns;
  return conf;
}

function masqTarget(c: OverlayNetConf, containerId: string): {chain: string; comment: string} {
  return {chain: masqChainName(c.name, containerId), comment: masqComment(c.name, containerId)};
}

/** The IPv4 addresses the attachment was given (prevResult, else the runtime's cache); none when unknown. */
function knownIps(c: OverlayNetConf, args: CmdArgs): string[] {
  try {
    const prev = c.prevResult ? parseResult(c.prevResult) : args.cachedResult;
    return (prev?.ips ?? []).map((i) => i.address.split('/')[0]).filter((ip) => !ip.includes(':'));
  } catch {
    return [];
  }
}

async function readDelegate(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(ErrorCode.IOFailure, `overlay: cannot read the kept delegate config ${file}: ${errorText(err)}`);
  }
}

/** The delegate's stdin: the kept config, with the runtime's prevResult for DEL and CHECK. */
function delegateStdin(conf: Record<string, unknown>, c: OverlayNetConf): string {
  return JSON.stringify(c.prevResult === undefined ? conf : {...conf, prevResult: c.prevResult});
}

async function add(ctx: PluginContext, args: CmdArgs): Promise<Result> {
  const c = parseOverlayConf(args.stdin);
  const file = delegateFile(ctx.paths.stateDir, c.name, args.containerId, args.ifname);
  const up = await findUplink(ctx.runner, c).catch((err: unknown) => {
    throw new CniError(ErrorCode.Internal, `overlay: ${errorText(err)}`);
  });
  // Held through the whole ADD only when this sync made the lease or the
  // device: the rollback below may remove them, so no other sync on this
  // host may start using them first. Otherwise it goes right after the sync.
  const lock = await lockHost(ctx.paths.stateDir);
  const conn = connectOverlay(c, ctx);
  let held = true;
  const unlock = (): void => {
    if (held) lock.release();
    held = false;
  };
  try {
    return await UndoStack.run(ctx.log, async (undo) => {
      const s = await syncHost(ctx.runner, conn.registry, {publicIP: up.publicIP, uplink: up.uplink, mtu: c.mtu}, ctx.hooks);
      if (s.created.lease) undo.push(`give up the new lease on ${cidrString(s.lease.subnet)}`, () => conn.registry.release(s.lease));
      if (s.created.device) undo.push(`delete ${s.device.name}`, () => delVxlan(ctx.runner, s.config.backend.vni));
      if (!s.created.lease && !s.created.device) unlock();

      const conf = delegateConf(c, s);
      await writeFileAtomic(file, JSON.stringify(conf) + '\n');
      undo.push(`remove ${file}`, () => rm(file, {force: true}));
      const delegated = {...args, stdin: JSON.stringify(conf)};
      const result = await delegateAdd(ctx, 'bridge', delegated);
      undo.push('delete the bridge attachment', () => delegateDel(ctx, 'bridge', delegated));

      if (c.ipMasq) {
        const prefix = s.config.network.prefix;
        const addrs = (result.ips ?? []).map((i) => i.address.split('/')[0]).filter((ip) => !ip.includes(':'));
        undo.push('remove masquerade rules', () => teardownIpMasq(ctx.runner, masqTarget(c, args.containerId), {kind: 'ips', ips: addrs}));
        await setupIpMasq(
          ctx.runner,
          masqTarget(c, args.containerId),
          addrs.map((ip) => `${ip}/${prefix}`),
        );
      }
      return result;
    });
  } finally {
    unlock();
    await conn.close();
  }
}

async function del(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseOverlayConf(args.stdin);
  const file = delegateFile(ctx.paths.stateDir, c.name, args.containerId, args.ifname);
  const conf = await readDelegate(file);
  // Without the kept config the bridge attachment was never made (or is gone already).
  if (conf) await delegateDel(ctx, 'bridge', {...args, stdin: delegateStdin(conf, c)});
  if (c.ipMasq) {
    const ips = knownIps(c, args);
    const sel: JumpSelector = ips.length > 0 ? {kind: 'ips', ips} : {kind: 'all'};
    await teardownIpMasq(ctx.runner, masqTarget(c, args.containerId), sel);
  }
  await rm(file, {force: true});
}

async function check(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseOverlayConf(args.stdin);
  const file = delegateFile(ctx.paths.stateDir, c.name, args.containerId, args.ifname);
  const conf = await readDelegate(file);
  if (!conf) throw new CniError(ErrorCode.Internal, `overlay: no kept delegate config for ${args.containerId}/${args.ifname} (${file})`);
  await delegateCheck(ctx, 'bridge', {...args, stdin: delegateStdin(conf, c)});
}

/** STATUS (CNI 1.1): ADD needs etcd; unreachable is "cannot ADD" (50). */
async function status(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const c = parseOverlayConf(args.stdin);
  await withOverlay(c, ctx, async ({registry}) => {
    await registry.getConfig();
  }).catch((err: unknown) => {
    throw new CniError(ErrorCode.PluginNotAvailable, errorText(err));
  });
}

export const plugin: Plugin = {type: 'overlay', add, del, check, status};
