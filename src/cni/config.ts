import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import type {NetConf} from './types.js';
import {CniError, ErrorCode} from './errors.js';
import {parseJsonGo} from './json.js';
import {validateNetworkName} from './validate.js';
import {SUPPORTED_VERSIONS, compareVersions, isSupported, parseVersion} from './version.js';

/**
 * Network configs as libcni loads them (§8.1): a single plugin config
 * (.conf/.json) or a plugin list (.conflist), found by name in a conf dir.
 * Everything is validated before anything touches the system.
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
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CniError(ErrorCode.DecodingFailure, `error parsing ${what}: not a JSON object`);
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
    if (!Array.isArray(o.cniVersions) || o.cniVersions.some((v) => typeof v !== 'string')) throw invalid('error parsing configuration list: invalid cniVersions');
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
  if (inlineOnly && o.plugins === undefined) throw invalid('error parsing configuration list: loadOnlyInlinedPlugins is true, and no plugins key');
  if (o.plugins !== undefined && !Array.isArray(o.plugins)) throw invalid('error parsing configuration list: invalid plugins');
  const objs = [...((o.plugins as unknown[] | undefined) ?? []), ...(inlineOnly ? [] : extraPlugins)];
  if (objs.length === 0) throw invalid(o.plugins === undefined ? 'error parsing configuration list: no plugins in list' : 'no plugin configs found');
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

async function filesWith(dir: string, exts: string[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => exts.includes(path.extname(n))).sort().map((n) => path.join(dir, n));
}

async function extraPluginsFor(dir: string, name: string): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const f of await filesWith(path.join(dir, name), ['.conf'])) out.push(parseObject(await readFile(f, 'utf8'), `configuration ${f}`));
  return out;
}

function nameOf(bytes: string): string | undefined {
  try {
    const n = (JSON.parse(bytes) as Obj).name;
    return typeof n === 'string' ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * libcni LoadNetworkConf: the first *.conflist (lexical order) whose name
 * matches, else the first *.conf / *.json, wrapped into a list.
 */
export async function findNetwork(dir: string, name: string): Promise<NetworkConfigList> {
  const lists = await filesWith(dir, ['.conflist']);
  for (const f of lists) {
    const bytes = await readFile(f, 'utf8');
    if (nameOf(bytes) !== name) continue;
    return loadConfList(bytes, await extraPluginsFor(dir, name));
  }
  const confs = await filesWith(dir, ['.conf', '.json']);
  if (lists.length === 0 && confs.length === 0) throw invalid(`no net configurations found in ${dir}`);
  for (const f of confs) {
    const bytes = await readFile(f, 'utf8');
    if (nameOf(bytes) !== name) continue;
    return confToList(loadConf(bytes));
  }
  throw invalid(`no net configuration with name ${JSON.stringify(name)} in ${dir}`);
}

/** Load a file given by path: .conflist as a list, anything else as a single config. */
export async function loadNetworkFile(file: string): Promise<NetworkConfigList> {
  const bytes = await readFile(file, 'utf8');
  if (path.extname(file) === '.conflist') {
    const name = nameOf(bytes);
    return loadConfList(bytes, name ? await extraPluginsFor(path.dirname(file), name) : []);
  }
  return confToList(loadConf(bytes));
}
