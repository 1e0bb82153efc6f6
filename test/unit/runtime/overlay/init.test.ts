import {strict as assert} from 'node:assert';
import {UserError} from '../../../../src/errors.js';
import {overlayInit} from '../../../../src/runtime/overlay/init.js';
import {FakeEtcd, noEtcd} from '../../../helpers/fake-etcd.js';

describe('runtime/overlay/init', () => {
  const good = {endpoints: ['http://192.0.2.1:2379'], network: '10.240.0.0/16'};

  /**
   * What overlay init checks before it connects: each bad value is one
   * UserError naming the option, and no client is made (noEtcd would fail
   * the call with an AssertionError instead).
   */
  describe('checks before connecting', () => {
    const refused = (req: Parameters<typeof overlayInit>[1], re: RegExp) =>
      assert.rejects(overlayInit({etcdClient: noEtcd}, req), (e: unknown) => e instanceof UserError && re.test(e.message));

    it('refuses bad endpoints under --etcd', async () => {
      await refused({...good, endpoints: []}, /^--etcd: /);
      await refused({...good, endpoints: ['ftp://192.0.2.1:2379']}, /^--etcd: .*scheme must be http or https/);
      await refused({...good, username: 'u'}, /^--etcd: .*both a user and a password/);
    });

    it('refuses a bad prefix under --prefix', async () => {
      await refused({...good, prefix: 'relative'}, /^--prefix: .*must start with \//);
      await refused({...good, prefix: '/a/../b'}, /^--prefix: /);
    });

    it('refuses a bad overlay network under "overlay network"', async () => {
      await refused({...good, network: 'not-a-cidr'}, /^overlay network: /);
      await refused({...good, network: '10.240.0.0/16', subnetLen: 8}, /^overlay network: /);
    });
  });

  describe('against an in-memory etcd', () => {
    const KEY = '/coreos.com/network/config';
    const STORED = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}';
    let etcd: FakeEtcd;
    beforeEach(() => (etcd = new FakeEtcd()));

    it('writes the flannel config under the default prefix, with the client made from the etcd options, and closes it', async () => {
      const req = {...good, endpoints: ['https://192.0.2.1:2379'], tls: {caFile: '/nonexistent/ca.pem'}, username: 'app', password: 'pw'};
      const r = await overlayInit({etcdClient: etcd.factory}, req);
      assert.deepEqual(r, {
        key: KEY,
        written: true,
        stored: STORED,
        overlay: {network: '10.240.0.0/16', subnetLen: 24, subnetMin: '10.240.1.0', subnetMax: '10.240.255.0', vni: 1, port: 8472},
      });
      assert.equal(etcd.kv.get(KEY)?.value, STORED);
      assert.deepEqual(etcd.made, [{endpoints: req.endpoints, tls: req.tls, username: 'app', password: 'pw'}]);
      assert.equal(etcd.closed, 1);
    });

    it('writes under --prefix, with the optional fields given', async () => {
      const r = await overlayInit(
        {etcdClient: etcd.factory},
        {...good, prefix: '/mesh/network', subnetLen: 26, subnetMin: '10.240.0.64', vni: 7, port: 4789},
      );
      assert.equal(r.key, '/mesh/network/config');
      assert.equal(
        etcd.kv.get('/mesh/network/config')?.value,
        '{"Network":"10.240.0.0/16","SubnetLen":26,"SubnetMin":"10.240.0.64","Backend":{"Type":"vxlan","VNI":7,"Port":4789}}',
      );
      assert.equal(etcd.kv.has(KEY), false);
      assert.deepEqual(r.overlay, {
        network: '10.240.0.0/16',
        subnetLen: 26,
        subnetMin: '10.240.0.64',
        subnetMax: '10.240.255.192',
        vni: 7,
        port: 4789,
      });
    });

    it('accepts the same network again (defaults spelt out or not) and leaves the stored config as it is', async () => {
      await overlayInit({etcdClient: etcd.factory}, good);
      const before = etcd.kv.get(KEY)!;
      const r = await overlayInit({etcdClient: etcd.factory}, {...good, subnetLen: 24, vni: 1, port: 8472});
      assert.equal(r.written, false);
      assert.equal(r.key, KEY);
      assert.deepEqual(etcd.kv.get(KEY), before, 'not written again');
      assert.equal(etcd.closed, 2);
    });

    it('refuses a different network, leaves the stored one, and still closes the client', async () => {
      await overlayInit({etcdClient: etcd.factory}, good);
      const before = etcd.kv.get(KEY)!;
      await assert.rejects(
        overlayInit({etcdClient: etcd.factory}, {...good, vni: 2}),
        (e: unknown) =>
          e instanceof UserError &&
          /^\/coreos\.com\/network\/config already holds a different network config \(.*"VNI":1.*\); not overwritten$/.test(e.message),
      );
      assert.deepEqual(etcd.kv.get(KEY), before);
      assert.equal(etcd.closed, 2);
    });

    it('reports a failing etcd as a UserError in its own words, and closes the client', async () => {
      etcd.beforeCreate = () => {
        throw new Error('etcd cluster is unavailable');
      };
      await assert.rejects(
        overlayInit({etcdClient: etcd.factory}, good),
        (e: unknown) => e instanceof UserError && e.message === 'etcd cluster is unavailable',
      );
      assert.equal(etcd.kv.has(KEY), false);
      assert.equal(etcd.closed, 1);
    });
  });
});
