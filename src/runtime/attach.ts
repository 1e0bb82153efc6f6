import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import type {Result} from '../cni/types.js';
import {parseResult} from '../cni/results.js';
import {validateIfName} from '../cni/validate.js';
import {UserError} from '../errors.js';
import {getLink, listLinks} from '../net/link.js';
import {addNetworkList, delNetworkList, preloadPlugins} from './chain.js';
import {listCache, readCache} from './state/result-cache.js';
import {openForwarding, releaseAfterFailedAttach, type ForwardMemo} from './forwarding/open-close.js';
import {deleteMeta, writeMeta} from './state/attachment-meta.js';
import {addBridgeUser} from './state/bridge-users.js';
import {entryKey} from './state/known-attachments.js';
import {withContainerLock} from './state/locks.js';
import {bridgesOf, resolveNetwork, typeOf, type NetworkChoice} from './network-config.js';
import {assertLiveTarget, resolveTargets, type Target} from './target.js';
import {summarize, type Attachment} from './attachment.js';
import type {Outcome} from './outcome.js';
import {linkNamesViaPid} from '../net/netns.js';
import {BULK_CONCURRENCY, mapLimitSettled, settled} from '../util/concurrency.js';
import {isBuiltin} from '../plugins/registry.js';
import {errorText} from '../util/error-text.js';

export interface AttachRequest extends NetworkChoice {
  /** Container names, Ids or unique prefixes. */
  containers: string[];
  /** Plain netns paths instead of containers. */
  netns?: string[];
  /** Container id to use with a single --netns (default: the netns file name). */
  id?: string;
  ifname?: string;
  ip?: string;
  mac?: string;
  /** Extra CNI_ARGS as K=V. */
  args?: string[];
  persist?: boolean;
  dryRun?: boolean;
}

export interface DryRunPlan {
  dryRun: true;
  container: string;
  containerId: string;
  netns: string;
  ifname: string;
  cniArgs: [string, string][];
  config: unknown;
  steps: string[];
}

const ARG_KEY = /^[A-Za-z0-9_.-]+$/;
const ARG_VALUE = /^[^;=\s]*$/;

/** CNI_ARGS from --ip/--mac/--args; IgnoreUnknown=1 so each plugin takes only its own keys. */
export function buildCniArgs(req: Pick<AttachRequest, 'ip' | 'mac' | 'args'>): [string, string][] {
  const pairs: [string, string][] = [];
  if (req.ip) pairs.push(['IP', req.ip]);
  if (req.mac) pairs.push(['MAC', req.mac]);
  for (const kv of req.args ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UserError(`invalid --args ${JSON.stringify(kv)}: expected KEY=VALUE`);
    const [k, v] = [kv.slice(0, i), kv.slice(i + 1)];
    if (!ARG_KEY.test(k) || !ARG_VALUE.test(v)) throw new UserError(`invalid --args ${JSON.stringify(kv)}: keys are [A-Za-z0-9_.-], values may not contain ';', '=' or spaces`);
    pairs.push([k, v]);
  }
  if (req.ip && !/^[0-9a-fA-F:.]+(\/\d+)?$/.test(req.ip)) throw new UserError(`invalid --ip ${JSON.stringify(req.ip)}`);
  if (req.mac && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(req.mac)) throw new UserError(`invalid --mac ${JSON.stringify(req.mac)}`);
  if (pairs.length > 0 && !pairs.some(([k]) => k === 'IgnoreUnknown')) pairs.unshift(['IgnoreUnknown', '1']);
  return pairs;
}

/** The first free ethN in the target namespace (read in-process through the container's pid when known). */
export async function freeIfname(deps: Deps, netns: string, pid?: number): Promise<string> {
  const names = new Set(linkNamesViaPid(netns, pid) ?? (await listLinks(deps.runner, netns)).map((l) => l.ifname));
  for (let i = 0; ; i++) if (!names.has(`eth${i}`)) return `eth${i}`;
}

