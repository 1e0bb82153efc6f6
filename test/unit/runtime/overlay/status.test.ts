import {strict as assert} from 'node:assert';
import {loadConfList} from '../../../../src/cni/config.js';
import {makeDeps} from '../../../../src/deps.js';
import {overlayOf, type OverlayNetwork} from '../../../../src/runtime/overlay/network.js';
import {overlayStatus, type LeaseRow} from '../../../../src/runtime/overlay/status.js';
import {FakeDocker} from '../../../helpers/fake-docker.js';
import {FakeEtcd} from '../../../helpers/fake-etcd.js';
import {FakeRunner, type Expectation} from '../../../helpers/fake-runner.js';

const P = '/unit/network';
const CONFIG = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":7,"Port":4789}}';
const silent = {debug: () => undefined, warn: () => undefined};
const lease = (ip: string, mac?: string): string =>
  JSON.stringify({PublicIP: ip, BackendType: 'vxlan', BackendData: mac === undefined ? undefined : {VNI: 7, VtepMAC: mac}});

function network(extra: Record<string, unknown> = {}): OverlayNetwork {
  const list = loadConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'mesh',
      plugins: [{type: 'overlay', etcdEndpoints: ['http://e1:2379', 'http://e2:2379'], etcdPrefix: P, ...extra}],
    }),
  );
  return {list, conf: overlayOf(list)!};
}

