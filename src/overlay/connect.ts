import type {Logger} from '../util/logger.js';
import {createEtcdClient} from '../etcd/client.js';
import {cidrString, type Cidr} from '../util/ip.js';
import type {EtcdClient} from '../etcd/types.js';
import type {OverlayNetConf} from './net-conf.js';
import {SubnetRegistry} from './registry.js';

/** The etcd client and subnet registry of one overlay network; close() when done. */
export interface OverlayConnection {
  etcd: EtcdClient;
  registry: SubnetRegistry;
  close(): Promise<void>;
}

export function connectOverlay(c: OverlayNetConf, log?: Logger): OverlayConnection {
  const etcd = createEtcdClient(c.etcd);
  const onLostRace = (s: Cidr): void => log?.debug(`overlay ${c.name}: another host took ${cidrString(s)} first; choosing again`);
  return {etcd, registry: new SubnetRegistry(etcd, {prefix: c.prefix, onLostRace}), close: () => etcd.close()};
}

/** Run `fn` with a connection, closed afterwards whatever happens. */
export async function withOverlay<T>(c: OverlayNetConf, fn: (conn: OverlayConnection) => Promise<T>, log?: Logger): Promise<T> {
  const conn = connectOverlay(c, log);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