/** An attachment that is already there (cache present and its link still in the namespace). */
async function existingAttachment(deps: Deps, list: NetworkConfigList, target: Target, ifname?: string): Promise<{ifname: string; result: Result} | undefined> {
  const entries = ifname
    ? [await readCache(deps.paths.cacheDir, list.name, target.containerId, ifname)].filter((e) => e !== undefined)
    : (await listCache(deps.paths.cacheDir, target.containerId)).filter((e) => e.networkName === list.name);
  for (const e of entries) {
    if (!e?.result || e.netns !== target.netns) continue;
    if (await getLink(deps.runner, e.ifName, target.netns).catch(() => undefined)) return {ifname: e.ifName, result: parseResult(e.result)};
  }
  return undefined;
}

function plan(list: NetworkConfigList, target: Target, ifname: string, cniArgs: [string, string][]): DryRunPlan {
  const steps: string[] = [];
  for (const p of list.plugins) {
    const ipam = p.network.ipam?.type ? ` with ${p.network.ipam.type} IPAM` : '';
    steps.push(`ADD ${p.network.type}${ipam}: ${target.kind === 'container' ? `container ${target.name}` : `netns ${target.name}`} ${ifname} (CNI_CONTAINERID=${target.containerId} CNI_NETNS=${target.netns})`);
  }
  for (const b of bridgesOf(list)) steps.push(`allow forwarding on bridge ${b} (chain CNI-DOCKER-FORWARD)`);
  steps.push(`cache the result in /var/lib/cni/results/${list.name}-${target.containerId}-${ifname}`);
  return {dryRun: true, container: target.name, containerId: target.containerId, netns: target.netns, ifname, cniArgs, config: JSON.parse(list.bytes), steps};
}

async function attachOne(deps: Deps, list: NetworkConfigList, source: NetworkChoice, target: Target, req: AttachRequest, cniArgs: [string, string][], memo: ForwardMemo): Promise<Attachment | DryRunPlan> {
  if (req.dryRun) return attachLocked(deps, list, source, target, req, cniArgs, memo);
  return withContainerLock(deps, target.containerId, () => attachLocked(deps, list, source, target, req, cniArgs, memo));
}

