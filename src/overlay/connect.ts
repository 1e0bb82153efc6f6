import type {Logger} from '../util/logger.js';
import {cidrString, type Cidr} from '../util/ip.js';
import type {EtcdClient, EtcdClientFactory} from '../etcd/types.js';
import type {OverlayNetConf} from './net-conf.js';
import {SubnetRegistry} from './registry.js';

/** The etcd client and subnet registry of one overlay network; close() when done. */
export interface OverlayConnection {
  etcd: EtcdClient;
  registry: SubnetRegistry;
  close(): Promise<void>;
}

/** What a connection is made with: a Deps or a PluginContext will do. */
export interface OverlayDeps {
  /** Makes the client from the network config's etcd options. */
  etcdClient: EtcdClientFactory;
  /** Where a lost race for a subnet is told (debug). */
  log?: Logger;
}

export function connectOverlay(c: OverlayNetConf, deps: OverlayDeps): OverlayConnection {
  const etcd = deps.etcdClient(c.etcd);
  const {log} = deps;
  const onLostRace = (s: Cidr): void => log?.debug(`overlay ${c.name}: another host took ${cidrString(s)} first; choosing again`);
  return {etcd, registry: new SubnetRegistry(etcd, {prefix: c.prefix, onLostRace}), close: () => etcd.close()};
}

/** Run `fn` with a connection, closed afterwards whatever happens. */
export async function withOverlay<T>(c: OverlayNetConf, deps: OverlayDeps, fn: (conn: OverlayConnection) => Promise<T>): Promise<T> {
  const conn = connectOverlay(c, deps);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
