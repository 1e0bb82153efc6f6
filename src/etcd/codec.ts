/**
 * The v3 JSON gateway's encoding: keys and values are base64 of their bytes,
 * int64 fields are decimal strings, and fields at their zero value are left
 * out. Everything read here comes from the network: each field is checked
 * before it is used.
 */
import type {KeyValue} from './types.js';

export function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

export function unb64(s: unknown, what: string): string {
  if (s === undefined) return '';
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error(`bad ${what} in etcd's answer`);
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * The range end that makes a range request cover every key starting with
 * `prefix` (etcd's GetPrefixRangeEnd): the prefix with its last byte below
 * 0xff incremented and what follows dropped; "\0" (every key) when all are 0xff.
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]++;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

/** A non-negative int64 field as a number; absent means 0. Revisions and versions stay far below 2^53. */
export function int64(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v !== 'string' || !/^-?\d{1,19}$/.test(v)) throw new Error(`bad ${what} in etcd's answer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${what} out of range in etcd's answer`);
  return n;
}

/** A lease ID: an int64 kept as its decimal text (IDs use all 64 bits); absent is "0", no lease. */
export function leaseId(v: unknown, what = 'lease ID'): string {
  if (v === undefined) return '0';
  if (typeof v !== 'string' || !/^-?\d{1,20}$/.test(v)) throw new Error(`bad ${what} in etcd's answer`);
  return BigInt(v).toString();
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseKeyValue(raw: unknown): KeyValue {
  if (!isObject(raw)) throw new Error("bad key-value in etcd's answer");
  return {
    key: unb64(raw.key, 'key'),
    value: unb64(raw.value, 'value'),
    createRevision: int64(raw.create_revision, 'create_revision'),
    modRevision: int64(raw.mod_revision, 'mod_revision'),
    version: int64(raw.version, 'version'),
    lease: leaseId(raw.lease),
  };
}

/** The header revision of an answer (every answer carries one). */
export function headerRevision(raw: Record<string, unknown>): number {
  return isObject(raw.header) ? int64(raw.header.revision, 'revision') : 0;
}

/** A key as the client accepts it: non-empty text, no NUL, at most etcd's default request limit's worth. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new Error('etcd key must not be empty');
  if (key.includes('\0')) throw new Error(`etcd key ${JSON.stringify(key)} contains a NUL byte`);
  if (Buffer.byteLength(key) > 4096) throw new Error('etcd key longer than 4096 bytes');
}
