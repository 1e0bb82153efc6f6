import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import type {Result} from '../cni/types.js';
import {parseResult} from '../cni/results.js';
import {validateIfName} from '../cni/validate.js';
import {UserError} from '../errors.js';
import {getLink, listLinks} from '../net/link.js';
import {addNetworkList, buildPluginConfig, delNetworkList, findExternalPlugins, preloadPlugins, type RuntimeConf} from './chain.js';
import {cacheFile, listCache, readCache, type CacheEntry} from './state/result-cache.js';
import {openForwarding, releaseAfterFailedAttach, type ForwardMemo} from './forwarding/open-close.js';
import {deleteMeta, writeMeta, type AttachmentMeta} from './state/attachment-meta.js';
import {addBridgeUser} from './state/bridge-users.js';
import {entryKey} from './state/known-attachments.js';
import {lockedForward, waitForGc, withContainerLock} from './state/locks.js';
import {closePublished, openPublished, publishComment, publishRules} from './forwarding/published.js';
import {
  capabilityArgsFor,
  containerV4,
  declares,
  formatPort,
  mappingsOf,
  parsePublishList,
  PORT_MAPPINGS,
  sameMappings,
  type PortMapping,
} from './publish.js';
import {assertPortsFree} from './ports-in-use.js';
import {bridgesOf, overlayBridgesOf, resolveNetwork, typeOf, type NetworkChoice} from './network-config.js';
import {assertLiveTarget, resolveTargets, type Target} from './target.js';
import {summarize, type Attachment} from './attachment.js';
import {progressCounter, type Outcome, type Progress} from './outcome.js';
import {linkNamesViaPid} from '../net/netns.js';
import {BULK_CONCURRENCY, mapLimitSettled, settled} from '../util/concurrency.js';
import {isBuiltin} from '../plugins/registry.js';
import {errorText} from '../util/error-text.js';
import {toCniError} from '../cni/errors.js';

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
  /** --publish values, [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]: the portMappings capability. */
  publish?: string[];
  persist?: boolean;
  dryRun?: boolean;
  /** Called as each target finishes (a bulk attach's progress line). */
  progress?: (p: Progress) => void;
}

export interface DryRunPlan {
  dryRun: true;
  container: string;
  containerId: string;
  netns: string;
  ifname: string;
  cniArgs: [string, string][];
  /** What the plugins that declare a capability get in runtimeConfig (portMappings, ips). */
  capabilityArgs?: Record<string, unknown>;
  ports?: PortMapping[];
  config: unknown;
  steps: string[];
}

/** What one attach call asks of every target, validated once. */
interface Ask {
  cniArgs: [string, string][];
  publish: PortMapping[];
  capabilityArgs?: Record<string, unknown>;
  /** External plugins of the list and the file each runs from. */
  external: Map<string, string>;
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
    if (!ARG_KEY.test(k) || !ARG_VALUE.test(v))
      throw new UserError(`invalid --args ${JSON.stringify(kv)}: keys are [A-Za-z0-9_.-], values may not contain ';', '=' or spaces`);
    pairs.push([k, v]);
  }
  if (req.ip && !/^[0-9a-fA-F:.]+(\/\d+)?$/.test(req.ip)) throw new UserError(`invalid --ip ${JSON.stringify(req.ip)}`);
  if (req.mac && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(req.mac)) throw new UserError(`invalid --mac ${JSON.stringify(req.mac)}`);
  if (pairs.length > 0 && !pairs.some(([k]) => k === 'IgnoreUnknown')) pairs.unshift(['IgnoreUnknown', '1']);
  return pairs;
}

/** The link names in the target namespace (read in-process through the container's pid when known). */
async function linkNames(deps: Deps, netns: string, pid?: number): Promise<Set<string>> {
  return new Set(linkNamesViaPid(netns, pid) ?? (await listLinks(deps.runner, netns)).map((l) => l.ifname));
}

/** The first free ethN in the target namespace. */
export async function freeIfname(deps: Deps, netns: string, pid?: number): Promise<string> {
  const names = await linkNames(deps, netns, pid);
  for (let i = 0; ; i++) if (!names.has(`eth${i}`)) return `eth${i}`;
}

