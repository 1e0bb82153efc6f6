/**
 * EtcdClient over etcd's v3 JSON gateway (/v3/kv/*, /v3/lease/*, /v3/watch),
 * which every etcd since 3.4 serves on its client URLs. Chosen over the etcd3
 * package (gRPC) for start-up cost: nothing to load but what fetch needs.
 * One difference from gRPC clients: once auth is enabled, the gateway refuses
 * a client certificate that carries a CommonName (etcd cannot pass the CN on
 * as the user), so a client that authenticates with a password over mutual
 * TLS needs a certificate without a CN; the refusal comes back in etcd's words.
 */
import {b64, checkKey, headerRevision, int64, isObject, leaseId, parseKeyValue, prefixRangeEnd} from './codec.js';
import {EtcdError, GRPC} from './errors.js';
import {resolveOptions, type EtcdOptions} from './options.js';
import {Transport, type TransportDeps} from './transport.js';
import type {CreateResult, EtcdClient, KeyValue, Lease, PutOptions, Watch, WatchHandlers, WatchOptions} from './types.js';
import {watchPrefix} from './watch.js';

/** Longest lease etcd grants (its MaxLeaseTTL, 9000000000 s) is far beyond any use here; a year bounds typos. */
const MAX_TTL_SECONDS = 366 * 24 * 3600;

export function createEtcdClient(options: EtcdOptions, deps: TransportDeps = {}): EtcdClient {
  const transport = new Transport(resolveOptions(options), deps);
  return new GatewayClient(transport);
}

class GatewayClient implements EtcdClient {
  readonly endpoints: readonly string[];
  private readonly watches = new Set<Watch>();

  constructor(private readonly t: Transport) {
    this.endpoints = t.endpoints;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const kvs = kvList(await this.t.call('/v3/kv/range', {key: b64(key)}));
    return kvs.find((kv) => kv.key === key);
  }

  async getPrefix(prefix: string): Promise<{kvs: KeyValue[]; revision: number}> {
    checkKey(prefix);
    const a = await this.t.call('/v3/kv/range', {key: b64(prefix), range_end: prefixRangeEnd(prefix)});
    return {kvs: kvList(a).filter((kv) => kv.key.startsWith(prefix)), revision: headerRevision(a)};
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<{revision: number}> {
    checkKey(key);
    const a = await this.t.call('/v3/kv/put', putRequest(key, value, opts));
    return {revision: headerRevision(a)};
  }

  async createIfAbsent(key: string, value: string, opts: PutOptions = {}): Promise<CreateResult> {
    checkKey(key);
    return this.txnPut(key, value, opts, {key: b64(key), target: 'VERSION', result: 'EQUAL', version: '0'});
  }

  async replaceIf(key: string, value: string, modRevision: number, opts: PutOptions = {}): Promise<CreateResult> {
    checkKey(key);
    checkRevision(modRevision);
    return this.txnPut(key, value, opts, {key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision)});
  }

  async deleteIf(key: string, modRevision: number): Promise<boolean> {
    checkKey(key);
    checkRevision(modRevision);
    const a = await this.t.call('/v3/kv/txn', {
      compare: [{key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision)}],
      success: [{request_delete_range: {key: b64(key)}}],
    });
    return a.succeeded === true;
  }

  async leaseGrant(ttlSeconds: number): Promise<Lease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new Error(`etcd lease TTL must be 1..${MAX_TTL_SECONDS} seconds`);
    }
    const a = await this.t.call('/v3/lease/grant', {TTL: String(ttlSeconds)});
    if (typeof a.error === 'string' && a.error) throw new EtcdError(`etcd lease grant: ${a.error}`, this.endpoints);
    const id = leaseId(a.ID);
    if (id === '0') throw new Error("etcd lease grant: no lease ID in etcd's answer");
    return {id, ttl: int64(a.TTL, 'TTL')};
  }

  async leaseKeepAlive(id: string): Promise<number> {
    checkLeaseId(id);
    const a = await this.t.call('/v3/lease/keepalive', {ID: id});
    // A streaming method: the one answer comes wrapped in "result", or an "error".
    if (isObject(a.error))
      throw new EtcdError(`etcd lease keepalive: ${String(a.error.message ?? 'error')}`, this.endpoints, int64(a.error.grpc_code, 'code'));
    if (!isObject(a.result)) throw new Error("etcd lease keepalive: no result in etcd's answer");
    return Math.max(0, int64(a.result.TTL, 'TTL'));
  }

  async leaseTimeToLive(id: string): Promise<number> {
    checkLeaseId(id);
    const a = await this.t.call('/v3/lease/timetolive', {ID: id});
    return Math.max(0, int64(a.TTL, 'TTL'));
  }

  async leaseRevoke(id: string): Promise<void> {
    checkLeaseId(id);
    try {
      await this.t.call('/v3/lease/revoke', {ID: id});
    } catch (err) {
      if (err instanceof EtcdError && err.code === GRPC.NOT_FOUND) return;
      throw err;
    }
  }

  watchPrefix(prefix: string, handlers: WatchHandlers, opts?: WatchOptions): Watch {
    checkKey(prefix);
    const w = watchPrefix(this.t, prefix, handlers, opts);
    this.watches.add(w);
    return {
      ready: w.ready,
      close: () => {
        this.watches.delete(w);
        w.close();
      },
    };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.close();
    this.watches.clear();
    await this.t.close();
  }

  private async txnPut(key: string, value: string, opts: PutOptions, compare: Record<string, string>): Promise<CreateResult> {
    const a = await this.t.call('/v3/kv/txn', {
      compare: [compare],
      success: [{request_put: putRequest(key, value, opts)}],
      failure: [{request_range: {key: b64(key)}}],
    });
    const revision = headerRevision(a);
    if (a.succeeded === true) return {created: true, revision};
    const responses = Array.isArray(a.responses) ? a.responses : [];
    const range = isObject(responses[0]) && isObject(responses[0].response_range) ? responses[0].response_range : {};
    return {created: false, revision, existing: kvList(range)[0]};
  }
}

function putRequest(key: string, value: string, opts: PutOptions): Record<string, string> {
  if (typeof value !== 'string') throw new Error('etcd value must be text');
  const req: Record<string, string> = {key: b64(key), value: b64(value)};
  if (opts.lease !== undefined && opts.lease !== '0') {
    checkLeaseId(opts.lease);
    req.lease = opts.lease;
  }
  return req;
}

function kvList(a: Record<string, unknown>): KeyValue[] {
  if (a.kvs === undefined) return [];
  if (!Array.isArray(a.kvs)) throw new Error("bad kvs in etcd's answer");
  return a.kvs.map(parseKeyValue);
}

function checkLeaseId(id: string): void {
  if (typeof id !== 'string' || !/^-?\d{1,20}$/.test(id) || BigInt(id) === 0n || BigInt(id) > 2n ** 63n - 1n || BigInt(id) < -(2n ** 63n)) {
    throw new Error(`bad etcd lease ID ${JSON.stringify(id)}`);
  }
}

function checkRevision(rev: number): void {
  if (!Number.isSafeInteger(rev) || rev < 1) throw new Error(`bad etcd revision ${rev}`);
}
