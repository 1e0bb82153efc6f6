/**
 * Requests to etcd's v3 JSON gateway over fetch, with endpoint failover and
 * a deadline. Node's global fetch serves plain http; when TLS files are
 * given, undici (the same fetch, as a package) is loaded with an Agent that
 * carries the CA and client certificate, since the global fetch takes no TLS
 * options of its own. Nothing here uses node:http.
 */
import {fsReason} from '../util/fs-errors.js';
import {EtcdError, EtcdUnreachableError, GRPC, etcdAnswerError, transportReason} from './errors.js';
import {isObject} from './codec.js';
import type {ResolvedOptions} from './options.js';

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface TransportDeps {
  /** The fetch to use; default: the global one, or undici's when TLS files are given. */
  fetch?: FetchFn;
  readFile?: (path: string) => Promise<Buffer>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Largest answer read from a member: a hostile or broken server cannot make us buffer without bound. */
export const MAX_ANSWER_BYTES = 64 << 20;
const ROUND_PAUSE_MS = 100;

interface Attempt {
  endpoint: string;
  reason: string;
  /** A member answered, but cannot serve now (no leader, timeout): worth asking again. */
  answered: boolean;
}

export class Transport {
  readonly endpoints: readonly string[];
  private preferred = 0;
  private token: string | undefined;
  private fetchFn: Promise<FetchFn> | undefined;
  private closeAgent: (() => Promise<void>) | undefined;
  private readonly closing = new AbortController();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly deps: TransportDeps = {},
  ) {
    this.endpoints = opts.endpoints;
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = deps.now ?? Date.now;
  }

  /** One request, answered by the first member that can; an EtcdError otherwise, within the deadline. */
  async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const deadline = this.now() + this.opts.timeoutMs;
    const n = this.endpoints.length;
    const latest = new Map<string, Attempt>(); // each endpoint's latest failure, for the error
    for (let round = 0; ; round++) {
      const failures: Attempt[] = [];
      for (let k = 0; k < n; k++) {
        const i = (this.preferred + k) % n;
        const endpoint = this.endpoints[i];
        const left = deadline - this.now();
        if (left <= 0) break;
        const r = await this.attempt(endpoint, path, body, Math.min(left, this.opts.attemptTimeoutMs));
        if ('answer' in r) {
          this.preferred = i;
          return r.answer;
        }
        failures.push(r.failure);
        latest.set(endpoint, r.failure);
      }
      const left = deadline - this.now();
      const anyAnswered = failures.some((f) => f.answered);
      // Members that refuse connections are down: one more round covers a
      // member that was restarting, then fail rather than wait out the deadline.
      if (left <= 0 || failures.length === 0 || (!anyAnswered && round >= 1) || this.closing.signal.aborted) break;
      await this.sleep(Math.min(left, ROUND_PAUSE_MS * 2 ** Math.min(round, 4)));
    }
    throw this.unreachable(this.endpoints.flatMap((e) => latest.get(e) ?? []));
  }

  /**
   * Open a streaming request (a watch) on the first member that accepts it.
   * The attempt timeout covers only the wait for the answer's headers.
   */
  async openStream(path: string, body: unknown, signal: AbortSignal, after?: string): Promise<{endpoint: string; response: Response}> {
    const failures: Attempt[] = [];
    const n = this.endpoints.length;
    // After a stream broke, its member is the likeliest to be down: start with the next one.
    const start = after !== undefined && this.endpoints.includes(after) ? this.endpoints.indexOf(after) + 1 : this.preferred;
    for (let k = 0; k < n && !signal.aborted; k++) {
      const i = (start + k) % n;
      const endpoint = this.endpoints[i];
      const connect = new AbortController();
      const timer = setTimeout(() => connect.abort(new DOMException('timed out', 'TimeoutError')), this.opts.attemptTimeoutMs);
      try {
        const response = await this.send(endpoint, path, body, AbortSignal.any([signal, connect.signal]));
        if (response.ok && response.body) return {endpoint, response};
        const answer: Record<string, unknown> = await readAnswer(response).catch(() => ({}));
        const code = typeof answer.code === 'number' ? answer.code : undefined;
        if (code === GRPC.UNAUTHENTICATED && this.opts.username) this.token = undefined;
        failures.push({endpoint, reason: answerMessage(answer, response.status), answered: true});
      } catch (err) {
        if (err instanceof EtcdError && err.code !== undefined) throw err;
        failures.push({endpoint, reason: transportReason(err), answered: false});
      } finally {
        clearTimeout(timer);
      }
    }
    throw this.unreachable(failures);
  }

  /** Drop the auth token, so the next request authenticates again. */
  forgetToken(): void {
    this.token = undefined;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.closeAgent?.();
  }

  private async attempt(
    endpoint: string,
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<{answer: Record<string, unknown>} | {failure: Attempt}> {
    for (let reauth = 0; ; reauth++) {
      let response: Response;
      let answer: Record<string, unknown>;
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.closing.signal]);
        response = await this.send(endpoint, path, body, signal);
        answer = await readAnswer(response);
      } catch (err) {
        if (err instanceof EtcdError) throw err;
        return {failure: {endpoint, reason: transportReason(err), answered: false}};
      }
      if (response.ok) return {answer};
      const code = typeof answer.code === 'number' ? answer.code : undefined;
      if (code === GRPC.UNAUTHENTICATED && this.opts.username && reauth === 0) {
        this.token = undefined; // expired or revoked: authenticate again, once
        continue;
      }
      // 5xx without etcd's error (a proxy, a member shutting down) or etcd's own "cannot now": ask another.
      if (code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED || (code === undefined && response.status >= 500)) {
        return {failure: {endpoint, reason: answerMessage(answer, response.status), answered: code !== undefined}};
      }
      throw etcdAnswerError(endpoint, answerMessage(answer, response.status), code, this.endpoints);
    }
  }

  private async send(endpoint: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const fetchFn = await this.fetcher();
    const headers: Record<string, string> = {'content-type': 'application/json'};
    if (this.opts.username !== undefined) headers.authorization = await this.authenticate(endpoint, fetchFn, signal);
    return fetchFn(`${endpoint}${path}`, {method: 'POST', headers, body: JSON.stringify(body), signal});
  }

  private async authenticate(endpoint: string, fetchFn: FetchFn, signal: AbortSignal): Promise<string> {
    if (this.token) return this.token;
    const res = await fetchFn(`${endpoint}/v3/auth/authenticate`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({name: this.opts.username, password: this.opts.password}),
      signal,
    });
    const answer = await readAnswer(res);
    if (!res.ok || typeof answer.token !== 'string' || answer.token.length === 0) {
      const code = typeof answer.code === 'number' ? answer.code : undefined;
      // A member without a leader cannot authenticate anyone now: another may.
      if (code === GRPC.UNAVAILABLE || (code === undefined && res.status >= 500)) throw new Error(answerMessage(answer, res.status));
      const why = answerMessage(answer, res.status);
      throw new EtcdError(
        `etcd at ${endpoint}: authentication as ${this.opts.username} failed: ${why}`,
        this.endpoints,
        code ?? GRPC.UNAUTHENTICATED,
      );
    }
    this.token = answer.token;
    return answer.token;
  }

  private fetcher(): Promise<FetchFn> {
    this.fetchFn ??= this.loadFetch();
    return this.fetchFn;
  }

  private async loadFetch(): Promise<FetchFn> {
    if (this.deps.fetch) return this.deps.fetch;
    const tls = this.opts.tls;
    if (!tls) return globalThis.fetch;
    const readFile = this.deps.readFile ?? (async (p: string) => (await import('node:fs/promises')).readFile(p));
    const read = async (what: string, path: string | undefined): Promise<Buffer | undefined> => {
      if (!path) return undefined;
      try {
        return await readFile(path);
      } catch (err) {
        throw new EtcdError(`etcd TLS: cannot read ${what} ${path}: ${fsReason(err)}`, this.endpoints);
      }
    };
    const [ca, cert, key] = await Promise.all([
      read('CA file', tls.caFile),
      read('certificate file', tls.certFile),
      read('key file', tls.keyFile),
    ]);
    const undici = await import('undici');
    const agent = new undici.Agent({connect: {ca, cert, key}});
    this.closeAgent = () => agent.close();
    return (url, init) => undici.fetch(url, {...(init as object), dispatcher: agent}) as unknown as Promise<Response>;
  }

  private unreachable(failures: Attempt[]): EtcdError {
    if (failures.length === 0)
      return new EtcdUnreachableError(this.endpoints, this.closing.signal.aborted ? 'client closed' : 'no time left to ask');
    const byReason = new Map<string, string[]>();
    for (const f of failures) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f.endpoint]);
    const asked = [...new Set(failures.map((f) => f.endpoint))];
    const reason = byReason.size === 1 ? failures[0].reason : [...byReason].map(([r, eps]) => `${eps.join(', ')}: ${r}`).join('; ');
    return new EtcdUnreachableError(asked.length === this.endpoints.length ? this.endpoints : asked, reason);
  }
}

/** An answer's JSON object, read with a size bound; a body that is not a JSON object is an error. */
export async function readAnswer(response: Response): Promise<Record<string, unknown>> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > MAX_ANSWER_BYTES) throw new Error(`answer of ${declared} bytes is larger than ${MAX_ANSWER_BYTES}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_ANSWER_BYTES) throw new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
      chunks.push(chunk);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!isObject(v)) {
    if (response.ok) throw new Error(`answer is not a JSON object (HTTP ${response.status}): not etcd's v3 API?`);
    // Some refusals come as plain text (the gateway's own checks): keep the words.
    return text.trim() ? {message: text} : {};
  }
  return v;
}

/** The member's own words for an error answer, one line. */
export function answerMessage(answer: Record<string, unknown>, status: number): string {
  const m = typeof answer.message === 'string' ? answer.message : typeof answer.error === 'string' ? answer.error : '';
  const line = m.replace(/\s+/g, ' ').trim().slice(0, 300);
  return line || `HTTP ${status} without an etcd error (not etcd's v3 API?)`;
}
