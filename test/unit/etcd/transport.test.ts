import {strict as assert} from 'node:assert';
import {createEtcdClient} from '../../../src/etcd/client.js';
import {EtcdError, EtcdUnreachableError} from '../../../src/etcd/errors.js';
import {json, scripted, type Behaviour} from '../../helpers/scripted-fetch.js';

/**
 * The transport's failover, deadline and auth rules against a scripted
 * fetch: each endpoint's behaviour is a function of the request. (What the
 * client asks and how it reads the answers: client.test.ts.)
 */
const refused = (): never => {
  throw Object.assign(new TypeError('fetch failed'), {cause: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'})});
};
const hang: Behaviour = (_p, _b, _h, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
const ok =
  (v: unknown = {header: {revision: '5'}}): Behaviour =>
  () =>
    json(200, v);

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
    const s = scripted({
      'a:1': () => json(503, {error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14}),
      'b:1': ok(),
      'c:1': ok(),
    });
    await createEtcdClient({endpoints: EPS}, {fetch: s.fetch}).get('/k');
    assert.deepEqual(s.log, ['a:1/v3/kv/range', 'b:1/v3/kv/range']);
  });

  it("does not fail over on an answer that would be the same anywhere: one line with the member's words", async () => {
    const s = scripted({
      'a:1': () => json(400, {error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5}),
      'b:1': ok(),
    });
    await assert.rejects(
      createEtcdClient({endpoints: EPS}, {fetch: s.fetch}).put('/k', 'v', {lease: '5'}),
      (e: unknown) => e instanceof EtcdError && e.code === 5 && e.message === 'etcd at http://a:1: etcdserver: requested lease not found',
    );
    assert.deepEqual(s.log, ['a:1/v3/kv/put']);
  });

  it('with every member refusing, fails at once (two rounds) in one line naming etcd and the endpoints', async () => {
    const s = scripted({'a:1': refused, 'b:1': refused, 'c:1': refused});
    const t0 = Date.now();
    const err = await createEtcdClient({endpoints: EPS}, {fetch: s.fetch})
      .get('/k')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof EtcdUnreachableError);
    assert.equal(err.message, 'etcd unreachable at http://a:1, http://b:1, http://c:1: connection refused');
    assert.equal(s.log.length, 6);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('never takes longer than the deadline, even when members accept and never answer', async () => {
    const s = scripted({'a:1': hang, 'b:1': hang, 'c:1': refused});
    const t0 = Date.now();
    const err = await createEtcdClient({endpoints: EPS, timeoutMs: 400, attemptTimeoutMs: 150}, {fetch: s.fetch})
      .get('/k')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const took = Date.now() - t0;
    assert.ok(err instanceof EtcdUnreachableError, String(err));
    assert.ok(took >= 300 && took < 900, `took ${took} ms`);
    assert.match(
      err.message,
      /^etcd unreachable at http:\/\/a:1, http:\/\/b:1, http:\/\/c:1: http:\/\/a:1, http:\/\/b:1: timed out; http:\/\/c:1: connection refused$/,
    );
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
        if (headers.authorization !== valid)
          return json(401, {error: 'etcdserver: invalid auth token', message: 'etcdserver: invalid auth token', code: 16});
        return json(200, {header: {revision: '1'}});
      },
    });
    const c = createEtcdClient({endpoints: ['http://a:1'], username: 'app', password: 'pw'}, {fetch: s.fetch});
    await c.get('/k');
    await c.get('/k');
    valid = 'expired';
    await c.get('/k');
    assert.equal(tokens, 2);
    assert.deepEqual(s.log, [
      'a:1/v3/auth/authenticate',
      'a:1/v3/kv/range',
      'a:1/v3/kv/range',
      'a:1/v3/kv/range',
      'a:1/v3/auth/authenticate',
      'a:1/v3/kv/range',
    ]);
  });

  it('a wrong password is one line naming the member and the user', async () => {
    const s = scripted({'a:1': () => json(400, {error: 'etcdserver: authentication failed, invalid user ID or password', code: 3})});
    await assert.rejects(
      createEtcdClient({endpoints: ['http://a:1'], username: 'app', password: 'x'}, {fetch: s.fetch}).get('/k'),
      /^EtcdError: etcd at http:\/\/a:1: authentication as app failed: etcdserver: authentication failed, invalid user ID or password$/,
    );
  });

  it('a non-JSON 200 answer is not taken for etcd', async () => {
    const s = scripted({'a:1': () => new Response('<html>', {status: 200})});
    await assert.rejects(
      createEtcdClient({endpoints: ['http://a:1']}, {fetch: s.fetch}).get('/k'),
      /answer is not a JSON object \(HTTP 200\): not etcd's v3 API\?/,
    );
  });
});
