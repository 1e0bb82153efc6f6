import {strict as assert} from 'node:assert';
import {cidrString} from '../../../src/util/ip.js';
import {connectOverlay, withOverlay} from '../../../src/overlay/connect.js';
import type {OverlayNetConf} from '../../../src/overlay/net-conf.js';
import {FakeEtcd} from '../../helpers/fake-etcd.js';

/**
 * A connection's client comes from the injected factory (FakeEtcd's, which
 * records the options it was asked for and counts close()); that the real
 * client's close() ends its watches is covered in test/unit/etcd.
 */
const conf: OverlayNetConf = {
  cniVersion: '1.0.0',
  name: 'mesh',
  etcd: {endpoints: ['http://e1:2379', 'http://e2:2379'], username: 'u', password: 'p'},
  prefix: '/unit/network',
  bridge: 'mesh0',
  ipMasq: true,
  hairpinMode: false,
  raw: {},
};
const CONFIG = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}';
const silent = {debug: () => undefined, warn: () => undefined};

describe('overlay/connect', () => {
  let etcd: FakeEtcd;
  beforeEach(() => {
    etcd = new FakeEtcd();
    etcd.write('/unit/network/config', CONFIG);
  });

  it("makes one client from the config's etcd options, and a registry over it at the config's prefix", async () => {
    const conn = connectOverlay(conf, {etcdClient: etcd.factory});
    assert.deepEqual(etcd.made, [conf.etcd]);
    assert.equal(conn.etcd, etcd);
    assert.equal(conn.registry.prefix, '/unit/network');
    assert.equal((await conn.registry.getConfig()).backend.vni, 1, 'the registry reads through the made client');
    assert.equal(etcd.closed, 0);
    await conn.close();
    assert.equal(etcd.closed, 1);
  });

  it('tells the log (debug) when another host took the chosen subnet first', async () => {
    const lines: string[] = [];
    etcd.beforeCreate = (key) => {
      etcd.beforeCreate = undefined;
      etcd.write(key, '{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:09"}}');
    };
    const conn = connectOverlay(conf, {etcdClient: etcd.factory, log: {...silent, debug: (m) => lines.push(m)}});
    const lease = await conn.registry.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^overlay mesh: another host took 10\.240\.\d+\.0\/24 first; choosing again$/);
    assert.ok(!lines[0].includes(cidrString(lease.subnet)), 'the lost subnet, not the one taken');
  });

  it("withOverlay closes the connection after its section, and passes on the section's value", async () => {
    const v = await withOverlay(conf, {etcdClient: etcd.factory}, async (conn) => {
      assert.equal(conn.etcd, etcd);
      assert.equal(etcd.closed, 0, 'open while the section runs');
      return 'synced';
    });
    assert.equal(v, 'synced');
    assert.equal(etcd.closed, 1);
    assert.equal(etcd.made.length, 1);
  });

  it('withOverlay closes the connection when the section fails, and rethrows its error', async () => {
    const boom = new Error('no subnet left');
    await assert.rejects(
      withOverlay(conf, {etcdClient: etcd.factory}, async () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.equal(etcd.closed, 1);
  });
});