/**
 * A --ifname the target already has (and that is not this network's attachment,
 * handled above) is refused before anything is recorded or run: the failed
 * ADD's rollback, a DEL of that name, would otherwise delete that interface.
 */
async function assertIfnameFree(deps: Deps, target: Target, ifname: string): Promise<void> {
  if ((await linkNames(deps, target.netns, target.pid)).has(ifname))
    throw new UserError(`it already has an interface named ${ifname}; choose another --ifname`);
}

/** An attachment that is already there (cache present and its link still in the namespace). */
interface Existing {
  ifname: string;
  result: Result;
  entry: CacheEntry;
}

async function existingAttachment(deps: Deps, list: NetworkConfigList, target: Target, ifname?: string): Promise<Existing | undefined> {
  const entries = ifname
    ? [await readCache(deps.paths.cacheDir, list.name, target.containerId, ifname)].filter((e) => e !== undefined)
    : (await listCache(deps.paths.cacheDir, target.containerId)).filter((e) => e.networkName === list.name);
  for (const e of entries) {
    if (!e?.result || e.netns !== target.netns) continue;
    if (await getLink(deps.runner, e.ifName, target.netns).catch(() => undefined))
      return {ifname: e.ifName, result: parseResult(e.result), entry: e};
  }
  return undefined;
}

function plan(deps: Deps, list: NetworkConfigList, target: Target, ifname: string, ask: Ask): DryRunPlan {
  const steps: string[] = [];
  for (const p of list.plugins) {
    const ipam = p.network.ipam?.type ? ` with ${p.network.ipam.type} IPAM` : '';
    const from = ask.external.get(p.network.type);
    const rc = (JSON.parse(buildPluginConfig(list, p, undefined, ask.capabilityArgs)) as {runtimeConfig?: unknown}).runtimeConfig;
    steps.push(
      `ADD ${p.network.type}${from ? ` (${from})` : ''}${ipam}: ${target.kind === 'container' ? `container ${target.name}` : `netns ${target.name}`} ${ifname} (CNI_CONTAINERID=${target.containerId} CNI_NETNS=${target.netns})${rc ? ` runtimeConfig ${JSON.stringify(rc)}` : ''}`,
    );
  }
  for (const b of bridgesOf(list)) steps.push(`allow forwarding on bridge ${b} (chain CNI-DOCKER-FORWARD)`);
  if (ask.publish.length > 0)
    steps.push(
      `allow forwarding of the published ports ${ask.publish.map(formatPort).join(', ')} to the container's address (chain CNI-DOCKER-FORWARD)`,
    );
  steps.push(`cache the result in ${cacheFile(deps.paths.cacheDir, list.name, target.containerId, ifname)}`);
  return {
    dryRun: true,
    container: target.name,
    containerId: target.containerId,
    netns: target.netns,
    ifname,
    cniArgs: ask.cniArgs,
    capabilityArgs: ask.capabilityArgs,
    ports: ask.publish.length > 0 ? ask.publish : undefined,
    config: JSON.parse(list.bytes),
    steps,
  };
}

async function attachOne(
  deps: Deps,
  list: NetworkConfigList,
  source: NetworkChoice,
  target: Target,
  req: AttachRequest,
  ask: Ask,
  memo: ForwardMemo,
): Promise<Attachment | DryRunPlan> {
  if (req.dryRun) return attachLocked(deps, list, source, target, req, ask, memo);
  return withContainerLock(deps, target.containerId, () => attachLocked(deps, list, source, target, req, ask, memo));
}

type Base = Pick<Attachment, 'container' | 'containerId' | 'kind' | 'network' | 'type' | 'netns' | 'note'>;

/** The attachment already there, as attach reports it; refused when it publishes other ports than asked. */
async function reportExisting(
  deps: Deps,
  list: NetworkConfigList,
  target: Target,
  existing: Existing,
  base: Base,
  publish: PortMapping[],
): Promise<Attachment> {
  const ports = mappingsOf(existing.entry.capabilityArgs);
  if (publish.length > 0 && !sameMappings(ports, publish)) {
    const now = ports.length > 0 ? `publishes ${ports.map(formatPort).join(', ')}` : 'publishes no ports';
    throw new UserError(
      `${target.name} is already attached to ${list.name} as ${existing.ifname} and ${now}; detach it first to publish other ports`,
    );
  }
  const s = summarize(existing.result, existing.ifname, target.netns);
  const link = await getLink(deps.runner, existing.ifname, target.netns).catch(() => undefined);
  return {...base, ifname: existing.ifname, ...s, mac: s.mac ?? link?.address, ports: ports.length > 0 ? ports : undefined, existing: true};
}

