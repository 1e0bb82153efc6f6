import type {Runner} from './runner.js';
import type {CmdArgs, Result} from '../cni/types.js';
import type {CniFuncs} from '../cni/skel.js';
import type {Logger} from '../util/logger.js';
import type {Hooks} from '../util/hooks.js';
import type {EtcdClientFactory} from '../etcd/types.js';

/**
 * What a plugin is and what it runs with. A plugin (main or IPAM) gets its
 * subprocess runner, logger, state paths, etcd client factory and a way to run other plugins from
 * its caller: it never reaches for them itself, so tests can hand it fakes and
 * delegation needs no knowledge of where the delegate comes from.
 */

/** Filesystem locations a plugin or runtime may use; overridable in tests. */
export interface StatePaths {
  /** host-local default data dir (reference: /var/lib/cni/networks). */
  networksDir: string;
  /** libcni cache dir root (reference: /var/lib/cni); results live in `<cacheDir>/results`. */
  cacheDir: string;
  /** Our own state (reference counts, persisted leases, ...). */
  stateDir: string;
  /** DHCP daemon socket default. */
  dhcpSocket: string;
}

export const defaultPaths: StatePaths = {
  networksDir: '/var/lib/cni/networks',
  cacheDir: '/var/lib/cni',
  stateDir: '/var/lib/cni-docker',
  dhcpSocket: '/run/cni/dhcp.sock',
};

/** Everything a plugin needs from the outside world, injected. */
export interface PluginContext {
  runner: Runner;
  log: Logger;
  paths: StatePaths;
  /** Environment of the caller (for delegating to external plugins). */
  env: Record<string, string | undefined>;
  /** The caller's working directory (relative CNI_PATH entries); default this process's. */
  cwd?: string;
  /** Test hooks at step boundaries (src/util/hooks.ts); absent: none. */
  hooks?: Hooks;
  /** The plugins this one may delegate to (its IPAM), by type: the reference's pkg/invoke. */
  plugins: PluginLoader;
  /** Makes the etcd client of an overlay network (the overlay plugin's subnet leases). */
  etcdClient: EtcdClientFactory;
  /**
   * Where host-local keeps its reservation indexes (src/ipam/host-local/reservation-index.ts):
   * the CLI's state dir. Absent in the plugin executables, which read the store as the reference does.
   */
  ipamIndexDir?: string;
}

/**
 * One CNI plugin (main or IPAM). ADD returns the result in the internal model;
 * rendering to the config's cniVersion is the caller's job (skel or chain).
 */
export interface Plugin {
  readonly type: string;
  add(ctx: PluginContext, args: CmdArgs): Promise<Result>;
  del(ctx: PluginContext, args: CmdArgs): Promise<void>;
  check(ctx: PluginContext, args: CmdArgs): Promise<void>;
  status?(ctx: PluginContext, args: CmdArgs): Promise<void>;
  gc?(ctx: PluginContext, args: CmdArgs): Promise<void>;
}

/** Finds a plugin by its CNI `type`; throws the reference's error when there is none. */
export interface PluginLoader {
  load(type: string): Promise<Plugin>;
}

/** The plugin's commands with its context bound: what skel dispatches to. */
export function withContext(plugin: Plugin, ctx: PluginContext): CniFuncs {
  const {gc, status} = plugin;
  return {
    add: (args) => plugin.add(ctx, args),
    del: (args) => plugin.del(ctx, args),
    check: (args) => plugin.check(ctx, args),
    gc: gc && ((args) => gc.call(plugin, ctx, args)),
    status: status && ((args) => status.call(plugin, ctx, args)),
  };
}
