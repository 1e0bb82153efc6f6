/**
 * The internal result model: the spec 1.1.0 Result. Every version's JSON is
 * parsed into this and rendered from it (see results.ts).
 */
export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** Index into `interfaces`; undefined when the plugin did not set one (IPAM results). */
  interface?: number;
  /** Host address with prefix, e.g. "10.15.20.2/24" or "fd00::2/64". */
  address: string;
  gateway?: string;
}

export interface Route {
  /** Destination network, e.g. "0.0.0.0/0". */
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

/** What a plugin is called with: the CNI_* environment plus the config bytes. */
export interface CmdArgs {
  containerId: string;
  /** Path of the target network namespace; may be empty for DEL. */
  netns: string;
  ifname: string;
  /** Raw CNI_ARGS string ("K=V;K2=V2"), possibly empty. */
  args: string;
  /** CNI_PATH split on ':'. */
  path: string[];
  /** The network config exactly as received on stdin. */
  stdin: string;
  /**
   * In-process only (never part of the exec protocol): on DEL, the runtime's
   * cached ADD result for this attachment, whatever the config's version. A
   * config before 0.4.0 carries no prevResult; a built-in plugin may use this
   * to start work it would otherwise have to wait for a read to plan. The
   * state it leaves must be the same as without it.
   */
  cachedResult?: Result;
}

/** The fields every plugin config has. Plugin-specific keys are read by each plugin's parseConf. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  ipam?: {type?: string; [key: string]: unknown};
  dns?: DNS;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  prevResult?: unknown;
  [key: string]: unknown;
}