/** `ip -j addr show`: eth0 holds 192.0.2.1 and 192.0.2.2. */
const ADDRS: Expectation = {
  argv: ['ip', '-j', 'addr', 'show'],
  reply: {
    stdout: JSON.stringify([
      {ifindex: 1, ifname: 'lo', flags: ['UP'], addr_info: [{family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host'}]},
      {
        ifindex: 2,
        ifname: 'eth0',
        flags: ['UP'],
        addr_info: [
          {family: 'inet', local: '192.0.2.1', prefixlen: 24, scope: 'global'},
          {family: 'inet', local: '192.0.2.2', prefixlen: 24, scope: 'global'},
        ],
      },
    ]),
  },
};
const routes = (r: unknown[]): Expectation => ({
  argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'main'],
  reply: {stdout: JSON.stringify(r)},
});

describe('runtime/overlay/status (over an in-memory etcd)', () => {
  let etcd: FakeEtcd;
  beforeEach(() => {
    etcd = new FakeEtcd();
    etcd.write(`${P}/config`, CONFIG);
    etcd.leases.set('101', 3600);
    etcd.leases.set('102', 7200);
    etcd.write(`${P}/subnets/10.240.1.0-24`, lease('192.0.2.1', '02:00:00:00:00:01'), '101');
    etcd.write(`${P}/subnets/10.240.2.0-24`, lease('192.0.2.2', '02:00:00:00:00:02'), '102');
    etcd.write(`${P}/subnets/10.240.3.0-24`, 'not json');
    etcd.write(`${P}/subnets/10.240.9.0-24`, lease('192.0.2.9'));
    etcd.write(`${P}/subnets/not-a-subnet`, lease('192.0.2.8', '02:00:00:00:00:08'));
  });
  const deps = (runner: FakeRunner) =>
    makeDeps({env: {}, cwd: '/', runner, log: silent, docker: new FakeDocker([]), etcdClient: etcd.factory});
  /** The rows without their expiry, which depends on the clock. */
  const rows = (ls: LeaseRow[]) => ls.map(({expiresAt: _e, ...r}) => r);

  it("lists every lease with its subnet, public IP, VTEP MAC and expiry, and marks this host's (default route's address)", async () => {
    const runner = new FakeRunner([ADDRS, routes([{dst: 'default', gateway: '192.0.2.254', dev: 'eth0', flags: []}])]);
    const before = Date.now();
    const s = await overlayStatus(deps(runner), network());
    const after = Date.now();
    assert.equal(s.network, 'mesh');
    assert.equal(s.prefix, P);
    assert.deepEqual(s.endpoints, ['http://e1:2379', 'http://e2:2379']);
    assert.deepEqual(s.overlay, {
      network: '10.240.0.0/16',
      subnetLen: 24,
      subnetMin: '10.240.1.0',
      subnetMax: '10.240.255.0',
      vni: 7,
      port: 4789,
    });
    assert.equal(s.publicIP, '192.0.2.1');
    assert.equal(s.note, undefined);
    assert.deepEqual(rows(s.leases), [
      {subnet: '10.240.1.0/24', publicIP: '192.0.2.1', vtepMac: '02:00:00:00:00:01', reservation: false, mine: true},
      {subnet: '10.240.2.0/24', publicIP: '192.0.2.2', vtepMac: '02:00:00:00:00:02', reservation: false, mine: false},
      {subnet: '10.240.9.0/24', publicIP: '192.0.2.9', vtepMac: undefined, reservation: true, mine: false},
    ]);
    const expiry = s.leases.map((l) => (l.expiresAt === undefined ? undefined : Date.parse(l.expiresAt)));
    for (const [i, ttl] of [
      [0, 3600],
      [1, 7200],
    ]) {
      assert.ok(expiry[i]! >= before + ttl * 1000 && expiry[i]! <= after + ttl * 1000, `lease ${i} runs out in the ${ttl} s etcd gives it`);
    }
    assert.equal(expiry[2], undefined, 'a reservation does not expire');
    assert.deepEqual(etcd.made, [network().conf.etcd]);
    assert.equal(etcd.closed, 1);
  });

  it('reports the keys that are not usable leases, with why', async () => {
    const runner = new FakeRunner([ADDRS, routes([{dst: 'default', dev: 'eth0', flags: []}])]);
    const s = await overlayStatus(deps(runner), network());
    assert.deepEqual(
      s.invalid.map((e) => e.key),
      [`${P}/subnets/10.240.3.0-24`, `${P}/subnets/not-a-subnet`],
    );
    assert.match(s.invalid[0].error, /^\/unit\/network\/subnets\/10\.240\.3\.0-24: /);
    assert.equal(s.invalid[1].error, `${P}/subnets/not-a-subnet: not a subnet key`);
    assert.ok(!s.leases.some((l) => l.publicIP === '192.0.2.8'), 'an invalid key is not listed as a lease');
  });

  it('finds this host by the configured publicIP (no route read) and marks that lease', async () => {
    const runner = new FakeRunner([ADDRS]);
    const s = await overlayStatus(deps(runner), network({publicIP: '192.0.2.2'}));
    assert.equal(s.publicIP, '192.0.2.2');
    assert.deepEqual(
      s.leases.filter((l) => l.mine).map((l) => l.subnet),
      ['10.240.2.0/24'],
    );
  });

  it("with this host's public IP unknown: says why in a note and marks no lease", async () => {
    const runner = new FakeRunner([ADDRS, routes([{dst: '10.0.0.0/8', dev: 'eth0', flags: []}])]);
    const s = await overlayStatus(deps(runner), network());
    assert.equal(s.publicIP, undefined);
    assert.equal('publicIP' in s, false);
    assert.match(s.note ?? '', /^this host's public IP is unknown: no IPv4 default route /);
    assert.equal(s.leases.length, 3, 'the leases are listed all the same');
    assert.deepEqual(
      s.leases.filter((l) => l.mine),
      [],
    );
  });

  it('fails without a network config in etcd, and closes the client', async () => {
    etcd.kv.delete(`${P}/config`);
    const runner = new FakeRunner([ADDRS, routes([{dst: 'default', dev: 'eth0', flags: []}])]);
    await assert.rejects(
      overlayStatus(deps(runner), network()),
      /^Error: no overlay network config at \/unit\/network\/config in etcd .*overlay init/,
    );
    assert.equal(etcd.closed, 1);
  });
});
