import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {CniError, ErrorCode, toCniError} from '../../cni/errors.js';
import type {Plugin, PluginContext} from '../../exec/plugin.js';
import type {CmdArgs, DNS, IPConfig, Result} from '../../cni/types.js';
import {hasFreeAddress, IPAllocator} from './allocator.js';
import {parseConf, type HostLocalConf} from './config.js';
import {ipString, parseIP, type Addr} from '../../util/ip.js';
import {rangeSetContains, rangeSetString, type RangeSet} from './range.js';
import {DiskStore, goFsError, listReservations, readReservations, releaseReservation, storeWriteProblem} from './store.js';
import {validAttachments} from '../../cni/gc-args.js';
import {UndoStack} from '../../util/undo.js';

/**
 * host-local IPAM (the reference's plugins/ipam/host-local main.go): shares
 * its on-disk store and flock with the reference binary, so both can serve
 * one network side by side.
 */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** resolv.conf → DNS: nameserver appends, domain takes the last, search/options append all fields. */
export function parseResolvConf(path: string): DNS {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw goFsError(err, 'open', path);
  }
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    switch (fields[0]) {
      case 'nameserver':
        (dns.nameservers ??= []).push(fields[1]);
        break;
      case 'domain':
        dns.domain = fields[1];
        break;
      case 'search':
        (dns.search ??= []).push(...fields.slice(1));
        break;
      case 'options':
        (dns.options ??= []).push(...fields.slice(1));
        break;
    }
  }
  return dns;
}

/** The config as the plugin's errors need it: every parse failure a CNI error. */
function loadConf(args: CmdArgs): HostLocalConf {
  try {
    return parseConf(args.stdin, args.args);
  } catch (err) {
    throw toCniError(err);
  }
}

function checkName(conf: HostLocalConf): void {
  if (!NAME_RE.test(conf.name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      conf.name ? 'invalid characters found in network name' : 'missing network name',
      conf.name,
    );
  }
}

function openStore(ctx: PluginContext, conf: HostLocalConf): DiskStore {
  checkName(conf);
  try {
    return DiskStore.open(conf.name, conf.dataDir || ctx.paths.networksDir, {}, ctx.ipamIndexDir);
  } catch (err) {
    throw toCniError(err);
  }
}

/** The requested IP (CNI_ARGS IP, args.cni.ips, runtimeConfig.ips) that falls in `set`, taken off the list. */
function takeRequested(requested: Map<string, Addr>, set: RangeSet): Addr | undefined {
  for (const [key, ip] of requested) {
    if (rangeSetContains(set, ip)) {
      requested.delete(key);
      return ip;
    }
  }
  return undefined;
}

/** ADD: one address per range set (its undo releases it), then every requested IP must have been placed. */
async function add(ctx: PluginContext, args: CmdArgs): Promise<Result> {
  const conf = loadConf(args);
  const result: Result = {cniVersion: conf.cniVersion || '0.1.0'};
  if (conf.resolvConf) result.dns = parseResolvConf(conf.resolvConf);
  const store = openStore(ctx, conf);
  const requested = new Map<string, Addr>(conf.requestedIPs.map((ip) => [ipString(ip), ip]));
  const ips = await UndoStack.run(ctx.log, async (undo) => {
    const got: IPConfig[] = [];
    for (const [idx, set] of conf.ranges.entries()) {
      const allocator = new IPAllocator(set, store, idx);
      try {
        got.push(await allocator.get(args.containerId, args.ifname, takeRequested(requested, set)));
      } catch (err) {
        throw new CniError(ErrorCode.Internal, `failed to allocate for range ${idx}: ${toCniError(err).message}`);
      }
      undo.push(`release the address of range ${idx}`, () => allocator.release(args.containerId, args.ifname));
    }
    if (requested.size > 0)
      throw new CniError(ErrorCode.Internal, `failed to allocate all requested IPs: ${[...requested.keys()].join(' ')}`);
    return got;
  });
  result.ips = ips;
  // Copies: the parsed config is shared with the next ADD of the same bytes (see parseConf).
  if (conf.routes.length > 0) result.routes = conf.routes.map((r) => ({...r}));
  ctx.log.debug(`host-local: ${args.containerId}/${args.ifname} got ${ips.map((i) => i.address).join(', ')}`);
  return result;
}

async function del(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = loadConf(args);
  const store = openStore(ctx, conf);
  const errors: string[] = [];
  for (const [idx, set] of conf.ranges.entries()) {
    try {
      await new IPAllocator(set, store, idx).release(args.containerId, args.ifname);
    } catch (err) {
      errors.push(toCniError(err).message);
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join(';'));
}

async function check(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = loadConf(args);
  const store = openStore(ctx, conf);
  const found = await store.withLock(() => store.findByID(args.containerId, args.ifname));
  if (!found) throw new CniError(ErrorCode.Internal, `host-local: Failed to find address added by container ${args.containerId}`);
}

/** GC (spec 1.1): release every reservation whose (id, ifname) is not in cni.dev/valid-attachments. */
async function gc(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = loadConf(args);
  const valid = validAttachments(args.stdin);
  const store = openStore(ctx, conf);
  const released = await store.withLock(() => listReservations(store).filter((r) => !valid.has(r.id, r.ifname) && releaseReservation(r)));
  for (const r of released) ctx.log.debug(`host-local gc: released ${r.ip} of ${r.id}/${r.ifname ?? ''}`);
}

/**
 * STATUS (spec 1.1): whether ADD could allocate: the store directory can be
 * written (or made), and every range set still has a free address. Error 50
 * otherwise, an exhausted set in ADD's words. Reads only, without the lock:
 * the answer is a snapshot either way.
 */
async function status(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = loadConf(args);
  checkName(conf);
  const dir = join(conf.dataDir || ctx.paths.networksDir, conf.name);
  const problem = storeWriteProblem(dir);
  if (problem) throw new CniError(ErrorCode.PluginNotAvailable, `host-local store cannot be written: ${problem}`);
  const reserved = readReservations(dir)
    .map((r) => parseIP(r.ip))
    .filter((ip): ip is Addr => ip !== undefined);
  for (const [idx, set] of conf.ranges.entries()) {
    if (!hasFreeAddress(set, reserved)) {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `failed to allocate for range ${idx}: no IP addresses available in range set: ${rangeSetString(set)}`,
      );
    }
  }
}

export const plugin: Plugin = {type: 'host-local', add, del, check, gc, status};
