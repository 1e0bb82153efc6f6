import {strict as assert} from 'node:assert';
import {createEtcdClient} from '../../../src/etcd/client.js';
import type {FetchFn} from '../../../src/etcd/transport.js';
import type {WatchEvent} from '../../../src/etcd/types.js';
import {jsonLines} from '../../../src/etcd/watch.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const line = (v: unknown) => `${JSON.stringify(v)}\n`;
const created = (rev: number) => line({result: {header: {revision: String(rev)}, created: true}});
const put = (key: string, value: string, rev: number) =>
  line({
    result: {
      header: {revision: String(rev)},
      events: [{kv: {key: b64(key), value: b64(value), mod_revision: String(rev), create_revision: String(rev), version: '1'}}],
    },
  });
const del = (key: string, rev: number) =>
  line({result: {header: {revision: String(rev)}, events: [{type: 'DELETE', kv: {key: b64(key), mod_revision: String(rev)}}]}});

/** A streamed answer: the chunks, then the end of the stream (the member went away). */
function stream(chunks: string[]): Response {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    }),
    {status: 200},
  );
}

/** A stream that stays open until the request is aborted. */
function openStream(chunks: string[], signal: AbortSignal): Response {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        signal.addEventListener('abort', () => c.error(signal.reason));
      },
    }),
    {status: 200},
  );
}

const waitFor = async (pred: () => boolean) => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred(), 'condition not reached');
};

describe('etcd/watch (prefix watch over the streaming gateway, scripted)', () => {
  it('splits lines across chunks', async () => {
    const r = stream(['{"a":', '1}\n{"b"', ':2}\n\n{"c":3}']);
    const out: unknown[] = [];
    for await (const m of jsonLines(r.body!)) out.push(m);
    assert.deepEqual(out, [{a: 1}, {b: 2}, {c: 3}]);
  });

  it('reopens on the next member from the revision after the last event, so nothing is missed or repeated', async () => {
    const requests: {host: string; create: Record<string, string>}[] = [];
    const fetch: FetchFn = async (url, init) => {
      const host = new URL(url).host;
      const create = (JSON.parse(String(init.body)) as {create_request: Record<string, string>}).create_request;
      requests.push({host, create});
      if (requests.length === 1) return stream([created(10), put('/p/a', '1', 11), del('/p/a', 12)]); // then the member dies
      return openStream([created(12), put('/p/b', '2', 13)], init.signal!);
    };
    const seen: WatchEvent[] = [];
    const errors: string[] = [];
    const w = createEtcdClient({endpoints: ['http://a:1', 'http://b:1']}, {fetch}).watchPrefix('/p/', {
      onEvents: (e) => seen.push(...e),
      onError: (e) => errors.push(e.message),
    });
    await w.ready;
    await waitFor(() => seen.length === 3);
    w.close();
    assert.deepEqual(
      seen.map((e) => (e.type === 'put' ? `put ${e.kv.key}=${e.kv.value}@${e.kv.modRevision}` : `delete ${e.key}@${e.modRevision}`)),
      ['put /p/a=1@11', 'delete /p/a@12', 'put /p/b=2@13'],
    );
    assert.deepEqual(requests[0].create, {key: b64('/p/'), range_end: b64('/p0')});
    assert.equal(requests[1].create.start_revision, '13');
    assert.deepEqual(
      requests.map((r) => r.host),
      ['a:1', 'b:1'],
      'the next member first',
    );
    assert.deepEqual(errors, ['watch stream closed by the server']);
  });

  it('when the history was compacted, starts from now and says so (onReset) once the new stream is up', async () => {
    let n = 0;
    const fetch: FetchFn = async (_url, init) => {
      const create = (JSON.parse(String(init.body)) as {create_request: Record<string, string>}).create_request;
      if (++n === 1) {
        assert.equal(create.start_revision, '5');
        return stream([created(40), line({result: {header: {}, canceled: true, compact_revision: '30'}})]);
      }
      assert.equal(create.start_revision, undefined, 'from now');
      return openStream([created(41)], init.signal!);
    };
    const resets: number[] = [];
    const w = createEtcdClient({endpoints: ['http://a:1']}, {fetch}).watchPrefix(
      '/p/',
      {onEvents: () => {}, onReset: (rev) => resets.push(rev)},
      {fromRevision: 5},
    );
    await waitFor(() => resets.length === 1);
    w.close();
    assert.deepEqual(resets, [41]);
  });

  it('stops for good on a refusal that asking again cannot fix, and says why', async () => {
    const fetch: FetchFn = async () => stream([line({error: {grpc_code: 7, http_code: 403, message: 'etcdserver: permission denied'}})]);
    const w = createEtcdClient({endpoints: ['http://a:1']}, {fetch}).watchPrefix('/p/', {onEvents: () => {}});
    await assert.rejects(w.ready, /^EtcdError: etcd watch: etcdserver: permission denied$/);
  });
});