async function attachLocked(deps: Deps, list: NetworkConfigList, source: NetworkChoice, target: Target, req: AttachRequest, cniArgs: [string, string][], memo: ForwardMemo): Promise<Attachment | DryRunPlan> {
  assertLiveTarget(target);
  const base = {container: target.name, containerId: target.containerId, kind: target.kind, network: list.name, type: typeOf(list), netns: target.netns, note: target.note};
  if (req.ifname) validateIfNameForUser(req.ifname);
  const existing = await existingAttachment(deps, list, target, req.ifname);
  if (existing && !req.dryRun) {
    const s = summarize(existing.result, existing.ifname, target.netns);
    const link = await getLink(deps.runner, existing.ifname, target.netns).catch(() => undefined);
    return {...base, ifname: existing.ifname, ...s, mac: s.mac ?? link?.address, existing: true};
  }
  const ifname = req.ifname ?? (await freeIfname(deps, target.netns, target.pid));
  if (req.dryRun) return plan(list, target, ifname, cniArgs);
  // The container MAC from the built-in plugins' own results (a 0.1/0.2 rendering has no
  // interfaces), trusted only when no external plugin ran that could have changed it.
  let nativeMac: string | undefined;
  const allBuiltin = list.plugins.every((p) => isBuiltin(p.network.type));
  const onNativeResult = (_type: string, r: Result): void => {
    const i = (r.interfaces ?? []).find((x) => x.name === ifname && x.sandbox === target.netns);
    if (allBuiltin && i?.mac) nativeMac = i.mac;
  };
  const rt = {containerId: target.containerId, netns: target.netns, ifname, cniArgs, onNativeResult};
  const meta = {name: target.name, kind: target.kind, source, createdAt: new Date().toISOString()};
  const bridges = bridgesOf(list);
  // Its bridges' user markers first: a crash between the two keeps a bridge open (gc prunes the marker), never closes one in use.
  await addBridgeUser(deps.paths.stateDir, bridges, entryKey({networkName: list.name, containerId: target.containerId, ifName: ifname}));
  await writeMeta(deps.paths.stateDir, list.name, target.containerId, ifname, {
    ...meta,
    pending: {network: list.name, containerId: target.containerId, ifname, config: list.bytes, netns: target.netns, cniArgs: cniArgs.length ? cniArgs : undefined},
  });
  deps.hooks.crashPoint('attach:pending');
  // Forwarding opens alongside the ADD (src/runtime/forwarding/open-close.ts): the markers
  // written above keep a concurrent detach from closing it again.
  const forwarding = bridges.length > 0 ? settled(openForwarding(deps, bridges, memo)) : undefined;
  let result: Result;
  try {
    result = await addNetworkList(deps, list, rt);
    deps.hooks.crashPoint('attach:cached');
    const opened = await forwarding;
    if (opened && 'error' in opened) throw opened.error;
  } catch (err) {
    await forwarding;
    // Leave nothing half-made: DEL whatever part of the chain did run.
    const cleaned = await delNetworkList(deps, list, rt).then(
      () => true,
      (e: unknown) => {
        deps.log.warn(`cleanup after failed attach: ${errorText(e)}`);
        return false;
      },
    );
    // Keep the pending record when cleanup failed, so detach/gc can finish it.
    if (cleaned) {
      await deleteMeta(deps.paths.stateDir, list.name, target.containerId, ifname);
      await releaseAfterFailedAttach(deps, list, memo).catch((e: unknown) => deps.log.warn(`closing forwarding after failed attach: ${errorText(e)}`));
    }
    throw err;
  }
  const s = summarize(result, ifname, target.netns);
  const mac = s.mac ?? nativeMac ?? (await getLink(deps.runner, ifname, target.netns).catch(() => undefined))?.address;
  await writeMeta(deps.paths.stateDir, list.name, target.containerId, ifname, {...meta, mac, persist: req.persist || undefined});
  return {...base, ifname, ...s, mac};
}

function validateIfNameForUser(ifname: string): void {
  try {
    validateIfName(ifname);
  } catch (err) {
    throw new UserError(`invalid --ifname ${JSON.stringify(ifname)}: ${errorText(err)}`);
  }
}

/**
 * Attach every target; independent containers are handled concurrently. All
 * input is validated and every target resolved before anything is touched; a
 * target that then fails is rolled back and reported, the others proceed.
 */
export async function attach(deps: Deps, req: AttachRequest): Promise<Outcome<Attachment | DryRunPlan>> {
  const cniArgs = buildCniArgs(req);
  if (req.ifname) validateIfNameForUser(req.ifname);
  // The Docker lookups (read-only) go out first and overlap reading the
  // config; a config error still wins, as it would have come first.
  const looked = settled(resolveTargets(deps, req));
  const {list, source} = await resolveNetwork(req, deps.confDir, deps.cwd);
  if (!req.dryRun) {
    // The plugins load while Docker answers (the lookups went out first).
    preloadPlugins(list);
  }
  const resolved = await looked;
  if ('error' in resolved) throw resolved.error;
  const targets = resolved.value;
  await deps.hooks.pausePoint('attach:targets');
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.containerId)) throw new UserError(`container ${t.name} is named twice`);
    seen.add(t.containerId);
  }
  if (req.ip && targets.length > 1) throw new UserError('--ip can only be used with a single container');
  if (req.mac && targets.length > 1) throw new UserError('--mac can only be used with a single container');
  const memo: ForwardMemo = new Map();
  const outcomes = await mapLimitSettled(targets, BULK_CONCURRENCY, (t) => attachOne(deps, list, source, t, req, cniArgs, memo));
  const out: Outcome<Attachment | DryRunPlan> = {done: [], failures: []};
  outcomes.forEach((s, i) => {
    if (s.status === 'fulfilled') out.done.push(s.value);
    else out.failures.push({target: targets[i].name, message: `failed to attach ${targets[i].name} to ${list.name}: ${errorText(s.reason)}`});
  });
  return out;
}
