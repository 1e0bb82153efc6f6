import {strict as assert} from 'node:assert';
import {cidrString, parseCidr} from '../../../src/util/ip.js';
import {SubnetRegistry} from '../../../src/overlay/registry.js';
import {FakeEtcd} from '../../helpers/fake-etcd.js';

const P = '/coreos.com/network';
const CONFIG = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}';
const value = (ip: string, mac: string) => `{"PublicIP":"${ip}","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;

function setup(config = CONFIG): {etcd: FakeEtcd; reg: SubnetRegistry} {
  const etcd = new FakeEtcd();
  etcd.write(`${P}/config`, config);
  return {etcd, reg: new SubnetRegistry(etcd, {prefix: P, random: () => 0, now: () => 1_000_000})};
}

describe('overlay/registry (over an in-memory etcd)', () => {
  it("takes the first free subnet with a lease of 24 h and flannel's value", async () => {
    const {etcd, reg} = setup();
    const l = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal(cidrString(l.subnet), '10.240.1.0/24', "the network's first subnet is never leased");
    assert.equal(l.key, `${P}/subnets/10.240.1.0-24`);
    const kv = etcd.kv.get(l.key)!;
    assert.equal(kv.value, value('192.0.2.1', '02:00:00:00:00:01'));
    assert.equal(etcd.leases.get(kv.lease), 86400);
    assert.equal(l.expiresAt?.getTime(), 1_000_000 + 86400_000);
  });

  it("finds the host's lease again by PublicIP: same subnet, same etcd lease, no new grant", async () => {
    const {etcd, reg} = setup();
    const a = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    const b = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal(b.key, a.key);
    assert.equal(b.etcdLease, a.etcdLease);
    assert.equal(etcd.granted, 1);
  });

  it('updates the VtepMAC of a found lease in place (the device was made again)', async () => {
    const {etcd, reg} = setup();
    const a = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    const b = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:02'});
    assert.equal(b.key, a.key);
    assert.equal(etcd.kv.get(a.key)!.value, value('192.0.2.1', '02:00:00:00:00:02'));
    assert.equal(etcd.kv.get(a.key)!.lease, a.etcdLease);
  });

  it('picks again when another host creates the chosen key first, and does not leak the granted lease', async () => {
    const {etcd, reg} = setup();
    let raced = false;
    etcd.beforeCreate = (key) => {
      if (!raced && key.endsWith('10.240.1.0-24')) {
        raced = true;
        etcd.write(key, value('192.0.2.9', '02:00:00:00:00:09'), (etcd.leases.set('77', 86400), '77'));
      }
    };
    const l = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal(cidrString(l.subnet), '10.240.2.0/24');
    assert.equal(etcd.granted, 1, 'one lease granted, used for the second try');
    assert.deepEqual(etcd.revoked, []);
    assert.equal(etcd.kv.get(`${P}/subnets/10.240.1.0-24`)!.value, value('192.0.2.9', '02:00:00:00:00:09'), "the winner's key untouched");
  });

  it('says when it lost a race (onLostRace), marks a lease it created, and release() gives such a lease up', async () => {
    const etcd = new FakeEtcd();
    etcd.write(`${P}/config`, CONFIG);
    const lost: string[] = [];
    const reg = new SubnetRegistry(etcd, {prefix: P, random: () => 0, onLostRace: (s) => lost.push(cidrString(s))});
    etcd.beforeCreate = (key) => {
      etcd.beforeCreate = undefined;
      etcd.write(key, value('192.0.2.9', '02:00:00:00:00:09'));
    };
    const l = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.deepEqual(lost, ['10.240.1.0/24']);
    assert.equal(l.created, true);
    assert.equal((await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'})).created, undefined, 'found again: not created');
    await reg.release(l);
    assert.equal(etcd.kv.has(l.key), false);
    assert.deepEqual(etcd.revoked, [l.etcdLease]);
  });

  it('revokes the granted lease when the create fails', async () => {
    const {etcd, reg} = setup();
    etcd.beforeCreate = () => {
      throw new Error('etcd unreachable at http://fake:2379: connection refused');
    };
    await assert.rejects(reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'}), /connection refused/);
    assert.deepEqual(etcd.revoked, ['1000']);
  });

  it("never takes a reservation, nor a subnet whose key holds a bad value; the reservation's host gets it", async () => {
    const {etcd, reg} = setup('{"Network":"10.241.0.0/22","Backend":{"Type":"vxlan"}}');
    etcd.write(`${P}/subnets/10.241.1.0-24`, '{"PublicIP":"192.0.2.50"}');
    etcd.write(`${P}/subnets/10.241.2.0-24`, 'not json', (etcd.leases.set('5', 60), '5'));
    const c = await reg.acquire({publicIP: '192.0.2.60', vtepMac: '02:00:00:00:00:60'});
    assert.equal(cidrString(c.subnet), '10.241.3.0/24');
    await assert.rejects(
      reg.acquire({publicIP: '192.0.2.61', vtepMac: '02:00:00:00:00:61'}),
      /^Error: no free \/24 subnet left in 10\.241\.0\.0\/22 \(3 taken\)$/,
    );
    const owner = await reg.acquire({publicIP: '192.0.2.50', vtepMac: '02:00:00:00:00:50'});
    assert.equal(owner.reservation, true);
    assert.equal(cidrString(owner.subnet), '10.241.1.0/24');
    assert.equal(etcd.kv.get(owner.key)!.lease, '0');
    assert.equal(etcd.kv.get(owner.key)!.value, value('192.0.2.50', '02:00:00:00:00:50'));
  });

  it('gives up a lease that no longer fits the config (as flannel does) and takes one that does', async () => {
    const {etcd, reg} = setup();
    etcd.leases.set('9', 86400);
    etcd.write(`${P}/subnets/10.240.7.0-25`, value('192.0.2.1', '02:00:00:00:00:01'), '9');
    const l = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal(cidrString(l.subnet), '10.240.1.0/24');
    assert.equal(etcd.kv.has(`${P}/subnets/10.240.7.0-25`), false);
  });

  it('takes the preferred subnet when it is free', async () => {
    const {reg} = setup();
    const l = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01', preferred: parseCidr('10.240.42.0/24')});
    assert.equal(cidrString(l.subnet), '10.240.42.0/24');
  });

  it('renews by keeping the etcd lease alive; takes the same subnet again once the lease ran out', async () => {
    const {etcd, reg} = setup();
    const a = await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    assert.equal((await reg.renew(a)).etcdLease, a.etcdLease);
    etcd.expire(a.etcdLease);
    const b = await reg.renew(a);
    assert.equal(b.key, a.key);
    assert.notEqual(b.etcdLease, a.etcdLease);
    assert.equal(etcd.kv.get(a.key)!.lease, b.etcdLease);
    etcd.expire(b.etcdLease);
    etcd.write(a.key, value('192.0.2.9', '02:00:00:00:00:09'));
    await assert.rejects(reg.renew(b), /the lease on 10\.240\.1\.0\/24 expired and the subnet has been taken since/);
  });

  it('lists leases with expiry, and entries it cannot use with the reason', async () => {
    const {etcd, reg} = setup();
    await reg.acquire({publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01'});
    etcd.write(`${P}/subnets/junk`, '{}');
    etcd.write(`${P}/subnets/10.240.9.0-24`, '{"PublicIP":"nope"}');
    const {leases, invalid} = await reg.listLeases({expiry: true});
    assert.deepEqual(
      leases.map((l) => [cidrString(l.subnet), l.expiresAt?.getTime()]),
      [['10.240.1.0/24', 1_000_000 + 86400_000]],
    );
    assert.deepEqual(
      invalid.map((e) => [e.key, e.subnet && cidrString(e.subnet), e.error.message]),
      [
        [`${P}/subnets/10.240.9.0-24`, '10.240.9.0/24', `${P}/subnets/10.240.9.0-24: lease: PublicIP "nope" is not a unicast IPv4 address`],
        [`${P}/subnets/junk`, undefined, `${P}/subnets/junk: not a subnet key`],
      ],
    );
  });

  it('refuses bad input before writing anything', async () => {
    const {etcd, reg} = setup();
    const before = etcd.revision;
    await assert.rejects(
      reg.acquire({publicIP: '224.0.0.1', vtepMac: '02:00:00:00:00:01'}),
      /public IP "224\.0\.0\.1" is not a unicast IPv4 address/,
    );
    await assert.rejects(
      reg.acquire({publicIP: '192.0.2.1', vtepMac: '01:00:5e:00:00:01'}),
      /VTEP MAC "01:00:5e:00:00:01" is not a unicast MAC address/,
    );
    assert.equal(etcd.revision, before);
    assert.throws(() => new SubnetRegistry(etcd, {prefix: '/a/../b'}), /each part must be/);
  });

  it('config: missing is one line naming the key; a different one is not overwritten', async () => {
    const etcd = new FakeEtcd();
    const reg = new SubnetRegistry(etcd, {prefix: P});
    await assert.rejects(
      reg.getConfig(),
      /^Error: no overlay network config at \/coreos\.com\/network\/config in etcd \(http:\/\/fake:2379\): write one first with cni-docker overlay init$/,
    );
    assert.equal((await reg.putConfig({network: '10.240.0.0/16'})).written, true);
    assert.equal(etcd.kv.get(`${P}/config`)!.value, CONFIG);
    assert.equal((await reg.putConfig({network: '10.240.0.0/16', subnetLen: 24, vni: 1, port: 8472})).written, false);
    await assert.rejects(reg.putConfig({network: '10.250.0.0/16'}), /already holds a different network config/);
  });
});
