import {strict as assert} from 'node:assert';
import {connectOverlay, withOverlay} from '../../../src/overlay/connect.js';
import type {OverlayNetConf} from '../../../src/overlay/net-conf.js';

/**
 * connectOverlay builds its client from the config alone (no fetch of its
 * own to inject), so these tests put a scripted fetch in place of the global
 * one while they run. No member is ever contacted.
 */
const conf: OverlayNetConf = {
  cniVersion: '1.0.0',
  name: 'mesh',
  etcd: {endpoints: ['http://e1:2379', 'http://e2:2379']},
  prefix: '/unit/network',
  bridge: 'mesh0',
  ipMasq: true,
  hairpinMode: false,
  raw: {},
};

describe('overlay/connect', () => {
  const realFetch = globalThis.fetch;
  let streams: AbortSignal[];
  let requests: {url: string; body: Record<string, unknown>}[];
  beforeEach(() => {
    streams = [];
    requests = [];
    // Every request opens a watch-like stream that stays open until it is aborted.
    globalThis.fetch = (async (url: string, init: RequestInit) => {
      requests.push({url, body: JSON.parse(String(init.body)) as Record<string, unknown>});
      const signal = init.signal!;
      streams.push(signal);
      return new Response(new ReadableStream({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode(`${JSON.stringify({result: {header: {revision: '1'}, created: true}})}\n`));
          signal.addEventListener('abort', () => ctl.error(signal.reason));
        },
      }), {status: 200});
    }) as typeof fetch;
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it('connects the registry to the config\'s endpoints and prefix', async () => {
    const conn = connectOverlay(conf);
    try {
      assert.deepEqual(conn.etcd.endpoints, conf.etcd.endpoints);
      assert.equal(conn.registry.prefix, '/unit/network');
      const w = conn.registry.watchLeases({onChange: () => undefined});
      await w.ready;
      assert.equal(requests[0].url, 'http://e1:2379/v3/watch');
      assert.deepEqual((requests[0].body.create_request as Record<string, string>).key, Buffer.from('/unit/network/subnets/').toString('base64'));
    } finally {
      await conn.close();
    }
  });

  it('withOverlay closes the connection after its section, and passes on the section\'s value', async () => {
    const v = await withOverlay(conf, async (conn) => {
      // The registry's watch: the registry goes through the connection's one client.
      await conn.registry.watchLeases({onChange: () => undefined}).ready;
      assert.equal(streams[0].aborted, false);
      return 'synced';
    });
    assert.equal(v, 'synced');
    assert.equal(streams[0].aborted, true, 'the registry\'s watch left open was ended by close');
  });

  it('withOverlay closes the connection when the section fails, and rethrows its error', async () => {
    const boom = new Error('no subnet left');
    await assert.rejects(withOverlay(conf, async (conn) => {
      await conn.etcd.watchPrefix('/x/', {onEvents: () => undefined}).ready;
      throw boom;
    }), (e) => e === boom);
    assert.equal(streams[0].aborted, true);
  });
});
