import type {FetchFn} from '../../src/etcd/transport.js';

/**
 * A fetch for the etcd client's unit tests: each endpoint (host:port) answers
 * through a function of the request, and every request is logged as
 * `<host><path>` in the order made.
 */
export type Behaviour = (
  path: string,
  body: Record<string, unknown>,
  headers: Record<string, string>,
  signal: AbortSignal,
) => Promise<Response> | Response;

/** An answer with a JSON body, as the gateway sends it. */
export const json = (status: number, v: unknown): Response =>
  new Response(JSON.stringify(v), {status, headers: {'content-type': 'application/json'}});

export function scripted(by: Record<string, Behaviour>): {fetch: FetchFn; log: string[]} {
  const log: string[] = [];
  const fetch: FetchFn = async (url, init) => {
    const u = new URL(url);
    log.push(`${u.host}${u.pathname}`);
    const b = by[u.host];
    if (!b) throw new Error(`no behaviour for ${u.host}`);
    return b(u.pathname, JSON.parse(String(init.body)), init.headers as Record<string, string>, init.signal!);
  };
  return {fetch, log};
}
