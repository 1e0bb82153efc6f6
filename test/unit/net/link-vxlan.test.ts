import {strict as assert} from 'node:assert';
import {ensureVxlan, planPeers, programmedPeers, readVtepMac, syncPeers, type Programmed} from '../../../src/net/link-vxlan.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const READ = ['ip', '-j', '-d', '-batch', '-'];
const SHOW = ['ip', '-j', '-d', 'link', 'show', 'dev', 'flannel.1'];
const link = (o: {port?: number; local?: string; mtu?: number; up?: boolean; addrs?: string[]; learning?: boolean} = {}) =>
  JSON.stringify([
    {
      ifindex: 7,
      ifname: 'flannel.1',
      flags: o.up === false ? ['BROADCAST'] : ['BROADCAST', 'UP'],
      mtu: o.mtu ?? 1450,
      address: '4a:d9:42:87:e6:52',
      linkinfo: {
        info_kind: 'vxlan',
        info_data: {id: 1, local: o.local ?? '192.0.2.1', link: 'eth0', port: o.port ?? 8472, learning: o.learning ?? false},
      },
      addr_info: (o.addrs ?? []).map((a) => ({
        family: 'inet',
        local: a.split('/')[0],
        prefixlen: Number(a.split('/')[1]),
        scope: 'global',
      })),
    },
  ]) + '\n';
const SPEC = {vni: 1, port: 8472, localIP: '192.0.2.1', uplink: 'eth0', mtu: 1450};

