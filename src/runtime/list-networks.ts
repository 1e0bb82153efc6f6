import {readdir} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {parseConf as parseHostLocal} from '../ipam/host-local/config.js';
import {parseIP} from '../util/ip.js';
import {rangeSetContains, rangeString, type RangeSet} from '../ipam/host-local/range.js';
import {scanConfDir} from './conf-dir.js';
import {errorText} from '../util/error-text.js';

export interface NetworkInfo {
  file: string;
  name: string;
  type: string;
  cniVersion: string;
  subnets: string[];
  /** host-local only: reserved addresses in the store. */
  used?: number;
  /** host-local only: addresses left in the ranges. */
  free?: number;
  ipam?: string;
  /** Set when the file does not load; the network is then unusable. */
  error?: string;
}

/**
 * `networks`: the configs of the conf dir with their type, subnets and, for
 * host-local, how many addresses are used and free in its store.
 */

/** Addresses a range set can hand out (its gateways excluded). */
function capacity(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.rangeEnd.getValue() - r.rangeStart.getValue() + 1n;
    const g = r.gateway.getValue();
    if (g >= r.rangeStart.getValue() && g <= r.rangeEnd.getValue()) n -= 1n;
  }
  return n;
}

async function storeFiles(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function describe(deps: Deps, file: string, list: NetworkConfigList): Promise<NetworkInfo> {
  const info: NetworkInfo = {
    file,
    name: list.name,
    type: list.plugins.map((p) => p.network.type).join('+'),
    cniVersion: list.cniVersion,
    subnets: [],
  };
  for (const p of list.plugins) {
    const ipam = p.network.ipam;
    if (!ipam?.type) continue;
    info.ipam = ipam.type;
    if (ipam.type !== 'host-local') continue;
    const conf = parseHostLocal(JSON.stringify({...p.raw, name: list.name, cniVersion: list.cniVersion}), '');
    info.subnets = conf.ranges.map((set) => set.map(rangeString).join(','));
    const dir = path.join(conf.dataDir || deps.paths.networksDir, list.name);
    const ips = (await storeFiles(dir)).map((f) => parseIP(f)).filter((a) => a !== undefined);
    let used = 0;
    let free = 0n;
    for (const set of conf.ranges) {
      const inSet = ips.filter((a) => rangeSetContains(set, a)).length;
      used += inSet;
      free += capacity(set) - BigInt(inSet);
    }
    info.used = used;
    info.free = free > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(free);
  }
  return info;
}

function unusable(file: string, error: string): NetworkInfo {
  return {file, name: '', type: '', cniVersion: '', subnets: [], error};
}

/** Every config in the conf dir, in lookup order (src/runtime/conf-dir.ts). */
export async function listNetworks(deps: Deps): Promise<NetworkInfo[]> {
  const out: NetworkInfo[] = [];
  for (const c of await scanConfDir(deps.confDir)) {
    if (!c.list) {
      out.push(unusable(c.file, c.error ?? ''));
      continue;
    }
    try {
      out.push(await describe(deps, c.file, c.list));
    } catch (err) {
      out.push(unusable(c.file, errorText(err)));
    }
  }
  return out;
}
