import type {PluginContext} from '../exec/plugin.js';
import type {CmdArgs, Result} from '../cni/types.js';
import type {NetworkConfig, NetworkConfigList} from '../cni/config.js';
import {CniError, ErrorCode, toCniError} from '../cni/errors.js';
import {goMarshal, sortKeysDeep} from '../cni/json.js';
import {parseResult, resultToJson} from '../cni/results.js';
import {validateContainerId, validateIfName, validateNetworkName} from '../cni/validate.js';
import {versionGte} from '../cni/version.js';
import {isBuiltin, loadBuiltin} from '../plugins/registry.js';
import {findPlugin} from '../exec/invoke.js';
import {deleteCache, readCache, writeCache} from './state/result-cache.js';

/**
 * libcni's role (§8.2, §8.4): run a conflist's plugins in order, injecting
 * name, cniVersion, prevResult and runtimeConfig; DEL in reverse from the
 * cached result; CHECK. Built-in types run in-process, others by exec.
 */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifname: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** CNI_PATH for external plugins; default: ctx.env.CNI_PATH or /opt/cni/bin:/usr/lib/cni. */
  cniPath?: string[];
  /** Called with a built-in plugin's own ADD Result (spec 1.1.0 model, before rendering to the list's version). */
  onNativeResult?: (type: string, result: Result) => void;
}

type Verb = 'ADD' | 'DEL' | 'CHECK';
type Obj = Record<string, unknown>;

const DEFAULT_CNI_PATH = ['/opt/cni/bin', '/usr/lib/cni'];

function cniPathOf(ctx: PluginContext, rt: Pick<RuntimeConf, 'cniPath'>): string[] {
  if (rt.cniPath) return rt.cniPath;
  const env = ctx.env.CNI_PATH;
  return env ? env.split(':').filter(Boolean) : DEFAULT_CNI_PATH;
}

/**
 * Where each external (non built-in) plugin of the list runs from: the first
 * `<dir>/<type>` on CNI_PATH (default /opt/cni/bin:/usr/lib/cni). Throws the
 * reference's "failed to find plugin" error for one that is not there.
 */
export async function findExternalPlugins(ctx: PluginContext, list: NetworkConfigList): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of list.plugins) {
    const type = p.network.type;
    if (isBuiltin(type) || out.has(type)) continue;
    out.set(type, await findPlugin(type, cniPathOf(ctx, {}), ctx.cwd));
  }
  return out;
}

/** buildOneConfig: the plugin's object with the list's name/version, prevResult and runtimeConfig; sorted, compact. */
export function buildPluginConfig(
  list: NetworkConfigList,
  plugin: NetworkConfig,
  prevResult: Obj | undefined,
  capabilityArgs: Obj = {},
): string {
  const o: Obj = {...plugin.raw, name: list.name, cniVersion: list.cniVersion};
  if (prevResult) o.prevResult = prevResult;
  const caps = (plugin.raw.capabilities ?? {}) as Record<string, unknown>;
  const rc: Obj = {};
  for (const [cap, on] of Object.entries(caps)) if (on === true && capabilityArgs[cap] !== undefined) rc[cap] = capabilityArgs[cap];
  if (Object.keys(rc).length > 0) o.runtimeConfig = rc;
  return goMarshal(sortKeysDeep(o));
}

