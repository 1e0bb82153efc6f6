import {createEtcdClient} from '../etcd/client.js';
import type {EtcdClient} from '../etcd/types.js';
import type {OverlayNetConf} from './net-conf.js';
import {SubnetRegistry} from './registry.js';

/** The etcd client and subnet registry of one overlay network; close() when done. */
export interface OverlayConnection {
  etcd: EtcdClient;
  registry: SubnetRegistry;
  close(): Promise<void>;
}

export function connectOverlay(c: OverlayNetConf): OverlayConnection {
  const etcd = createEtcdClient(c.etcd);
  return {etcd, registry: new SubnetRegistry(etcd, {prefix: c.prefix}), close: () => etcd.close()};
}

/** Run `fn` with a connection, closed afterwards whatever happens. */
export async function withOverlay<T>(c: OverlayNetConf, fn: (conn: OverlayConnection) => Promise<T>): Promise<T> {
  const conn = connectOverlay(c);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