/**
 * Record the attachment before its ADD: its bridges' user markers, then the
 * pending record (a crash between the two keeps a bridge open, which gc prunes,
 * never closes one in use). Published ports are checked and claimed by that
 * record under one lock, so two attaches cannot both take one.
 */
async function registerPending(
  deps: Deps,
  list: NetworkConfigList,
  target: Target,
  ifname: string,
  ask: Ask,
  meta: Omit<AttachmentMeta, 'pending'>,
): Promise<void> {
  const register = async (): Promise<void> => {
    await addBridgeUser(
      deps.paths.stateDir,
      bridgesOf(list),
      entryKey({networkName: list.name, containerId: target.containerId, ifName: ifname}),
    );
    const cniArgs = ask.cniArgs.length ? ask.cniArgs : undefined;
    await writeMeta(deps.paths.stateDir, list.name, target.containerId, ifname, {
      ...meta,
      pending: {
        network: list.name,
        containerId: target.containerId,
        ifname,
        config: list.bytes,
        netns: target.netns,
        cniArgs,
        capabilityArgs: ask.capabilityArgs,
      },
    });
  };
  if (ask.publish.length === 0) return register();
  await lockedForward(deps, async () => {
    await assertPortsFree(deps, list, target, ifname, ask.publish);
    await register();
  });
}

/** After a failed ADD: DEL whatever part of the chain ran; forget the record only when that worked (else detach/gc finish it). */
async function rollBackAdd(
  deps: Deps,
  list: NetworkConfigList,
  rt: RuntimeConf,
  key: string,
  publish: PortMapping[],
  memo: ForwardMemo,
): Promise<void> {
  const warn = (what: string) => (e: unknown) => deps.log.warn(`${what}: ${errorText(e)}`);
  if (publish.length > 0) await closePublished(deps, [publishComment(key)]).catch(warn('cleanup after failed attach'));
  const cleaned = await delNetworkList(deps, list, rt).then(
    () => true,
    (e: unknown) => {
      warn('cleanup after failed attach')(e);
      return false;
    },
  );
  if (!cleaned) return;
  await deleteMeta(deps.paths.stateDir, list.name, rt.containerId, rt.ifname);
  await releaseAfterFailedAttach(deps, list, memo).catch(warn('closing forwarding after failed attach'));
}