function cmdArgs(ctx: PluginContext, rt: RuntimeConf, stdin: string): CmdArgs {
  return {
    containerId: rt.containerId,
    netns: rt.netns,
    ifname: rt.ifname,
    args: (rt.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    path: cniPathOf(ctx, rt),
    stdin,
  };
}

/** One plugin invocation. ADD returns the result as that plugin would have printed it (its own version). */
async function invoke(
  ctx: PluginContext,
  verb: Verb,
  type: string,
  args: CmdArgs,
  cniVersion: string,
  onNative?: RuntimeConf['onNativeResult'],
): Promise<Result | undefined> {
  const plugin = await ctx.plugins.load(type);
  if (verb === 'DEL' || verb === 'CHECK') {
    await (verb === 'DEL' ? plugin.del(ctx, args) : plugin.check(ctx, args));
    return undefined;
  }
  const result = await plugin.add(ctx, args);
  // An executed plugin's result is already parsed from what it printed.
  if (!isBuiltin(type)) return result;
  onNative?.(type, result);
  // Render and re-parse, so the next plugin sees exactly what the exec'd plugin would print.
  return parseResult(resultToJson(result, cniVersion));
}

/**
 * Start importing the list's built-in plugins (and their IPAM) now, so module
 * loading overlaps the Docker lookups and the first `ip` calls instead of
 * following them. Errors surface later, where the plugin is actually run.
 */
export function preloadPlugins(list: NetworkConfigList): void {
  const types = new Set(list.plugins.flatMap((p) => [p.network.type, p.network.ipam?.type ?? '']).filter(Boolean));
  for (const t of types) loadBuiltin(t).catch(() => undefined);
}

function describe(plugin: NetworkConfig): string {
  const name = typeof plugin.raw.name === 'string' && plugin.raw.name ? ` name=${JSON.stringify(plugin.raw.name)}` : '';
  return `plugin type=${JSON.stringify(plugin.network.type)}${name}`;
}

/** ADD every plugin in order, threading prevResult; the cache is written after full success. */
export async function addNetworkList(ctx: PluginContext, list: NetworkConfigList, rt: RuntimeConf): Promise<Result> {
  validateContainerId(rt.containerId);
  validateNetworkName(list.name);
  validateIfName(rt.ifname);
  let prev: Result | undefined;
  for (const plugin of list.plugins) {
    const prevJson = prev ? resultToJson(prev, prev.cniVersion) : undefined;
    const stdin = buildPluginConfig(list, plugin, prevJson, rt.capabilityArgs);
    try {
      prev = await invoke(ctx, 'ADD', plugin.network.type, cmdArgs(ctx, rt, stdin), list.cniVersion, rt.onNativeResult);
    } catch (err) {
      throw toCniError(err).wrap(`${describe(plugin)} failed (add)`);
    }
    ctx.hooks?.crashPoint(`chain:add:${plugin.network.type}`);
  }
  if (!prev) throw new CniError(ErrorCode.Internal, `network ${JSON.stringify(list.name)} produced no result`);
  await writeCache(ctx.paths.cacheDir, {
    containerId: rt.containerId,
    ifName: rt.ifname,
    networkName: list.name,
    config: list.bytes,
    netns: rt.netns,
    cniArgs: rt.cniArgs,
    capabilityArgs: rt.capabilityArgs,
    result: resultToJson(prev, prev.cniVersion),
  });
  return prev;
}

/** The cached result, as parsed and converted to the list's version; undefined when absent/unusable. */
async function cachedPrevResult(
  ctx: PluginContext,
  list: NetworkConfigList,
  rt: RuntimeConf,
  dropBroken: boolean,
): Promise<{json: Obj; result: Result} | undefined> {
  try {
    const entry = await readCache(ctx.paths.cacheDir, list.name, rt.containerId, rt.ifname);
    if (!entry?.result) return undefined;
    const result = parseResult(entry.result);
    return {json: resultToJson(result, list.cniVersion), result};
  } catch (err) {
    if (!dropBroken) throw err;
    ctx.log.warn(`dropping unusable cached result for ${list.name}/${rt.containerId}/${rt.ifname}: ${toCniError(err).message}`);
    await deleteCache(ctx.paths.cacheDir, list.name, rt.containerId, rt.ifname);
    return undefined;
  }
}

/**
 * DEL every plugin in reverse order (prevResult from the cache for ≥ 0.4.0;
 * built-in plugins get the cached result in-process for any version, see
 * CmdArgs.cachedResult); the cache is removed after success.
 */
export async function delNetworkList(ctx: PluginContext, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  const cached = await cachedPrevResult(ctx, list, rt, true);
  const prev = versionGte(list.cniVersion, '0.4.0') ? cached?.json : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    const stdin = buildPluginConfig(list, plugin, prev, rt.capabilityArgs);
    try {
      await invoke(ctx, 'DEL', plugin.network.type, {...cmdArgs(ctx, rt, stdin), cachedResult: cached?.result}, list.cniVersion);
    } catch (err) {
      throw toCniError(err).wrap(`${describe(plugin)} failed (delete)`);
    }
  }
  try {
    await deleteCache(ctx.paths.cacheDir, list.name, rt.containerId, rt.ifname);
  } catch (err) {
    ctx.log.debug(`failed to remove cached result: ${toCniError(err).message}`);
  }
}

/** CHECK every plugin in order with the cached result (versions ≥ 0.4.0; disableCheck skips). */
export async function checkNetworkList(ctx: PluginContext, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  if (!versionGte(list.cniVersion, '0.4.0')) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`,
    );
  }
  if (list.disableCheck) return;
  const prev = (await cachedPrevResult(ctx, list, rt, false))?.json;
  for (const plugin of list.plugins) {
    const stdin = buildPluginConfig(list, plugin, prev, rt.capabilityArgs);
    await invoke(ctx, 'CHECK', plugin.network.type, cmdArgs(ctx, rt, stdin), list.cniVersion);
  }
}

/** One entry of `cni.dev/valid-attachments`, field for field as libcni's types.GCAttachment marshals it. */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export interface GcFailure {
  /** The plugin's description (type and name). */
  plugin: string;
  error: CniError;
}

/**
 * The GC verb of libcni's GCNetworkList (spec 1.1), for a list of version
 * >= 1.1.0 without disableGC: each plugin in order gets its own config with
 * the list's name and cniVersion and `cni.dev/valid-attachments` (and the
 * historical `cni.dev/attachments`), no prevResult or runtimeConfig, and an
 * empty CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME. A plugin that fails does not
 * stop the others: its error is returned. (Deleting the cached attachments
 * that are not valid, libcni's first half, is the caller's: see ./gc.ts.)
 * A built-in plugin without GC succeeds, as skel answers for it.
 */
export async function gcNetworkList(
  ctx: PluginContext,
  list: NetworkConfigList,
  valid: GcAttachment[],
  cniPath?: string[],
): Promise<GcFailure[]> {
  if (!versionGte(list.cniVersion, '1.1.0') || list.disableGC) return [];
  const failures: GcFailure[] = [];
  for (const p of list.plugins) {
    const stdin = goMarshal(
      sortKeysDeep({
        ...p.raw,
        name: list.name,
        cniVersion: list.cniVersion,
        'cni.dev/valid-attachments': valid,
        'cni.dev/attachments': valid,
      }),
    );
    const args: CmdArgs = {containerId: '', netns: '', ifname: '', args: '', path: cniPathOf(ctx, {cniPath}), stdin};
    try {
      const plugin = await ctx.plugins.load(p.network.type);
      if (plugin.gc) await plugin.gc(ctx, args);
    } catch (err) {
      failures.push({plugin: describe(p), error: toCniError(err)});
    }
  }
  return failures;
}
