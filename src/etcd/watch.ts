/**
 * A watch on a key prefix over the gateway's streaming /v3/watch: one JSON
 * object per line. When the stream breaks (member killed, connection reset)
 * it reopens on the next member that answers, from the revision after the
 * last event it delivered, so nothing is missed or repeated; when that
 * revision has been compacted away it starts from now and says so (onReset).
 */
import {b64, headerRevision, int64, isObject, parseKeyValue, prefixRangeEnd, unb64} from './codec.js';
import {EtcdError, GRPC} from './errors.js';
import {MAX_ANSWER_BYTES, type Transport} from './transport.js';
import type {Watch, WatchEvent, WatchHandlers, WatchOptions} from './types.js';

const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 2000;

export function watchPrefix(transport: Transport, prefix: string, handlers: WatchHandlers, opts: WatchOptions = {}): Watch {
  const stop = new AbortController();
  let settle!: {resolve: () => void; reject: (e: Error) => void};
  const ready = new Promise<void>((resolve, reject) => (settle = {resolve, reject}));
  ready.catch(() => {}); // a caller that never awaits `ready` must not see an unhandled rejection
  let next = opts.fromRevision ?? 0;
  let resetPending = false;

  const handle = (msg: Record<string, unknown>): void => {
    if (isObject(msg.error)) {
      throw new EtcdError(`etcd watch: ${String(msg.error.message ?? 'error')}`, transport.endpoints, int64(msg.error.grpc_code, 'code'));
    }
    const r = msg.result;
    if (!isObject(r)) throw new Error("bad watch message in etcd's answer");
    const revision = headerRevision(r);
    if (r.created === true) {
      if (next === 0) next = revision + 1;
      settle.resolve();
      if (resetPending) {
        resetPending = false;
        handlers.onReset?.(revision);
      }
    }
    if (r.canceled === true) {
      if (int64(r.compact_revision, 'compact_revision') > 0) {
        next = 0;
        resetPending = true;
        throw new Error('watch history compacted');
      }
      throw new Error(`watch canceled by etcd: ${typeof r.cancel_reason === 'string' ? r.cancel_reason : 'no reason given'}`);
    }
    if (!Array.isArray(r.events) || r.events.length === 0) return;
    const events = r.events.map(parseEvent);
    for (const e of events) next = Math.max(next, (e.type === 'put' ? e.kv.modRevision : e.modRevision) + 1);
    handlers.onEvents(events, revision);
  };

  const run = async (): Promise<void> => {
    let pause = FIRST_PAUSE_MS;
    let broken: string | undefined;
    while (!stop.signal.aborted) {
      try {
        const create: Record<string, string> = {key: b64(prefix), range_end: prefixRangeEnd(prefix)};
        if (next > 0) create.start_revision = String(next);
        const {endpoint, response} = await transport.openStream('/v3/watch', {create_request: create}, stop.signal, broken);
        broken = endpoint;
        for await (const msg of jsonLines(response.body!)) {
          handle(msg);
          pause = FIRST_PAUSE_MS;
        }
        throw new Error('watch stream closed by the server');
      } catch (err) {
        if (stop.signal.aborted) break;
        handlers.onError?.(err instanceof Error ? err : new Error(String(err)));
        if (err instanceof EtcdError && err.code === GRPC.UNAUTHENTICATED) transport.forgetToken();
        else if (err instanceof EtcdError && err.code !== undefined && err.code !== GRPC.UNAVAILABLE) {
          settle.reject(err); // refused for good (permission, bad request): asking again will not help
          break;
        }
        await abortableSleep(pause, stop.signal);
        pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
      }
    }
    settle.reject(new Error('watch closed'));
  };
  void run();
  return {ready, close: () => stop.abort()};
}

function parseEvent(raw: unknown): WatchEvent {
  if (!isObject(raw) || !isObject(raw.kv)) throw new Error("bad watch event in etcd's answer");
  if (raw.type === 'DELETE')
    return {type: 'delete', key: unb64(raw.kv.key, 'key'), modRevision: int64(raw.kv.mod_revision, 'mod_revision')};
  if (raw.type !== undefined && raw.type !== 'PUT') throw new Error("bad watch event type in etcd's answer");
  return {type: 'put', kv: parseKeyValue(raw.kv)};
}

/** The JSON objects of a newline-delimited stream, each line bounded in size. */
export async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, {stream: true});
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield parseLine(line);
    }
    if (buf.length > MAX_ANSWER_BYTES) throw new Error(`watch message larger than ${MAX_ANSWER_BYTES} bytes`);
  }
  const rest = (buf + decoder.decode()).trim();
  if (rest) yield parseLine(rest);
}

function parseLine(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error("watch message in etcd's answer is not JSON");
  }
  if (!isObject(v)) throw new Error("watch message in etcd's answer is not a JSON object");
  return v;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, {once: true});
  });
}
