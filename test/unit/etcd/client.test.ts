import {strict as assert} from 'node:assert';
import {createEtcdClient} from '../../../src/etcd/client.js';
import {EtcdError} from '../../../src/etcd/errors.js';
import {json, scripted, type Behaviour} from '../../helpers/scripted-fetch.js';

/**
 * What the client asks the v3 JSON gateway for each call and how it reads
 * the answers, against one scripted member. (Failover, deadlines and auth
 * are the transport's: transport.test.ts. Real etcd: the integration tests.)
 */
const b64 = (s: string) => Buffer.from(s).toString('base64');
const kv = (key: string, value: string, rev: number, extra: Record<string, string> = {}) => ({
  key: b64(key),
  value: b64(value),
  mod_revision: String(rev),
  create_revision: String(rev),
  version: '1',
  ...extra,
});

/** A client of one member answering through `answer`, and the requests it got (path and body). */
function oneMember(answer: Behaviour) {
  const requests: {path: string; body: Record<string, unknown>}[] = [];
  const s = scripted({
    'a:1': (path, body, headers, signal) => {
      requests.push({path, body});
      return answer(path, body, headers, signal);
    },
  });
  return {c: createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch}), requests, log: s.log};
}

describe('etcd/client (scripted gateway)', () => {
  it('get asks for the one key and returns it decoded; a missing key is undefined', async () => {
    let found = true;
    const {c, requests} = oneMember(() =>
      json(200, {header: {revision: '9'}, ...(found ? {kvs: [kv('/k', 'v', 4, {lease: '7'})], count: '1'} : {})}),
    );
    assert.deepEqual(await c.get('/k'), {key: '/k', value: 'v', createRevision: 4, modRevision: 4, version: 1, lease: '7'});
    assert.deepEqual(requests[0], {path: '/v3/kv/range', body: {key: b64('/k')}});
    found = false;
    assert.equal(await c.get('/k'), undefined);
  });

  it("getPrefix asks for the prefix's range and keeps only keys under it, with the header revision", async () => {
    const {c, requests} = oneMember(() =>
      json(200, {header: {revision: '12'}, kvs: [kv('/p/a', '1', 3), kv('/p/b', '2', 5), kv('/q', 'x', 6)]}),
    );
    const r = await c.getPrefix('/p/');
    assert.deepEqual(
      r.kvs.map((k) => `${k.key}=${k.value}`),
      ['/p/a=1', '/p/b=2'],
    );
    assert.equal(r.revision, 12);
    assert.deepEqual(requests[0].body, {key: b64('/p/'), range_end: b64('/p0')});
  });

  it('put sends key and value in base64, the lease only when there is one, and returns the revision', async () => {
    const {c, requests} = oneMember(() => json(200, {header: {revision: '20'}}));
    assert.deepEqual(await c.put('/k', 'v'), {revision: 20});
    await c.put('/k', 'v', {lease: '0'});
    await c.put('/k', 'v', {lease: '-5'});
    assert.deepEqual(
      requests.map((r) => r.body),
      [
        {key: b64('/k'), value: b64('v')},
        {key: b64('/k'), value: b64('v')},
        {key: b64('/k'), value: b64('v'), lease: '-5'},
      ],
    );
  });

  // moved from transport.test.ts
  it("reads the transaction's outcome: created, or the key as it stands", async () => {
    let created = false;
    const {c, requests} = oneMember(() =>
      created
        ? json(200, {header: {revision: '9'}, succeeded: true})
        : json(200, {
            header: {revision: '8'},
            responses: [{response_range: {kvs: [{key: 'L2s=', value: 'b2xk', mod_revision: '3', version: '1', lease: '7'}]}}],
          }),
    );
    const r = await c.createIfAbsent('/k', 'v', {lease: '42'});
    assert.deepEqual(requests[0].body, {
      compare: [{key: 'L2s=', target: 'VERSION', result: 'EQUAL', version: '0'}],
      success: [{request_put: {key: 'L2s=', value: 'dg==', lease: '42'}}],
      failure: [{request_range: {key: 'L2s='}}],
    });
    assert.deepEqual(r, {
      created: false,
      revision: 8,
      existing: {key: '/k', value: 'old', createRevision: 0, modRevision: 3, version: 1, lease: '7'},
    });
    created = true;
    assert.deepEqual(await c.createIfAbsent('/k', 'v'), {created: true, revision: 9});
  });

  it('replaceIf compares the mod revision; when the key is gone meanwhile, there is nothing existing', async () => {
    const {c, requests} = oneMember(() => json(200, {header: {revision: '30'}, responses: [{response_range: {}}]}));
    assert.deepEqual(await c.replaceIf('/k', 'new', 17), {created: false, revision: 30, existing: undefined});
    assert.deepEqual((requests[0].body.compare as unknown[])[0], {key: b64('/k'), target: 'MOD', result: 'EQUAL', mod_revision: '17'});
  });

  it('deleteIf deletes under the same comparison and says whether it did', async () => {
    let succeeded = true;
    const {c, requests} = oneMember(() => json(200, {header: {revision: '31'}, ...(succeeded ? {succeeded: true} : {})}));
    assert.equal(await c.deleteIf('/k', 17), true);
    assert.deepEqual(requests[0].body, {
      compare: [{key: b64('/k'), target: 'MOD', result: 'EQUAL', mod_revision: '17'}],
      success: [{request_delete_range: {key: b64('/k')}}],
    });
    succeeded = false; // the gateway leaves out a false field
    assert.equal(await c.deleteIf('/k', 17), false);
  });

  it('leaseGrant sends the TTL as text and returns the ID and the TTL granted', async () => {
    const {c, requests} = oneMember(() => json(200, {header: {revision: '2'}, ID: '7587869112323588100', TTL: '30'}));
    assert.deepEqual(await c.leaseGrant(30), {id: '7587869112323588100', ttl: 30});
    assert.deepEqual(requests[0], {path: '/v3/lease/grant', body: {TTL: '30'}});
  });

  it('leaseGrant reports an error in the answer, and an answer without an ID', async () => {
    let answer: unknown = {header: {}, error: 'etcdserver: too many requests'};
    const {c} = oneMember(() => json(200, answer));
    await assert.rejects(
      c.leaseGrant(30),
      (e: unknown) => e instanceof EtcdError && e.message === 'etcd lease grant: etcdserver: too many requests',
    );
    answer = {header: {}, TTL: '30'};
    await assert.rejects(c.leaseGrant(30), {message: "etcd lease grant: no lease ID in etcd's answer"});
  });

  // moved from transport.test.ts
  it('an expired lease keeps alive as 0 seconds; revoking an unknown lease is not an error', async () => {
    const {c} = oneMember((path) =>
      path === '/v3/lease/keepalive'
        ? json(200, {result: {header: {revision: '2'}, ID: '9'}})
        : json(404, {error: 'etcdserver: requested lease not found', code: 5}),
    );
    assert.equal(await c.leaseKeepAlive('9'), 0);
    await c.leaseRevoke('9');
  });

  it('leaseKeepAlive reads the TTL inside "result", and the stream\'s error with its code', async () => {
    let answer: unknown = {result: {header: {}, ID: '9', TTL: '25'}};
    const {c, requests} = oneMember(() => json(200, answer));
    assert.equal(await c.leaseKeepAlive('9'), 25);
    assert.deepEqual(requests[0], {path: '/v3/lease/keepalive', body: {ID: '9'}});
    answer = {error: {grpc_code: 5, http_code: 404, message: 'etcdserver: requested lease not found'}};
    await assert.rejects(
      c.leaseKeepAlive('9'),
      (e: unknown) => e instanceof EtcdError && e.code === 5 && e.message === 'etcd lease keepalive: etcdserver: requested lease not found',
    );
    answer = {};
    await assert.rejects(c.leaseKeepAlive('9'), {message: "etcd lease keepalive: no result in etcd's answer"});
  });

  it('leaseTimeToLive of an expired lease (etcd says -1) is 0', async () => {
    let ttl = '12';
    const {c} = oneMember(() => json(200, {header: {}, ID: '9', TTL: ttl}));
    assert.equal(await c.leaseTimeToLive('9'), 12);
    ttl = '-1';
    assert.equal(await c.leaseTimeToLive('9'), 0);
  });

  it('leaseRevoke passes on any failure but "not found"', async () => {
    const {c} = oneMember(() => json(403, {error: 'etcdserver: permission denied', code: 7}));
    await assert.rejects(c.leaseRevoke('9'), (e: unknown) => e instanceof EtcdError && e.code === 7);
  });

  it('an answer whose kvs is not a list is not read as keys', async () => {
    const {c} = oneMember(() => json(200, {header: {revision: '1'}, kvs: {key: b64('/k')}}));
    await assert.rejects(c.get('/k'), {message: "bad kvs in etcd's answer"});
  });

  // moved from transport.test.ts (and extended)
  it('refuses bad keys, values, lease IDs, revisions and TTLs before sending anything', async () => {
    const {c, log} = oneMember(() => assert.fail('nothing should be sent'));
    await assert.rejects(c.get(''), /must not be empty/);
    await assert.rejects(c.put('/a\0b', 'v'), /NUL/);
    // A rejected promise, not a throw at the call: callers chain on what these return.
    await assert.rejects(c.createIfAbsent('', 'v'), /must not be empty/);
    await assert.rejects(c.put('/k', 5 as unknown as string), {message: 'etcd value must be text'});
    await assert.rejects(c.put('/k', 'v', {lease: '12a'}), /bad etcd lease ID "12a"/);
    for (const id of ['12a', '', '0', '9223372036854775808', '-9223372036854775809']) {
      await assert.rejects(c.leaseKeepAlive(id), /bad etcd lease ID/, id);
    }
    for (const rev of [0, -1, 1.5, 2 ** 53]) {
      await assert.rejects(c.replaceIf('/k', 'v', rev), /bad etcd revision/, String(rev));
      await assert.rejects(c.deleteIf('/k', rev), /bad etcd revision/, String(rev));
    }
    for (const ttl of [0, 1.5, 366 * 24 * 3600 + 1]) await assert.rejects(c.leaseGrant(ttl), /TTL must be 1\.\./, String(ttl));
    assert.throws(() => c.watchPrefix('', {onEvents: () => undefined}), /must not be empty/);
    assert.deepEqual(log, []);
  });

  it('the largest and smallest int64 lease IDs are accepted', async () => {
    const {c, requests} = oneMember(() => json(200, {header: {}, TTL: '5'}));
    await c.leaseTimeToLive('9223372036854775807');
    await c.leaseTimeToLive('-9223372036854775808');
    assert.deepEqual(
      requests.map((r) => r.body.ID),
      ['9223372036854775807', '-9223372036854775808'],
    );
  });

  it('close ends the watches still open, and a watch closed by itself is not closed again', async () => {
    const signals: AbortSignal[] = [];
    const {c} = oneMember((_path, _body, _headers, signal) => {
      signals.push(signal);
      // A stream that stays open (after its "created" line) until the request is aborted.
      return new Response(
        new ReadableStream({
          start(ctl) {
            ctl.enqueue(new TextEncoder().encode(`${JSON.stringify({result: {header: {revision: '3'}, created: true}})}\n`));
            signal.addEventListener('abort', () => ctl.error(signal.reason));
          },
        }),
        {status: 200},
      );
    });
    const w1 = c.watchPrefix('/a/', {onEvents: () => undefined});
    const w2 = c.watchPrefix('/b/', {onEvents: () => undefined});
    await Promise.all([w1.ready, w2.ready]);
    w1.close();
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [true, false],
    );
    await c.close();
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [true, true],
    );
  });
});
