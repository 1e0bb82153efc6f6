/**
 * `overlay init`: write an overlay network's config into etcd, in flannel's
 * layout (`<prefix>/config`). Created only if absent; the same network again
 * is fine, a different one is refused and left as it is.
 */
import {UserError} from '../../errors.js';
import {resolveOptions, type EtcdTls} from '../../etcd/options.js';
import type {EtcdClientFactory} from '../../etcd/types.js';
import {cidrString, ipString} from '../../util/ip.js';
import {checkNetworkConfig, formatNetworkConfig, type NetworkConfigInput} from '../../overlay/config.js';
import {configKey, DEFAULT_PREFIX, parsePrefix} from '../../overlay/keys.js';
import {SubnetRegistry} from '../../overlay/registry.js';
import {errorText} from '../../util/error-text.js';

export interface OverlayInitRequest extends NetworkConfigInput {
  endpoints: string[];
  prefix?: string;
  tls?: EtcdTls;
  username?: string;
  password?: string;
}

export interface OverlayInitResult {
  key: string;
  /** false when the same network config was there already. */
  written: boolean;
  /** The config as stored (flannel's JSON). */
  stored: string;
  overlay: {network: string; subnetLen: number; subnetMin: string; subnetMax: string; vni: number; port: number};
}

/** `deps.etcdClient` makes the client (Deps has it); it is called only once the request checks out. */
export async function overlayInit(deps: {etcdClient: EtcdClientFactory}, req: OverlayInitRequest): Promise<OverlayInitResult> {
  // Everything is checked before a connection is made.
  const check = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new UserError(`${what}: ${errorText(err)}`);
    }
  };
  const options = {endpoints: req.endpoints, tls: req.tls, username: req.username, password: req.password};
  check('--etcd', () => resolveOptions(options));
  const prefix = check('--prefix', () => parsePrefix(req.prefix ?? DEFAULT_PREFIX));
  const input: NetworkConfigInput = {
    network: req.network,
    subnetLen: req.subnetLen,
    subnetMin: req.subnetMin,
    subnetMax: req.subnetMax,
    vni: req.vni,
    port: req.port,
  };
  const stored = check('overlay network', () => formatNetworkConfig(input));
  const cfg = checkNetworkConfig(input);
  const etcd = deps.etcdClient(options);
  try {
    const r = await new SubnetRegistry(etcd, {prefix}).putConfig(input).catch((err: unknown) => {
      if (err instanceof UserError) throw err;
      throw new UserError(errorText(err));
    });
    return {
      key: configKey(prefix),
      written: r.written,
      stored,
      overlay: {
        network: cidrString(cfg.network),
        subnetLen: cfg.subnetLen,
        subnetMin: ipString(cfg.subnetMin),
        subnetMax: ipString(cfg.subnetMax),
        vni: cfg.backend.vni,
        port: cfg.backend.port,
      },
    };
  } finally {
    await etcd.close();
  }
}
