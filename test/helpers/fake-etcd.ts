/**
 * An in-memory EtcdClient for unit tests of the logic above it (the subnet
 * registry): revisions, versions, leases and the compare-and-put semantics of
 * the real store; no network, no watch. `beforeCreate` lets a test play
 * another host that writes first. `factory` hands this store out as the
 * client of every network (Deps.etcdClient, PluginContext.etcdClient) and
 * records the options each client was made with; `noEtcd` is the factory for
 * code that must not reach etcd at all.
 */
import {AssertionError} from 'node:assert';
import type {EtcdOptions} from '../../src/etcd/options.js';
import type {CreateResult, EtcdClient, EtcdClientFactory, KeyValue, Lease, PutOptions, Watch} from '../../src/etcd/types.js';

/** For contexts whose code never reaches etcd: a client asked for fails the test. */
export const noEtcd: EtcdClientFactory = (o) => {
  throw new AssertionError({message: `no etcd client expected (asked for one of ${o.endpoints.join(', ')})`});
};

export class FakeEtcd implements EtcdClient {
  readonly endpoints = ['http://fake:2379'];
  readonly kv = new Map<string, KeyValue>();
  readonly leases = new Map<string, number>();
  revision = 1;
  granted = 0;
  revoked: string[] = [];
  beforeCreate?: (key: string) => void;
  /** The options of every client `factory` made, in order. */
  readonly made: EtcdOptions[] = [];
  /** How often close() was called. */
  closed = 0;
  private nextLease = 1000;

  /** A client factory that hands out this store. */
  readonly factory: EtcdClientFactory = (o) => {
    this.made.push(o);
    return this;
  };

  async get(key: string): Promise<KeyValue | undefined> {
    return this.kv.get(key);
  }

  async getPrefix(prefix: string): Promise<{kvs: KeyValue[]; revision: number}> {
    const kvs = [...this.kv.values()].filter((k) => k.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    return {kvs, revision: this.revision};
  }

  /** Write as the store would (also for tests setting up state). */
  write(key: string, value: string, lease = '0'): KeyValue {
    if (lease !== '0' && !this.leases.has(lease)) throw new Error('etcdserver: requested lease not found');
    const old = this.kv.get(key);
    const kv: KeyValue = {
      key,
      value,
      lease,
      createRevision: old?.createRevision ?? this.revision + 1,
      modRevision: ++this.revision,
      version: (old?.version ?? 0) + 1,
    };
    this.kv.set(key, kv);
    return kv;
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<{revision: number}> {
    this.write(key, value, opts.lease ?? '0');
    return {revision: this.revision};
  }

  async createIfAbsent(key: string, value: string, opts: PutOptions = {}): Promise<CreateResult> {
    this.beforeCreate?.(key);
    const existing = this.kv.get(key);
    if (existing) return {created: false, revision: this.revision, existing};
    this.write(key, value, opts.lease ?? '0');
    return {created: true, revision: this.revision};
  }

  async replaceIf(key: string, value: string, modRevision: number, opts: PutOptions = {}): Promise<CreateResult> {
    const existing = this.kv.get(key);
    if (existing?.modRevision !== modRevision) return {created: false, revision: this.revision, existing};
    this.write(key, value, opts.lease ?? '0');
    return {created: true, revision: this.revision};
  }

  async deleteIf(key: string, modRevision: number): Promise<boolean> {
    if (this.kv.get(key)?.modRevision !== modRevision) return false;
    this.kv.delete(key);
    this.revision++;
    return true;
  }

  async leaseGrant(ttl: number): Promise<Lease> {
    const id = String(this.nextLease++);
    this.leases.set(id, ttl);
    this.granted++;
    return {id, ttl};
  }

  async leaseKeepAlive(id: string): Promise<number> {
    return this.leases.get(id) ?? 0;
  }

  async leaseTimeToLive(id: string): Promise<number> {
    return this.leases.get(id) ?? 0;
  }

  async leaseRevoke(id: string): Promise<void> {
    this.revoked.push(id);
    this.expire(id);
  }

  /** The lease runs out: it and its keys go. */
  expire(id: string): void {
    this.leases.delete(id);
    for (const [k, v] of this.kv) if (v.lease === id) this.kv.delete(k);
  }

  watchPrefix(): Watch {
    throw new Error('FakeEtcd has no watch');
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
