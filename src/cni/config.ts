import type {NetConf} from './types.js';
import {CniError, ErrorCode} from './errors.js';
import {parseJsonGo} from './json.js';
import {validateNetworkName} from './validate.js';
import {SUPPORTED_VERSIONS, compareVersions, isSupported, parseVersion} from './version.js';

/**
 * Network configs as libcni loads them (§8.1): a single plugin config
 * (.conf/.json) or a plugin list (.conflist), parsed from their bytes (the
 * conf dir is read by src/runtime/conf-dir.ts). Everything is validated before
 * anything touches the system.
 */
export interface NetworkConfig {
  network: NetConf;
  /** The plugin config object as written (before name/cniVersion injection). */
  raw: Record<string, unknown>;
}

export interface NetworkConfigList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: NetworkConfig[];
  /** The list's bytes (what the result cache stores). */
  bytes: string;
}

type Obj = Record<string, unknown>;

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function parseObject(bytes: string, what: string): Obj {
  let v: unknown;
  try {
    v = parseJsonGo(bytes);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error parsing ${what}: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new CniError(ErrorCode.DecodingFailure, `error parsing ${what}: not a JSON object`);
  return v as Obj;
}

/** Code 1 naming the supported versions for anything we cannot speak ("" means 0.1.0). */
export function checkConfigVersion(version: string, network: string): void {
  if (version !== '' && !isSupported(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `network ${JSON.stringify(network)} has unsupported cniVersion ${JSON.stringify(version)}; supported versions are ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
}

function pluginFromObject(o: Obj): NetworkConfig {
  if (typeof o.type !== 'string' || o.type === '') throw invalid("error parsing configuration: missing 'type'");
  return {network: o as NetConf, raw: o};
}

/** A single-plugin config (.conf / .json). */
export function loadConf(bytes: string): NetworkConfig {
  const o = parseObject(bytes, 'configuration');
  const conf = pluginFromObject(o);
  const name = typeof o.name === 'string' ? o.name : '';
  validateNetworkName(name);
  checkConfigVersion(typeof o.cniVersion === 'string' ? o.cniVersion : '', name);
  return conf;
}

function boolKey(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false'].includes(v.toLowerCase())) return v.toLowerCase() === 'true';
  throw invalid(`invalid value ${JSON.stringify(v)} for ${key}`);
}

/** cniVersion plus cniVersions: drop entries above what we support, the highest wins. */
function selectVersion(o: Obj): string {
  const candidates: string[] = [];
  if (o.cniVersion !== undefined && typeof o.cniVersion !== 'string') throw invalid('error parsing configuration list: invalid cniVersion');
  if (typeof o.cniVersion === 'string' && o.cniVersion !== '') candidates.push(o.cniVersion);
  if (o.cniVersions !== undefined) {
    if (!Array.isArray(o.cniVersions) || o.cniVersions.some((v) => typeof v !== 'string'))
      throw invalid('error parsing configuration list: invalid cniVersions');
    const max = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
    for (const v of o.cniVersions as string[]) {
      parseVersion(v);
      if (compareVersions(v, max) <= 0) candidates.push(v);
    }
  }
  if (candidates.length === 0) return (o.cniVersion as string | undefined) ?? '';
  return candidates.sort(compareVersions)[candidates.length - 1];
}

/** A plugin list (.conflist). `extraPlugins`: per-network `<dir>/<name>/*.conf` objects. */
export function loadConfList(bytes: string, extraPlugins: Obj[] = []): NetworkConfigList {
  const o = parseObject(bytes, 'configuration list');
  if (typeof o.name !== 'string' || o.name === '') throw invalid('error parsing configuration list: no name');
  validateNetworkName(o.name);
  const cniVersion = selectVersion(o);
  checkConfigVersion(cniVersion, o.name);
  const inlineOnly = boolKey(o, 'loadOnlyInlinedPlugins');
  if (inlineOnly && o.plugins === undefined)
    throw invalid('error parsing configuration list: loadOnlyInlinedPlugins is true, and no plugins key');
  if (o.plugins !== undefined && !Array.isArray(o.plugins)) throw invalid('error parsing configuration list: invalid plugins');
  const objs = [...((o.plugins as unknown[] | undefined) ?? []), ...(inlineOnly ? [] : extraPlugins)];
  if (objs.length === 0)
    throw invalid(o.plugins === undefined ? 'error parsing configuration list: no plugins in list' : 'no plugin configs found');
  const plugins = objs.map((p) => {
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalid('error parsing configuration: plugin is not an object');
    return pluginFromObject(p as Obj);
  });
  return {name: o.name, cniVersion, disableCheck: boolKey(o, 'disableCheck'), disableGC: boolKey(o, 'disableGC'), plugins, bytes};
}

/** A single config wrapped into a list, as libcni's ConfListFromConf does. */
export function confToList(conf: NetworkConfig): NetworkConfigList {
  const name = String(conf.network.name ?? '');
  const cniVersion = typeof conf.network.cniVersion === 'string' ? conf.network.cniVersion : '';
  const bytes = JSON.stringify({cniVersion, name, plugins: [conf.raw]});
  return {name, cniVersion, disableCheck: false, disableGC: false, plugins: [conf], bytes};
}

/** The `name` of a config file's bytes, or undefined when they do not parse or have none (skipped by a lookup by name). */
export function configName(bytes: string): string | undefined {
  try {
    const n = (JSON.parse(bytes) as Obj).name;
    return typeof n === 'string' ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A per-network plugin config (`<dir>/<name>/*.conf`, appended to a conflist's plugins). */
export function parsePluginFile(bytes: string, file: string): Record<string, unknown> {
  return parseObject(bytes, `configuration ${file}`);
}
