/**
 * The etcd client the overlay needs, as a small interface: the registry is
 * written against it and tests can hand it another implementation. Keys and
 * values are UTF-8 text; lease IDs are decimal text (they use all 64 bits).
 */
import type {EtcdOptions} from './options.js';

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** Number of writes since the key was created; 0 when absent. */
  version: number;
  /** The lease the key is attached to, "0" for none. */
  lease: string;
}

export interface PutOptions {
  /** Attach the key to this lease ("0" or absent: no lease). */
  lease?: string;
}

export interface CreateResult {
  created: boolean;
  /** The store's revision after the transaction. */
  revision: number;
  /** When not created: the key as it stands. */
  existing?: KeyValue;
}

export interface Lease {
  id: string;
  /** Seconds granted. */
  ttl: number;
}

export type WatchEvent = {type: 'put'; kv: KeyValue} | {type: 'delete'; key: string; modRevision: number};

export interface WatchHandlers {
  /** Events in store order, each batch with the revision it brings the watcher to. */
  onEvents(events: WatchEvent[], revision: number): void;
  /**
   * The watch could not resume where it left off (history compacted): it
   * continues from now, and what happened in between is lost; re-read.
   */
  onReset?(revision: number): void;
  /** The stream broke or could not be opened; the watch keeps trying. */
  onError?(err: Error): void;
}

export interface WatchOptions {
  /** First revision to report (0 or absent: changes after the watch is set up). */
  fromRevision?: number;
}

export interface Watch {
  /** Settles when the first stream is set up (rejects if close() comes first). */
  readonly ready: Promise<void>;
  close(): void;
}

export interface EtcdClient {
  readonly endpoints: readonly string[];
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key under `prefix`, in key order, with the store revision they were read at. */
  getPrefix(prefix: string): Promise<{kvs: KeyValue[]; revision: number}>;
  put(key: string, value: string, opts?: PutOptions): Promise<{revision: number}>;
  /** Create `key` only if it does not exist (Version == 0), in one transaction. */
  createIfAbsent(key: string, value: string, opts?: PutOptions): Promise<CreateResult>;
  /** Write `key` only if it was last written at `modRevision`, in one transaction. */
  replaceIf(key: string, value: string, modRevision: number, opts?: PutOptions): Promise<CreateResult>;
  /** Delete `key` only if it was last written at `modRevision`; true when deleted. */
  deleteIf(key: string, modRevision: number): Promise<boolean>;
  leaseGrant(ttlSeconds: number): Promise<Lease>;
  /** Refresh a lease; the seconds it now has, 0 when it has expired or never existed. */
  leaseKeepAlive(id: string): Promise<number>;
  /** Seconds a lease has left, 0 when it has expired or never existed. */
  leaseTimeToLive(id: string): Promise<number>;
  /** Revoke a lease and delete its keys; an unknown lease is not an error. */
  leaseRevoke(id: string): Promise<void>;
  watchPrefix(prefix: string, handlers: WatchHandlers, opts?: WatchOptions): Watch;
  /** Stop every watch and release connections. */
  close(): Promise<void>;
}

/**
 * Makes a client for one set of options (./client.ts createEtcdClient in
 * production): what the runtime and the overlay plugin are handed, so tests
 * can hand them an in-memory store.
 */
export type EtcdClientFactory = (options: EtcdOptions) => EtcdClient;
