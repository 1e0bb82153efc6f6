import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps} from '../../../../src/deps.js';
import {overlayChecks} from '../../../../src/runtime/overlay/doctor.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {FakeDocker} from '../../../helpers/fake-docker.js';
import {FakeEtcd, noEtcd} from '../../../helpers/fake-etcd.js';
import type {EtcdClientFactory} from '../../../../src/etcd/types.js';

const silent = {debug: () => undefined, warn: () => undefined};

/**
 * Without etcd (noEtcd: a client asked for fails the test): a conf dir
 * without overlay networks, and an overlay config that does not load
 * (reported without connecting). With an in-memory etcd: the line of a
 * network whose etcd answers, and of one whose etcd holds no config.
 */
describe('runtime/overlay/doctor', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tovd-unit-');
    mkdirSync(`${tmp}/conf`);
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));
  const deps = (etcdClient: EtcdClientFactory = noEtcd) =>
    makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      etcdClient,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/c`, stateDir: `${tmp}/s`, dhcpSocket: `${tmp}/d.sock`},
    });

  it('has nothing to say without overlay networks', async () => {
    writeFileSync(`${tmp}/conf/10-br.conf`, JSON.stringify({cniVersion: '1.0.0', name: 'tbr', type: 'bridge'}));
    assert.deepEqual(await overlayChecks(deps()), []);
  });

  it('fails an overlay config that does not load, naming the file and how to fix it', async () => {
    const file = `${tmp}/conf/10-mesh.conflist`;
    writeFileSync(file, JSON.stringify({cniVersion: '1.0.0', name: 'tmesh', plugins: [{type: 'overlay', etcdEndpoints: []}]}));
    const [c, ...rest] = await overlayChecks(deps());
    assert.deepEqual(rest, []);
    assert.equal(c.check, 'overlay');
    assert.equal(c.status, 'fail');
    assert.match(c.message, new RegExp(`^${file}: .*etcdEndpoints is missing`));
    assert.equal(c.fix, `fix or remove ${file}`);
  });

  describe('with an in-memory etcd', () => {
    const CONFIG = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":7,"Port":4789}}';
    const lease = (ip: string) => JSON.stringify({PublicIP: ip, BackendType: 'vxlan', BackendData: {VNI: 7, VtepMAC: '02:00:00:00:00:01'}});
    const overlay = (file: string, name: string, prefix: string) =>
      writeFileSync(
        `${tmp}/conf/${file}`,
        JSON.stringify({
          cniVersion: '1.0.0',
          name,
          plugins: [{type: 'overlay', etcdEndpoints: ['http://e1:2379', 'http://e2:2379'], etcdPrefix: prefix}],
        }),
      );
    let etcd: FakeEtcd;
    beforeEach(() => {
      etcd = new FakeEtcd();
      etcd.leases.set('101', 3600);
      etcd.write('/good/config', CONFIG);
      etcd.write('/good/subnets/10.240.1.0-24', lease('192.0.2.1'), '101');
      etcd.write('/good/subnets/10.240.2.0-24', lease('192.0.2.2'));
      etcd.write('/good/subnets/garbage', lease('192.0.2.3'));
    });

    it('says etcd answers, with the network config and the number of leases (invalid keys not counted)', async () => {
      overlay('10-mesh.conflist', 'tmesh', '/good');
      assert.deepEqual(await overlayChecks(deps(etcd.factory)), [
        {
          check: 'overlay',
          status: 'ok',
          message: 'network tmesh: etcd answers at http://e1:2379, http://e2:2379; overlay 10.240.0.0/16 (vxlan VNI 7), 2 lease(s)',
        },
      ]);
      assert.deepEqual(
        etcd.made.map((o) => o.endpoints),
        [['http://e1:2379', 'http://e2:2379']],
        "one client, from the config's endpoints",
      );
      assert.equal(etcd.closed, 1);
    });

    it('checks each network on its own: one without a network config in etcd fails with a fix, the other is ok', async () => {
      overlay('10-mesh.conflist', 'tmesh', '/good');
      overlay('20-bare.conflist', 'tbare', '/bare');
      const checks = await overlayChecks(deps(etcd.factory));
      assert.deepEqual(
        checks.map((c) => [c.status, c.message.split(':')[0]]),
        [
          ['ok', 'network tmesh'],
          ['fail', 'network tbare'],
        ],
      );
      const bare = checks[1];
      assert.match(bare.message, /^network tbare: no overlay network config at \/bare\/config in etcd /);
      assert.equal(
        bare.fix,
        `start etcd, or correct etcdEndpoints/etcdPrefix in ${tmp}/conf/20-bare.conflist (cni-docker overlay init writes the network config)`,
      );
      assert.equal(etcd.closed, 2, 'both clients closed');
    });
  });
});