describe('net/link-vxlan (the overlay datapath, exact commands)', () => {
  it('creates flannel.<VNI> as flannel does, in one batch that also reads back the MAC', async () => {
    const r = new FakeRunner([
      {argv: READ, input: 'addr show dev flannel.1\n', reply: {exitCode: 1, stderr: 'Device "flannel.1" does not exist.\n'}},
      {
        argv: READ,
        input:
          'link add flannel.1 type vxlan id 1 local 192.0.2.1 dev eth0 dstport 8472 nolearning\nlink set flannel.1 mtu 1450\nlink set flannel.1 up\nlink show dev flannel.1\n',
        reply: {stdout: link()},
      },
    ]);
    assert.deepEqual(await ensureVxlan(r, SPEC), {name: 'flannel.1', mac: '4a:d9:42:87:e6:52', created: true});
    r.assertDone();
  });

  it("on the right device, only sets the subnet's VTEP address (dropping a stale one)", async () => {
    const r = new FakeRunner([
      {argv: READ, input: 'addr show dev flannel.1\n', reply: {stdout: link({addrs: ['10.240.9.0/32']})}},
      {
        argv: READ,
        input: 'addr del 10.240.9.0/32 dev flannel.1\naddr add 10.240.3.0/32 dev flannel.1\nlink show dev flannel.1\n',
        reply: {stdout: link({addrs: ['10.240.3.0/32']})},
      },
    ]);
    assert.equal((await ensureVxlan(r, {...SPEC, subnet: '10.240.3.0/24'})).created, false);
    r.assertDone();
  });

  it('changes nothing when everything is as it should be (one read)', async () => {
    const r = new FakeRunner([{argv: READ, input: 'addr show dev flannel.1\n', reply: {stdout: link({addrs: ['10.240.3.0/32']})}}]);
    assert.deepEqual(await ensureVxlan(r, {...SPEC, subnet: '10.240.3.0/24'}), {
      name: 'flannel.1',
      mac: '4a:d9:42:87:e6:52',
      created: false,
    });
    r.assertDone();
  });

  it('makes the device again when it is not the one wanted (port, local address, learning)', async () => {
    for (const wrong of [{port: 4789}, {local: '192.0.2.99'}, {learning: true}]) {
      const r = new FakeRunner([
        {argv: READ, input: 'addr show dev flannel.1\n', reply: {stdout: link(wrong)}},
        {
          argv: READ,
          input:
            'link del flannel.1\nlink add flannel.1 type vxlan id 1 local 192.0.2.1 dev eth0 dstport 8472 nolearning\nlink set flannel.1 mtu 1450\naddr add 10.240.3.0/32 dev flannel.1\nlink set flannel.1 up\nlink show dev flannel.1\n',
          reply: {stdout: link()},
        },
      ]);
      assert.equal((await ensureVxlan(r, {...SPEC, subnet: '10.240.3.0/24'})).created, true, JSON.stringify(wrong));
      r.assertDone();
    }
  });

  it('refuses bad input before running anything', async () => {
    const r = new FakeRunner([]);
    await assert.rejects(ensureVxlan(r, {...SPEC, uplink: 'eth0 type dummy'}), /uplink "eth0 type dummy" is not an interface name/);
    await assert.rejects(ensureVxlan(r, {...SPEC, vni: 12345678}), /longer than 15/);
    await assert.rejects(ensureVxlan(r, {...SPEC, localIP: 'fd00::1'}), /local IP "fd00::1" is not an IPv4 address/);
    await assert.rejects(ensureVxlan(r, {...SPEC, subnet: '10.240.3.1/24'}), /not canonical \(10\.240\.3\.0\/24\)/);
    await assert.rejects(ensureVxlan(r, {...SPEC, mtu: 20}), /MTU 20/);
    r.assertDone();
  });

  it('reads the VTEP MAC, or undefined without the device', async () => {
    const r = new FakeRunner([
      {argv: SHOW, reply: {stdout: link()}},
      {argv: SHOW, reply: {exitCode: 1, stderr: 'Device "flannel.1" does not exist.\n'}},
    ]);
    assert.equal(await readVtepMac(r, 1), '4a:d9:42:87:e6:52');
    assert.equal(await readVtepMac(r, 1), undefined);
    r.assertDone();
  });

  const A = {subnet: '10.240.4.0/24', publicIP: '192.0.2.2', vtepMac: '02:00:00:00:00:02'};
  const B = {subnet: '10.240.5.0/24', publicIP: '192.0.2.3', vtepMac: '02:00:00:00:00:03'};
  const programmedA: Programmed = {
    routes: [{subnet: A.subnet, gateway: '10.240.4.0'}],
    neighbours: [{ip: '10.240.4.0', mac: A.vtepMac}],
    fdb: [{mac: A.vtepMac, dst: A.publicIP}],
  };

  it('plans a route, a permanent neighbour and an FDB entry per new peer, and nothing for peers already right', () => {
    assert.deepEqual(planPeers('flannel.1', programmedA, [A, B]), {
      ip: [
        ['neigh', 'replace', '10.240.5.0', 'lladdr', B.vtepMac, 'dev', 'flannel.1', 'nud', 'permanent'],
        ['route', 'replace', '10.240.5.0/24', 'via', '10.240.5.0', 'dev', 'flannel.1', 'onlink'],
      ],
      bridge: [['fdb', 'replace', B.vtepMac, 'dev', 'flannel.1', 'dst', B.publicIP, 'self', 'permanent']],
    });
    assert.deepEqual(planPeers('flannel.1', programmedA, [A]), {ip: [], bridge: []});
  });

  it('plans the removal of a gone peer, and the replacement of a peer that moved or got a new MAC', () => {
    assert.deepEqual(planPeers('flannel.1', programmedA, []), {
      ip: [
        ['route', 'del', '10.240.4.0/24', 'dev', 'flannel.1'],
        ['neigh', 'del', '10.240.4.0', 'dev', 'flannel.1'],
      ],
      bridge: [['fdb', 'del', A.vtepMac, 'dev', 'flannel.1', 'self']],
    });
    const moved = {...A, publicIP: '192.0.2.77', vtepMac: '02:00:00:00:00:77'};
    assert.deepEqual(planPeers('flannel.1', programmedA, [moved]), {
      ip: [['neigh', 'replace', '10.240.4.0', 'lladdr', moved.vtepMac, 'dev', 'flannel.1', 'nud', 'permanent']],
      bridge: [
        ['fdb', 'del', A.vtepMac, 'dev', 'flannel.1', 'self'],
        ['fdb', 'replace', moved.vtepMac, 'dev', 'flannel.1', 'dst', moved.publicIP, 'self', 'permanent'],
      ],
    });
  });

  it("refuses a hostile peer (from someone else's lease) before any command", () => {
    assert.throws(() => planPeers('flannel.1', programmedA, [{...A, vtepMac: '02:00:00:00:00:02 dev lo'}]), /not a unicast MAC/);
    assert.throws(() => planPeers('flannel.1', programmedA, [{...A, publicIP: '192.0.2.2\nlink del eth0'}]), /not an IPv4 address/);
    assert.throws(() => planPeers('flannel.1', programmedA, [{...A, subnet: '0.0.0.0/0 via 1.2.3.4'}]), /not an IPv4 CIDR/);
  });

  it('syncs with one read of each kind and at most one ip and one bridge batch', async () => {
    const r = new FakeRunner([
      {
        argv: READ,
        input: 'route show dev flannel.1\nneigh show dev flannel.1\n',
        reply: {
          stdout: `${JSON.stringify([{dst: A.subnet, gateway: '10.240.4.0', flags: ['onlink']}])}\n${JSON.stringify([
            {dst: '10.240.4.0', lladdr: A.vtepMac, state: ['PERMANENT']},
            {dst: '10.240.9.0', lladdr: '02:00:00:00:00:09', state: ['STALE']},
          ])}\n`,
        },
      },
      {
        argv: ['bridge', '-j', 'fdb', 'show', 'dev', 'flannel.1'],
        reply: {stdout: JSON.stringify([{mac: A.vtepMac, dst: A.publicIP, flags: ['self'], state: 'permanent'}])},
      },
      {
        argv: ['ip', '-batch', '-'],
        input:
          'route del 10.240.4.0/24 dev flannel.1\nneigh del 10.240.4.0 dev flannel.1\nneigh replace 10.240.5.0 lladdr 02:00:00:00:00:03 dev flannel.1 nud permanent\nroute replace 10.240.5.0/24 via 10.240.5.0 dev flannel.1 onlink\n',
      },
      {
        argv: ['bridge', '-batch', '-'],
        input: 'fdb del 02:00:00:00:00:02 dev flannel.1 self\nfdb replace 02:00:00:00:00:03 dev flannel.1 dst 192.0.2.3 self permanent\n',
      },
    ]);
    await syncPeers(r, 1, [B]);
    r.assertDone();
  });

  it('reads back only fully programmed peers', () => {
    assert.deepEqual(programmedPeers(programmedA), [A]);
    assert.deepEqual(programmedPeers({...programmedA, fdb: []}), []);
  });
});
