import {strict as assert} from 'node:assert';
import {createEtcdClient} from '../../../src/etcd/client.js';
import {EtcdError, EtcdUnreachableError} from '../../../src/etcd/errors.js';
import type {FetchFn} from '../../../src/etcd/transport.js';

/**
 * The transport's failover, deadline and auth rules against a scripted
 * fetch: each endpoint's behaviour is a function of the request.
 */
type Behaviour = (path: string, body: Record<string, unknown>, headers: Record<string, string>, signal: AbortSignal) => Promise<Response> | Response;

const json = (status: number, v: unknown) => new Response(JSON.stringify(v), {status, headers: {'content-type': 'application/json'}});
const refused = (): never => {
  throw Object.assign(new TypeError('fetch failed'), {cause: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'})});
};
const hang: Behaviour = (_p, _b, _h, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
const ok = (v: unknown = {header: {revision: '5'}}): Behaviour => () => json(200, v);

function scripted(by: Record<string, Behaviour>): {fetch: FetchFn; log: string[]} {
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

const EPS = ['http://a:1', 'http://b:1', 'http://c:1'];

describe('etcd client transport (scripted fetch)', () => {
  it('fails over past a refusing member and then stays with the one that answered', async () => {
    const s = scripted({'a:1': refused, 'b:1': ok(), 'c:1': ok()});
    const c = createEtcdClient({endpoints: EPS}, {fetch: s.fetch});
    await c.put('/k', 'v');
    await c.put('/k', 'w');
    assert.deepEqual(s.log, ['a:1/v3/kv/put', 'b:1/v3/kv/put', 'b:1/v3/kv/put']);
  });

  it('asks another member when one answers "no leader" (Unavailable)', async () => {
    const s = scripted({'a:1': () => json(503, {error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14}), 'b:1': ok(), 'c:1': ok()});
    await createEtcdClient({endpoints: EPS}, {fetch: s.fetch}).get('/k');
    assert.deepEqual(s.log, ['a:1/v3/kv/range', 'b:1/v3/kv/range']);
  });

  it('does not fail over on an answer that would be the same anywhere: one line with the member\'s words', async () => {
    const s = scripted({'a:1': () => json(400, {error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5}), 'b:1': ok()});
    await assert.rejects(createEtcdClient({endpoints: EPS}, {fetch: s.fetch}).put('/k', 'v', {lease: '5'}),
      (e: unknown) => e instanceof EtcdError && e.code === 5 && e.message === 'etcd at http://a:1: etcdserver: requested lease not found');
    assert.deepEqual(s.log, ['a:1/v3/kv/put']);
  });

  it('with every member refusing, fails at once (two rounds) in one line naming etcd and the endpoints', async () => {
    const s = scripted({'a:1': refused, 'b:1': refused, 'c:1': refused});
    const t0 = Date.now();
    const err = await createEtcdClient({endpoints: EPS}, {fetch: s.fetch}).get('/k').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EtcdUnreachableError);
    assert.equal(err.message, 'etcd unreachable at http://a:1, http://b:1, http://c:1: connection refused');
    assert.equal(s.log.length, 6);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('never takes longer than the deadline, even when members accept and never answer', async () => {
    const s = scripted({'a:1': hang, 'b:1': hang, 'c:1': refused});
    const t0 = Date.now();
    const err = await createEtcdClient({endpoints: EPS, timeoutMs: 400, attemptTimeoutMs: 150}, {fetch: s.fetch}).get('/k').then(() => undefined, (e: unknown) => e);
    const took = Date.now() - t0;
    assert.ok(err instanceof EtcdUnreachableError, String(err));
    assert.ok(took >= 300 && took < 900, `took ${took} ms`);
    assert.match(err.message, /^etcd unreachable at http:\/\/a:1, http:\/\/b:1, http:\/\/c:1: http:\/\/a:1, http:\/\/b:1: timed out; http:\/\/c:1: connection refused$/);
  });

  it('authenticates once, sends the token, and authenticates again when it is refused', async () => {
    let tokens = 0;
    let valid = '';
    const s = scripted({
      'a:1': (path, body, headers) => {
        if (path === '/v3/auth/authenticate') {
          assert.deepEqual(body, {name: 'app', password: 'pw'});
          valid = `tok${++tokens}`;
          return json(200, {token: valid});
        }
        if (headers.authorization !== valid) return json(401, {error: 'etcdserver: invalid auth token', message: 'etcdserver: invalid auth token', code: 16});
        return json(200, {header: {revision: '1'}});
      },
    });
    const c = createEtcdClient({endpoints: ['http://a:1'], username: 'app', password: 'pw'}, {fetch: s.fetch});
    await c.get('/k');
    await c.get('/k');
    valid = 'expired';
    await c.get('/k');
    assert.equal(tokens, 2);
    assert.deepEqual(s.log, ['a:1/v3/auth/authenticate', 'a:1/v3/kv/range', 'a:1/v3/kv/range', 'a:1/v3/kv/range', 'a:1/v3/auth/authenticate', 'a:1/v3/kv/range']);
  });

  it('a wrong password is one line naming the member and the user', async () => {
    const s = scripted({'a:1': () => json(400, {error: 'etcdserver: authentication failed, invalid user ID or password', code: 3})});
    await assert.rejects(createEtcdClient({endpoints: ['http://a:1'], username: 'app', password: 'x'}, {fetch: s.fetch}).get('/k'),
      /^EtcdError: etcd at http:\/\/a:1: authentication as app failed: etcdserver: authentication failed, invalid user ID or password$/);
  });

  it('reads the transaction\'s outcome: created, or the key as it stands', async () => {
    const s = scripted({
      'a:1': (_p, body) => {
        assert.deepEqual((body.compare as unknown[])[0], {key: 'L2s=', target: 'VERSION', result: 'EQUAL', version: '0'});
        assert.deepEqual((body.success as unknown[])[0], {request_put: {key: 'L2s=', value: 'dg==', lease: '42'}});
        return json(200, {header: {revision: '8'}, responses: [{response_range: {kvs: [{key: 'L2s=', value: 'b2xk', mod_revision: '3', version: '1', lease: '7'}]}}]});
      },
    });
    const r = await createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch}).createIfAbsent('/k', 'v', {lease: '42'});
    assert.deepEqual(r, {created: false, revision: 8, existing: {key: '/k', value: 'old', createRevision: 0, modRevision: 3, version: 1, lease: '7'}});
  });

  it('an expired lease keeps alive as 0 seconds; revoking an unknown lease is not an error', async () => {
    const s = scripted({
      'a:1': (path) => (path === '/v3/lease/keepalive' ? json(200, {result: {header: {revision: '2'}, ID: '9'}})
        : json(404, {error: 'etcdserver: requested lease not found', code: 5})),
    });
    const c = createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch});
    assert.equal(await c.leaseKeepAlive('9'), 0);
    await c.leaseRevoke('9');
  });

  it('refuses bad keys and lease IDs before sending anything', async () => {
    const s = scripted({});
    const c = createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch});
    await assert.rejects(c.get(''), /must not be empty/);
    await assert.rejects(c.put('/a\0b', 'v'), /NUL/);
    await assert.rejects(c.leaseKeepAlive('12a'), /bad etcd lease ID/);
    await assert.rejects(c.leaseGrant(0), /TTL must be/);
    assert.deepEqual(s.log, []);
  });

  it('a non-JSON 200 answer is not taken for etcd', async () => {
    const s = scripted({'a:1': () => new Response('<html>', {status: 200})});
    await assert.rejects(createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch}).get('/k'), /answer is not a JSON object \(HTTP 200\): not etcd's v3 API\?/);
  });
});
