import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../src/deps.js';
import {listNetworks} from '../../../src/runtime/list-networks.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

describe('runtime/list-networks', () => {
  let tmp: string;
  let deps: Deps;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tlsn-unit-');
    mkdirSync(`${tmp}/conf`);
    deps = makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const conf = (file: string, o: object) => writeFileSync(`${tmp}/conf/${file}`, JSON.stringify(o));

  it("counts a host-local store's addresses inside its ranges as used, the rest of the range (gateway excluded) as free", async () => {
    // 10.77.0.0/29 hands out .1-.6; the gateway .1 is not handed out: 5 addresses.
    conf('10-hl.conf', {cniVersion: '1.0.0', name: 'thl', type: 'bridge', ipam: {type: 'host-local', subnet: '10.77.0.0/29'}});
    mkdirSync(`${tmp}/networks/thl`, {recursive: true});
    // Two reservations, one file outside the range, and the store's own files.
    for (const f of ['10.77.0.2', '10.77.0.3', '10.99.0.9', 'lock', 'last_reserved_ip.0']) writeFileSync(`${tmp}/networks/thl/${f}`, 'x');
    const [n] = await listNetworks(deps);
    assert.deepEqual(n, {
      file: `${tmp}/conf/10-hl.conf`,
      name: 'thl',
      type: 'bridge',
      cniVersion: '1.0.0',
      subnets: ['10.77.0.1-10.77.0.6'],
      ipam: 'host-local',
      used: 2,
      free: 3,
    });
  });

  it('reads the store under the ipam dataDir when one is set, and sums the range sets', async () => {
    conf('10-dd.conflist', {
      cniVersion: '1.0.0',
      name: 'tdd',
      plugins: [
        {
          type: 'bridge',
          ipam: {type: 'host-local', dataDir: `${tmp}/elsewhere`, ranges: [[{subnet: '10.78.0.0/30'}], [{subnet: '10.79.0.0/30'}]]},
        },
      ],
    });
    mkdirSync(`${tmp}/elsewhere/tdd`, {recursive: true});
    writeFileSync(`${tmp}/elsewhere/tdd/10.79.0.2`, 'x');
    const [n] = await listNetworks(deps);
    assert.equal(n.subnets.length, 2);
    // Each /30 hands out .1-.2 with .1 its gateway: one address each.
    assert.deepEqual([n.used, n.free], [1, 1]);
  });

  it('lists a dhcp network without counts, and a file that does not load with its error, in lookup order', async () => {
    conf('20-dhcp.conf', {cniVersion: '1.0.0', name: 'tdh', type: 'macvlan', master: 'eth0', ipam: {type: 'dhcp'}});
    writeFileSync(`${tmp}/conf/10-bad.conflist`, '{"name": ');
    const rows = await listNetworks(deps);
    assert.deepEqual(
      rows.map((r) => r.file.slice(tmp.length)),
      ['/conf/10-bad.conflist', '/conf/20-dhcp.conf'],
      'conflists come first',
    );
    assert.equal(rows[0].name, '');
    assert.ok(rows[0].error);
    assert.deepEqual(
      {ipam: rows[1].ipam, used: rows[1].used, free: rows[1].free, subnets: rows[1].subnets},
      {ipam: 'dhcp', used: undefined, free: undefined, subnets: []},
    );
  });
});
