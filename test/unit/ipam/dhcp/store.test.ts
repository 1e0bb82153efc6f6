import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {Lease} from '../../../../src/ipam/dhcp/lease.js';
import {LeaseStore, leaseFilePath, type LeaseFile} from '../../../../src/ipam/dhcp/store.js';

const lease: Lease = {
  key: 'ctr1/net/eth1',
  containerId: 'ctr1',
  network: 'net',
  ifname: 'eth1',
  netns: '/var/run/netns/x',
  mac: '02:00:00:00:00:07',
  address: '10.214.0.50/24',
  serverId: '10.214.0.1',
  obtainedAt: 1_000_000,
  leaseTime: 120,
  t1: 60,
  t2: 105,
  options: {'3': '0ad60001'},
  paramList: [1, 3],
  provide: {},
};

describe('ipam/dhcp/store LeaseStore', () => {
  let stateDir: string;
  let store: LeaseStore;
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'dhcp-store-'));
    store = new LeaseStore(leaseFilePath(stateDir));
  });
  afterEach(() => rmSync(stateDir, {recursive: true, force: true}));

  it('the table lives at <stateDir>/dhcp/leases.json', () => {
    assert.equal(leaseFilePath('/var/lib/cni-docker'), '/var/lib/cni-docker/dhcp/leases.json');
  });

  it('a table never saved loads as empty', async () => {
    assert.deepEqual(await store.load(), {version: 1, leases: {}, remembered: {}});
  });

  it('saves into a 0700 directory it makes, as a 0600 file, and loads back what it saved', async () => {
    const data: LeaseFile = {version: 1, leases: {[lease.key]: lease}, remembered: {'ctr0/net/eth1': '10.214.0.9'}};
    await store.save(data);
    assert.equal(statSync(path.join(stateDir, 'dhcp')).mode & 0o777, 0o700);
    assert.equal(statSync(store.file).mode & 0o777, 0o600);
    assert.deepEqual(await store.load(), data);
    assert.deepEqual(readdirSync(path.join(stateDir, 'dhcp')), ['leases.json'], 'no temp file left');
    assert.ok(readFileSync(store.file, 'utf8').endsWith('}\n'));
  });

  it('a save replaces the table whole', async () => {
    await store.save({version: 1, leases: {[lease.key]: lease}, remembered: {}});
    await store.save({version: 1, leases: {}, remembered: {[lease.key]: '10.214.0.50'}});
    assert.deepEqual(await store.load(), {version: 1, leases: {}, remembered: {[lease.key]: '10.214.0.50'}});
  });

  it('fills in what an older or partial file lacks', async () => {
    mkdirSync(path.dirname(store.file));
    writeFileSync(store.file, JSON.stringify({leases: {[lease.key]: lease}}));
    assert.deepEqual(await store.load(), {version: 1, leases: {[lease.key]: lease}, remembered: {}});
  });

  it('a table it cannot read or parse is an error, not an empty table (leases would be forgotten)', async () => {
    mkdirSync(path.dirname(store.file));
    writeFileSync(store.file, '{"leases": {');
    await assert.rejects(store.load(), SyntaxError);
    rmSync(store.file);
    mkdirSync(store.file);
    await assert.rejects(store.load(), {code: 'EISDIR'});
  });
});
