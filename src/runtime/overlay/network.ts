/**
 * Overlay networks as the commands find them: one named by --conf/--net, or
 * every one in the conf dir (for `watch` and `doctor`). The overlay plugin's
 * config is read exactly as the plugin receives it (name and cniVersion from
 * the list), so a command and an ADD agree on every setting.
 */
import type {NetworkConfigList} from '../../cni/config.js';
import {CniError} from '../../cni/errors.js';
import {UsageError, UserError} from '../../errors.js';
import {parseOverlayConf, type OverlayNetConf} from '../../overlay/net-conf.js';
import {buildPluginConfig} from '../chain.js';
import {scanConfDir} from '../conf-dir.js';
import {resolveNetwork, typeOf, type NetworkChoice} from '../network-config.js';
import {errorText} from '../../util/error-text.js';

export interface OverlayNetwork {
  list: NetworkConfigList;
  conf: OverlayNetConf;
}

/** The overlay plugin's config of a list; undefined when the list has none. Throws a CniError when it is invalid. */
export function overlayOf(list: NetworkConfigList): OverlayNetConf | undefined {
  const p = list.plugins.find((x) => x.network.type === 'overlay');
  return p ? parseOverlayConf(buildPluginConfig(list, p, undefined)) : undefined;
}

export async function resolveOverlay(choice: NetworkChoice, confDir: string, cwd: string): Promise<OverlayNetwork> {
  if (!choice.conf && !choice.net) throw new UsageError('name the overlay network: --conf FILE or --net NAME');
  const {list} = await resolveNetwork(choice, confDir, cwd);
  let conf: OverlayNetConf | undefined;
  try {
    conf = overlayOf(list);
  } catch (err) {
    throw new UserError(`invalid network config ${list.name}: ${err instanceof CniError ? err.message : String(err)}`);
  }
  if (!conf) throw new UserError(`network ${list.name} is not an overlay network (type ${typeOf(list)})`);
  return {list, conf};
}

export interface OverlayFile {
  file: string;
  network?: OverlayNetwork;
  error?: string;
}

/** Every overlay network in the conf dir (and the overlay configs there that do not load, with why). */
export async function overlayNetworksIn(confDir: string): Promise<OverlayFile[]> {
  const out: OverlayFile[] = [];
  for (const f of await scanConfDir(confDir)) {
    if (!f.list) continue;
    try {
      const conf = overlayOf(f.list);
      if (conf) out.push({file: f.file, network: {list: f.list, conf}});
    } catch (err) {
      out.push({file: f.file, error: errorText(err)});
    }
  }
  return out;
}
