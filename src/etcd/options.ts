/**
 * What a client is configured with, validated before any connection is made:
 * the endpoints come from network configs and flags, so each must be a plain
 * http(s) URL of a host and port and nothing else.
 */
export interface EtcdTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EtcdOptions {
  endpoints: readonly string[];
  tls?: EtcdTls;
  username?: string;
  password?: string;
  /** Longest any one operation may take, all retries included (default 5000 ms). */
  timeoutMs?: number;
  /** Longest one request to one member may take (default 2000 ms). */
  attemptTimeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 2000;
const MAX_ENDPOINTS = 32;
/** A DNS name (labels of letters, digits, '-' and '_', none empty) or a dotted IPv4 address. */
const HOST = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** An endpoint as `scheme://host:port` (the form the errors print), or an Error saying why not. */
export function parseEndpoint(text: string): string | Error {
  if (typeof text !== 'string' || text.length === 0 || text.length > 512 || /\s/.test(text)) {
    return new Error(`etcd endpoint ${JSON.stringify(text)} is not a URL`);
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return new Error(`etcd endpoint ${JSON.stringify(text)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return new Error(`etcd endpoint ${text}: scheme must be http or https`);
  if (u.username || u.password) return new Error(`etcd endpoint ${text}: credentials do not belong in the URL (give a user and password)`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    return new Error(`etcd endpoint ${text}: only scheme, host and port are allowed`);
  if (!u.hostname) return new Error(`etcd endpoint ${text}: no host`);
  if (!HOST.test(u.hostname) && !/^\[[0-9a-fA-F:.]+\]$/.test(u.hostname))
    return new Error(`etcd endpoint ${text}: ${JSON.stringify(u.hostname)} is not a host name or address`);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.protocol}//${u.hostname}:${port}`;
}

export function parseEndpoints(list: readonly string[]): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new Error('no etcd endpoints given');
  if (list.length > MAX_ENDPOINTS) throw new Error(`too many etcd endpoints (${list.length}, at most ${MAX_ENDPOINTS})`);
  const out: string[] = [];
  for (const e of list) {
    const p = parseEndpoint(e);
    if (p instanceof Error) throw p;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** Validated options with defaults filled in. */
export interface ResolvedOptions {
  endpoints: string[];
  tls?: EtcdTls;
  username?: string;
  password?: string;
  timeoutMs: number;
  attemptTimeoutMs: number;
}

export function resolveOptions(o: EtcdOptions): ResolvedOptions {
  const endpoints = parseEndpoints(o.endpoints);
  const ms = (v: number | undefined, def: number, what: string): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < 1 || v > 600_000) throw new Error(`etcd ${what} must be 1..600000 ms`);
    return v;
  };
  const tls = o.tls && (o.tls.caFile || o.tls.certFile || o.tls.keyFile) ? {...o.tls} : undefined;
  if (tls && Boolean(tls.certFile) !== Boolean(tls.keyFile))
    throw new Error('etcd TLS: a client certificate needs its key, and a key its certificate');
  if (tls && !endpoints.every((e) => e.startsWith('https:'))) throw new Error('etcd TLS files are given but not every endpoint is https');
  if ((o.username === undefined) !== (o.password === undefined)) throw new Error('etcd auth needs both a user and a password');
  if (o.username !== undefined && (o.username.length === 0 || o.username.length > 256))
    throw new Error('etcd user must be 1..256 characters');
  return {
    endpoints,
    tls,
    username: o.username,
    password: o.password,
    timeoutMs: ms(o.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeout'),
    attemptTimeoutMs: ms(o.attemptTimeoutMs, DEFAULT_ATTEMPT_TIMEOUT_MS, 'attempt timeout'),
  };
}
