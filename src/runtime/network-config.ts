import {existsSync} from 'node:fs';
import path from 'node:path';
import {loadConfList, type NetworkConfigList} from '../cni/config.js';
import {findNetwork, loadNetworkFile} from './conf-dir.js';
import {CniError} from '../cni/errors.js';
import {UserError} from '../errors.js';
import {packagePath} from '../util/package-root.js';

/**
 * The network config a command works with: the one an attach or detach names
 * (--conf FILE, --net NAME from the conf dir, or the default network), or the
 * one a cache entry was made with; and what the runtime reads from a list
 * (its bridges, its type).
 */

/** The network used when neither --conf nor --net is given. */
export const DEFAULT_NETWORK = 'cni-docker';

/** configs/ shipped with the package. */
export function shippedConfigsDir(): string {
  return packagePath('configs');
}

export interface NetworkChoice {
  conf?: string;
  net?: string;
}

/** Resolve --conf FILE, --net NAME (in confDir), or the default network. */
export async function resolveNetwork(
  choice: NetworkChoice,
  confDir: string,
  cwd = process.cwd(),
): Promise<{list: NetworkConfigList; source: NetworkChoice}> {
  if (choice.conf && choice.net) throw new UserError('give either --conf or --net, not both');
  try {
    if (choice.conf) {
      const file = path.resolve(cwd, choice.conf);
      if (!existsSync(file)) throw new UserError(`no such config file: ${choice.conf}`);
      return {list: await loadNetworkFile(file), source: {conf: file}};
    }
    if (choice.net) return {list: await findNetwork(confDir, choice.net), source: {net: choice.net}};
    try {
      return {list: await findNetwork(confDir, DEFAULT_NETWORK), source: {net: DEFAULT_NETWORK}};
    } catch {
      const file = path.join(shippedConfigsDir(), `${DEFAULT_NETWORK}.conf`);
      return {list: await loadNetworkFile(file), source: {conf: file}};
    }
  } catch (err) {
    if (err instanceof CniError) throw new UserError(`invalid network config${choice.conf ? ` ${choice.conf}` : ''}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (choice.conf && (code === 'EISDIR' || code === 'EACCES')) {
      throw new UserError(`cannot read network config ${choice.conf}: ${code === 'EISDIR' ? 'it is a directory' : 'permission denied'}`);
    }
    throw err;
  }
}

/** The list as it was cached at ADD time. */
export function cachedList(configBytes: string): NetworkConfigList {
  return loadConfList(configBytes);
}

const BRIDGE_TYPES = ['bridge', 'overlay'];

function bridgeName(raw: Record<string, unknown>): string {
  return typeof raw.bridge === 'string' && raw.bridge ? raw.bridge : 'cni0';
}

/** Bridges a network list creates or uses (bridge and overlay plugins' `bridge`, default cni0). */
export function bridgesOf(list: NetworkConfigList): string[] {
  return list.plugins.filter((p) => BRIDGE_TYPES.includes(p.network.type)).map((p) => bridgeName(p.raw));
}

/** The bridges of overlay plugins: traffic from the vxlan device into them is forwarded too. */
export function overlayBridgesOf(list: NetworkConfigList): string[] {
  return list.plugins.filter((p) => p.network.type === 'overlay').map((p) => bridgeName(p.raw));
}

/** "bridge", or "bridge+portmap" for a chain. */
export function typeOf(list: NetworkConfigList): string {
  return list.plugins.map((p) => p.network.type).join('+');
}