async function attachLocked(
  deps: Deps,
  list: NetworkConfigList,
  source: NetworkChoice,
  target: Target,
  req: AttachRequest,
  ask: Ask,
  memo: ForwardMemo,
): Promise<Attachment | DryRunPlan> {
  const {cniArgs, publish, capabilityArgs} = ask;
  assertLiveTarget(target);
  const base: Base = {
    container: target.name,
    containerId: target.containerId,
    kind: target.kind,
    network: list.name,
    type: typeOf(list),
    netns: target.netns,
    note: target.note,
  };
  if (req.ifname) validateIfNameForUser(req.ifname);
  const existing = await existingAttachment(deps, list, target, req.ifname);
  if (existing && !req.dryRun) return reportExisting(deps, list, target, existing, base, publish);
  if (req.ifname && !existing) await assertIfnameFree(deps, target, req.ifname);
  const ifname = req.ifname ?? (await freeIfname(deps, target.netns, target.pid));
  if (req.dryRun) {
    if (publish.length > 0) await assertPortsFree(deps, list, target, ifname, publish);
    return plan(deps, list, target, ifname, ask);
  }
  // The container MAC from the built-in plugins' own results (a 0.1/0.2 rendering has no
  // interfaces), trusted only when no external plugin ran that could have changed it.
  let nativeMac: string | undefined;
  const allBuiltin = list.plugins.every((p) => isBuiltin(p.network.type));
  const onNativeResult = (_type: string, r: Result): void => {
    const i = (r.interfaces ?? []).find((x) => x.name === ifname && x.sandbox === target.netns);
    if (allBuiltin && i?.mac) nativeMac = i.mac;
  };
  const rt: RuntimeConf = {containerId: target.containerId, netns: target.netns, ifname, cniArgs, capabilityArgs, onNativeResult};
  const meta = {name: target.name, kind: target.kind, source, createdAt: new Date().toISOString()};
  const bridges = bridgesOf(list);
  const key = entryKey({networkName: list.name, containerId: target.containerId, ifName: ifname});
  await registerPending(deps, list, target, ifname, ask, meta);
  deps.hooks.crashPoint('attach:pending');
  try {
    await waitForGc(deps);
  } catch (err) {
    // Nothing made yet but the record: forget it.
    await deleteMeta(deps.paths.stateDir, list.name, target.containerId, ifname);
    throw err;
  }
  // Forwarding opens alongside the ADD (src/runtime/forwarding/open-close.ts): the markers
  // written above keep a concurrent detach from closing it again.
  const forwarding = bridges.length > 0 ? settled(openForwarding(deps, bridges, memo, overlayBridgesOf(list), key)) : undefined;
  let result: Result;
  try {
    result = await addNetworkList(deps, list, rt);
    deps.hooks.crashPoint('attach:cached');
    const opened = await forwarding;
    if (opened && 'error' in opened) throw opened.error;
    if (publish.length > 0) {
      await openPublished(
        deps,
        publishRules({
          key,
          bridge: bridges.length === 1 ? bridges[0] : undefined,
          addresses: containerV4(result, ifname),
          mappings: publish,
        }),
      );
    }
  } catch (err) {
    await forwarding;
    await rollBackAdd(deps, list, rt, key, publish, memo);
    throw err;
  }
  const s = summarize(result, ifname, target.netns);
  const mac = s.mac ?? nativeMac ?? (await getLink(deps.runner, ifname, target.netns).catch(() => undefined))?.address;
  await writeMeta(deps.paths.stateDir, list.name, target.containerId, ifname, {...meta, mac, persist: req.persist || undefined});
  return {...base, ifname, ...s, mac, ports: publish.length > 0 ? publish : undefined};
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
  const publish = parsePublishList(req.publish ?? []);
  if (req.ifname) validateIfNameForUser(req.ifname);
  // The Docker lookups (read-only) go out first and overlap reading the
  // config; a config error still wins, as it would have come first.
  const looked = settled(resolveTargets(deps, req));
  const {list, source} = await resolveNetwork(req, deps.confDir, deps.cwd);
  if (!req.dryRun) {
    // The plugins load while Docker answers (the lookups went out first).
    preloadPlugins(list);
  }
  if (publish.length > 0 && !declares(list, PORT_MAPPINGS)) {
    throw new UserError(
      `--publish needs a plugin with the portMappings capability, and no plugin of network ${list.name} declares it (see configs/cni-docker-portmap.conflist)`,
    );
  }
  // An external plugin that is not there would fail the ADD half-way and then the DEL: refuse first.
  const external = await findExternalPlugins(deps, list).catch((err: unknown) => {
    throw new UserError(`network ${list.name}: ${toCniError(err).message} (set CNI_PATH)`);
  });
  const ask: Ask = {cniArgs, publish, capabilityArgs: capabilityArgsFor(list, {ip: req.ip, publish}), external};
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
  if (publish.length > 0 && targets.length > 1)
    throw new UserError('--publish can only be used with a single container: each host port can be published once');
  const memo: ForwardMemo = new Map();
  const outcomes = await mapLimitSettled(
    targets,
    BULK_CONCURRENCY,
    (t) => attachOne(deps, list, source, t, req, ask, memo),
    progressCounter(targets.length, req.progress),
  );
  const out: Outcome<Attachment | DryRunPlan> = {done: [], failures: []};
  outcomes.forEach((s, i) => {
    if (s.status === 'fulfilled') out.done.push(s.value);
    else
      out.failures.push({target: targets[i].name, message: `failed to attach ${targets[i].name} to ${list.name}: ${errorText(s.reason)}`});
  });
  return out;
}
