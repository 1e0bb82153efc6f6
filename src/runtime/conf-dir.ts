import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {configName, confToList, loadConf, loadConfList, parsePluginFile, type NetworkConfigList} from '../cni/config.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {errorText} from '../util/error-text.js';

/**
 * The conf dir (--conf-dir, $NETCONFPATH, /etc/cni/net.d) as libcni reads it,
 * for every reader: `--net NAME`, `networks`, `gc` and `doctor`. One order
 * everywhere, libcni's LoadNetworkConf order: the *.conflist files sorted by
 * name, then the *.conf and *.json files sorted by name; a lookup by name
 * takes the first file whose name matches. Parsing is src/cni/config.ts's.
 */
const LIST_EXT = '.conflist';
const SINGLE_EXTS = ['.conf', '.json'];

/** The config files of `dir` in lookup order; none when it does not exist. */
export async function confFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lists = names.filter((n) => path.extname(n) === LIST_EXT);
  const singles = names.filter((n) => SINGLE_EXTS.includes(path.extname(n)));
  return [...lists, ...singles].map((n) => path.join(dir, n));
}

/** A conflist's per-network plugins, `<dir>/<name>/*.conf` sorted by name. */
async function extraPluginsFor(dir: string, name: string): Promise<Record<string, unknown>[]> {
  const sub = path.join(dir, name);
  let names: string[];
  try {
    names = (await readdir(sub)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Record<string, unknown>[] = [];
  for (const n of names.filter((x) => path.extname(x) === '.conf')) {
    const f = path.join(sub, n);
    out.push(parsePluginFile(await readFile(f, 'utf8'), f));
  }
  return out;
}

/** Load a file given by path: .conflist as a list (with its per-network plugins), anything else as a single config. */
export async function loadNetworkFile(file: string): Promise<NetworkConfigList> {
  const bytes = await readFile(file, 'utf8');
  if (path.extname(file) === LIST_EXT) {
    const name = configName(bytes);
    return loadConfList(bytes, name ? await extraPluginsFor(path.dirname(file), name) : []);
  }
  return confToList(loadConf(bytes));
}

/** `--net NAME` (libcni LoadNetworkConf): the first file in lookup order whose name matches; other files are not parsed. */
export async function findNetwork(dir: string, name: string): Promise<NetworkConfigList> {
  const files = await confFiles(dir);
  if (files.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  for (const f of files) {
    const bytes = await readFile(f, 'utf8');
    if (configName(bytes) !== name) continue;
    if (path.extname(f) === LIST_EXT) return loadConfList(bytes, await extraPluginsFor(dir, name));
    return confToList(loadConf(bytes));
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configuration with name ${JSON.stringify(name)} in ${dir}`);
}

/** A config file of the conf dir: the list, or why it does not load. */
export interface ConfFile {
  file: string;
  list?: NetworkConfigList;
  error?: string;
}

/** Every config of the conf dir, in lookup order, each loaded or with its error; none when the dir cannot be read. */
export async function scanConfDir(dir: string): Promise<ConfFile[]> {
  let files: string[];
  try {
    files = await confFiles(dir);
  } catch {
    return [];
  }
  const out: ConfFile[] = [];
  for (const file of files) {
    try {
      out.push({file, list: await loadNetworkFile(file)});
    } catch (err) {
      out.push({file, error: errorText(err)});
    }
  }
  return out;
}
