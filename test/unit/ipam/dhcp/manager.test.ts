import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {LeaseManager} from '../../../../src/ipam/dhcp/manager.js';
import {LeaseStore} from '../../../../src/ipam/dhcp/store.js';
import type {Lease} from '../../../../src/ipam/dhcp/lease.js';

describe('dhcp LeaseManager maintenance', () => {
  let dir: string;
  const lease: Lease = {
    key: 'ctr1/tdhcpnet/eth1',
    containerId: 'ctr1',
    network: 'tdhcpnet',
    ifname: 'eth1',
    netns: '/var/run/netns/tdhcp-x',
    mac: '02:00:00:00:00:07',
    address: '10.214.0.50/24',
    serverId: '10.214.0.1',
    obtainedAt: 1_000_000,
    leaseTime: 120,
    t1: 60,
    t2: 105,
    options: {},
    paramList: [1, 3],
    provide: {},
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cni-dhcp-mgr-'));
    mkdirSync(path.join(dir, 'dhcp'));
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('at expiry sets the interface down in its namespace and drops the lease, without talking to a server', async () => {
    const file = path.join(dir, 'dhcp', 'leases.json');
    writeFileSync(file, JSON.stringify({version: 1, leases: {[lease.key]: lease}, remembered: {}}));
    const downs: string[] = [];
    const warnings: string[] = [];
    let dropped!: () => void;
    const done = new Promise<void>((r) => (dropped = r));
    const m = new LeaseManager({
      store: new LeaseStore(file),
      openTransport: async () => assert.fail('an expired lease must not be renewed'),
      log: {debug: () => undefined, warn: (msg: string) => void warnings.push(msg)},
      clock: {now: () => lease.obtainedAt + lease.leaseTime * 1000 + 1, sleep: async () => undefined},
      setLinkDown: async (netns, ifname) => {
        downs.push(`${netns} ${ifname}`);
        setImmediate(dropped);
      },
    });
    await m.start();
    await done;
    await new Promise((r) => setTimeout(r, 20));
    m.stop();
    assert.deepEqual(downs, ['/var/run/netns/tdhcp-x eth1']);
    assert.match(warnings.join('\n'), /lease 10\.214\.0\.50\/24 expired, bringing eth1 down/);
    assert.deepEqual(m.leases(), []);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).leases, {}, 'the dropped lease is saved');
  });

  it('a bound lease is left alone (no down, kept)', async () => {
    const file = path.join(dir, 'dhcp', 'leases.json');
    writeFileSync(file, JSON.stringify({version: 1, leases: {[lease.key]: lease}, remembered: {}}));
    const downs: string[] = [];
    const m = new LeaseManager({
      store: new LeaseStore(file),
      openTransport: async () => assert.fail('a bound lease is not renewed before T1'),
      log: {debug: () => undefined, warn: () => undefined},
      clock: {now: () => lease.obtainedAt + 1000, sleep: async () => undefined},
      setLinkDown: async (netns, ifname) => void downs.push(`${netns} ${ifname}`),
    });
    await m.start();
    await new Promise((r) => setTimeout(r, 50));
    m.stop();
    assert.deepEqual(downs, []);
    assert.equal(m.leases().length, 1);
  });

  it('GC releases the leases of its network whose attachment is not valid, and keeps the rest', async () => {
    const file = path.join(dir, 'dhcp', 'leases.json');
    const of = (containerId: string, network: string): Lease => ({...lease, key: `${containerId}/${network}/eth1`, containerId, network});
    const held = [of('ctr1', 'tdhcpnet'), of('ctr2', 'tdhcpnet'), of('ctr2', 'tdhcpother')];
    writeFileSync(file, JSON.stringify({version: 1, leases: Object.fromEntries(held.map((l) => [l.key, l])), remembered: {}}));
    const warnings: string[] = [];
    const m = new LeaseManager({
      store: new LeaseStore(file),
      // The namespaces are gone: DHCPRELEASE cannot be sent, the lease goes all the same.
      openTransport: async (netns) =>
        Promise.reject(new Error(`error looking up "eth1": nsenter: cannot open ${netns}: No such file or directory`)),
      log: {debug: () => undefined, warn: (msg: string) => void warnings.push(msg)},
      clock: {now: () => lease.obtainedAt + 1000, sleep: async () => undefined},
      passive: true,
    });
    await m.start();
    const stdin = JSON.stringify({
      cniVersion: '1.1.0',
      name: 'tdhcpnet',
      ipam: {type: 'dhcp'},
      'cni.dev/valid-attachments': [{containerID: 'ctr1', ifname: 'eth1'}],
    });
    assert.deepEqual(await m.gc({containerId: '', netns: '', ifname: '', args: '', path: [], stdin}), ['ctr2/tdhcpnet/eth1']);
    assert.deepEqual(
      m
        .leases()
        .map((l) => l.key)
        .sort(),
      ['ctr1/tdhcpnet/eth1', 'ctr2/tdhcpother/eth1'],
    );
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {leases: Record<string, unknown>; remembered: Record<string, string>};
    assert.deepEqual(Object.keys(saved.leases).sort(), ['ctr1/tdhcpnet/eth1', 'ctr2/tdhcpother/eth1']);
    assert.equal(saved.remembered['ctr2/tdhcpnet/eth1'], lease.address, 'a later attach of that container asks for the same address');
    assert.match(warnings.join('\n'), /ctr2\/tdhcpnet\/eth1: failed to send DHCPRELEASE/);
  });
});
