import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {createEtcdClient} from '../../src/etcd/client.js';
import {EtcdError} from '../../src/etcd/errors.js';
import type {EtcdClient, WatchEvent} from '../../src/etcd/types.js';
import {assertRoot} from '../helpers/docker.js';
import {EtcdCluster} from '../helpers/etcd-cluster.js';
import {makeTestCerts, type TestCerts} from '../helpers/test-certs.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('etcd client over TLS (CA, client certificate) and with user/password auth', function () {
  this.timeout(120_000);
  let certs: TestCerts;
  let cluster: EtcdCluster;
  const clients: EtcdClient[] = [];
  const client = (o: Partial<Parameters<typeof createEtcdClient>[0]>): EtcdClient => {
    const c = createEtcdClient({endpoints: cluster.endpoints, timeoutMs: 4000, ...o});
    clients.push(c);
    return c;
  };
  const fullTls = () => ({caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey});
  const anonTls = () => ({caFile: certs.ca, certFile: certs.anonCert, keyFile: certs.anonKey});
  const ctl = (...args: string[]): string => {
    const r = spawnSync(
      'etcdctl',
      ['--endpoints', cluster.endpoints.join(','), '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, ...args],
      {encoding: 'utf8'},
    );
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };

  before(async () => {
    assertRoot();
    certs = makeTestCerts(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    cluster = new EtcdCluster({
      clientScheme: 'https',
      basePort: 23890,
      extraArgs: () => [
        '--cert-file',
        certs.serverCert,
        '--key-file',
        certs.serverKey,
        '--client-cert-auth',
        '--trusted-ca-file',
        certs.ca,
        '--auth-token',
        'simple',
        '--auth-token-ttl',
        '2',
      ],
      ctlArgs: ['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey],
    });
    await cluster.start();
  });

  after(async () => {
    for (const c of clients) await c.close();
    await cluster?.cleanup();
    certs?.cleanup();
  });

  it('reads, writes, leases and watches with the CA file and a client certificate', async () => {
    const c = client({tls: fullTls()});
    const events: WatchEvent[] = [];
    const w = c.watchPrefix('/ov-tls/', {onEvents: (e) => events.push(...e)});
    await w.ready;
    const lease = await c.leaseGrant(60);
    assert.equal((await c.createIfAbsent('/ov-tls/a', 'one', {lease: lease.id})).created, true);
    assert.equal((await c.get('/ov-tls/a'))?.value, 'one');
    assert.ok((await c.leaseKeepAlive(lease.id)) > 0);
    for (let i = 0; i < 100 && events.length === 0; i++) await sleep(20);
    assert.deepEqual(
      events.map((e) => e.type === 'put' && e.kv.key),
      ['/ov-tls/a'],
    );
    w.close();
  });

  it('without the client certificate, fails in one line naming etcd', async () => {
    const err = await client({tls: {caFile: certs.ca}})
      .get('/ov-tls/a')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof EtcdError, String(err));
    assert.match(err.message, /^etcd unreachable at https:\/\/127\.0\.0\.1:\d+, https:\/\/127\.0\.0\.2:\d+, https:\/\/127\.0\.0\.3:\d+: /);
    assert.equal(err.message.split('\n').length, 1);
  });

  it('without the CA, says the certificate authority is unknown', async () => {
    const err = await client({})
      .get('/ov-tls/a')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof EtcdError, String(err));
    assert.match(err.message, /: TLS: unknown certificate authority \(give the CA file\)$/);
  });

  it('a missing CA file is one line naming the file', async () => {
    await assert.rejects(
      client({tls: {...fullTls(), caFile: `${certs.dir}/nope.crt`}}).get('/x'),
      /^EtcdError: etcd TLS: cannot read CA file \/tmp\/ov-certs-\w+\/nope\.crt: no such file or directory$/,
    );
  });

  describe('with auth enabled', () => {
    before(() => {
      ctl('user', 'add', 'root:rootpw');
      ctl('user', 'grant-role', 'root', 'root');
      ctl('role', 'add', 'ov-app');
      ctl('role', 'grant-permission', 'ov-app', '--prefix=true', 'readwrite', '/ov-auth/');
      ctl('user', 'add', 'ov-app:apppw');
      ctl('user', 'grant-role', 'ov-app', 'ov-app');
      ctl('auth', 'enable');
    });

    it("authenticates with user and password, and is held to that user's permissions", async () => {
      const c = client({tls: anonTls(), username: 'ov-app', password: 'apppw'});
      await c.put('/ov-auth/x', 'ok');
      assert.equal((await c.get('/ov-auth/x'))?.value, 'ok');
      await assert.rejects(
        c.put('/elsewhere', 'no'),
        (e: unknown) => e instanceof EtcdError && /^etcd at https:\/\/127\.0\.0\.\d:\d+: etcdserver: permission denied$/.test(e.message),
      );
    });

    it('authenticates again when its token has expired', async () => {
      const c = client({tls: anonTls(), username: 'ov-app', password: 'apppw'});
      await c.put('/ov-auth/y', '1');
      await sleep(3500); // the members were started with --auth-token-ttl 2
      await c.put('/ov-auth/y', '2');
      assert.equal((await c.get('/ov-auth/y'))?.value, '2');
    });

    it('a wrong password is one line naming etcd and the user', async () => {
      const err = await client({tls: anonTls(), username: 'ov-app', password: 'wrong'})
        .get('/ov-auth/x')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof EtcdError, String(err));
      assert.match(
        err.message,
        /^etcd at https:\/\/127\.0\.0\.\d:\d+: authentication as ov-app failed: etcdserver: authentication failed, invalid user ID or password$/,
      );
    });

    it("a client certificate with a CommonName is refused by the gateway once auth is on: one line with etcd's words", async () => {
      const err = await client({tls: fullTls(), username: 'ov-app', password: 'apppw'})
        .get('/ov-auth/x')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof EtcdError, String(err));
      assert.match(
        err.message,
        /^etcd at https:\/\/127\.0\.0\.\d:\d+: authentication as ov-app failed: CommonName of client sending a request against gateway will be ignored and not used as expected$/,
      );
    });
  });
});
