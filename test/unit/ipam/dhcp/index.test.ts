import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {PluginContext} from '../../../../src/exec/plugin.js';
import type {CmdArgs} from '../../../../src/cni/types.js';
import {plugin} from '../../../../src/ipam/dhcp/index.js';
import {pluginLoader} from '../../../../src/plugins/registry.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {noEtcd} from '../../../helpers/fake-etcd.js';

describe('dhcp STATUS (spec 1.1) without a daemon', () => {
  let dir: string;
  const ctx = (): PluginContext => ({
    runner: FakeRunner.none(),
    log: {debug: () => undefined, warn: () => undefined},
    paths: {networksDir: dir, cacheDir: dir, stateDir: dir, dhcpSocket: path.join(dir, 'dhcp.sock')},
    env: {},
    etcdClient: noEtcd,
    plugins: pluginLoader,
  });
  const args = (network: string): CmdArgs => ({
    containerId: '',
    netns: '',
    ifname: '',
    args: '',
    path: [],
    stdin: JSON.stringify({cniVersion: '1.1.0', name: network, type: 'macvlan', ipam: {type: 'dhcp'}}),
  });

  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'tdhst-'))));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('is 50 when nothing answers on the socket and the network holds no lease, 51 when it does (nobody renews them), and starts no daemon', async () => {
    const sock = path.join(dir, 'dhcp.sock');
    await assert.rejects(plugin.status!(ctx(), args('tdhstnet')), {
      code: 50,
      message: new RegExp(`^DHCP daemon not reachable on ${sock}: `),
    });
    mkdirSync(path.join(dir, 'dhcp'));
    const lease = {
      key: 'c1/tdhstnet/eth1',
      containerId: 'c1',
      network: 'tdhstnet',
      ifname: 'eth1',
      netns: '/var/run/netns/x',
      address: '10.214.9.50/24',
    };
    writeFileSync(path.join(dir, 'dhcp', 'leases.json'), JSON.stringify({version: 1, leases: {[lease.key]: lease}, remembered: {}}));
    await assert.rejects(plugin.status!(ctx(), args('tdhstnet')), {code: 51});
    await assert.rejects(plugin.status!(ctx(), args('tdhstother')), {code: 50});
  });
});
