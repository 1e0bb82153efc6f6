import type {Runner} from '../exec/runner.js';
import type {CmdArgs, Result} from './types.js';
import type {Hooks} from '../util/hooks.js';

/** Logging sink: plugins never write to stdout (it belongs to the result JSON). */
export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}

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
