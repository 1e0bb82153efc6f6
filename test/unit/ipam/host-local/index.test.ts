import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {PluginContext} from '../../../../src/exec/plugin.js';
import {pluginLoader} from '../../../../src/plugins/registry.js';
import type {CmdArgs} from '../../../../src/cni/types.js';
import {plugin} from '../../../../src/ipam/host-local/index.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {noEtcd} from '../../../helpers/fake-etcd.js';

const NET = 'thlgcst';

describe('host-local GC and STATUS (spec 1.1) against a temp dataDir', () => {
  let dataDir: string;
  const ctx = (): PluginContext => ({
    runner: FakeRunner.none(),
    log: {debug: () => undefined, warn: () => undefined},
    paths: {networksDir: join(dataDir, 'default'), cacheDir: dataDir, stateDir: dataDir, dhcpSocket: ''},
    env: {},
    etcdClient: noEtcd,
    plugins: pluginLoader,
  });
  const conf = (ipam: Record<string, unknown>, top: Record<string, unknown> = {}): string =>
    JSON.stringify({cniVersion: '1.1.0', name: NET, ...top, ipam: {type: 'host-local', dataDir, ...ipam}});
  const args = (stdin: string, containerId = '', ifname = ''): CmdArgs => ({
    containerId,
    netns: '/proc/self/ns/net',
    ifname,
    args: '',
    path: [],
    stdin,
  });
  const store = (): string[] =>
    existsSync(join(dataDir, NET))
      ? readdirSync(join(dataDir, NET))
          .filter((f) => /^\d/.test(f))
          .sort()
      : [];

  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'thl-gcst-'))));
  afterEach(() => rmSync(dataDir, {recursive: true, force: true}));

  it('GC releases the reservations of attachments not in the valid list and keeps the others', async () => {
    const s = conf({subnet: '10.216.9.0/24'});
    await plugin.add(ctx(), args(s, 'c1', 'eth0'));
    await plugin.add(ctx(), args(s, 'c2', 'eth0'));
    await plugin.add(ctx(), args(s, 'c1', 'eth1'));
    assert.deepEqual(store(), ['10.216.9.2', '10.216.9.3', '10.216.9.4']);
    await plugin.gc!(ctx(), args(conf({subnet: '10.216.9.0/24'}, {'cni.dev/valid-attachments': [{containerID: 'c1', ifname: 'eth0'}]})));
    assert.deepEqual(store(), ['10.216.9.2']);
  });

  it("STATUS: 0 while an address is free, 50 in ADD's words once the range is exhausted", async () => {
    const s = conf({ranges: [[{subnet: '10.216.8.0/29', rangeStart: '10.216.8.2', rangeEnd: '10.216.8.3'}]]});
    await plugin.status!(ctx(), args(s));
    assert.equal(existsSync(join(dataDir, NET)), false, 'STATUS creates nothing');
    await plugin.add(ctx(), args(s, 'c1', 'eth0'));
    await plugin.status!(ctx(), args(s));
    await plugin.add(ctx(), args(s, 'c2', 'eth0'));
    await assert.rejects(plugin.status!(ctx(), args(s)), {
      code: 50,
      message: 'failed to allocate for range 0: no IP addresses available in range set: 10.216.8.2-10.216.8.3',
    });
    await assert.rejects(plugin.add(ctx(), args(s, 'c3', 'eth0')), {
      message: 'failed to allocate for range 0: no IP addresses available in range set: 10.216.8.2-10.216.8.3',
    });
  });

  it('STATUS: 50 when the store cannot be written (a file where its directory should be)', async () => {
    const file = join(dataDir, 'notadir');
    writeFileSync(file, '');
    await assert.rejects(plugin.status!(ctx(), args(conf({subnet: '10.216.7.0/24', dataDir: file}))), {
      code: 50,
      message: `host-local store cannot be written: stat ${file}/${NET}: not a directory`,
    });
  });

  it('STATUS refuses an invalid config as ADD does', async () => {
    await assert.rejects(plugin.status!(ctx(), args(conf({subnet: '10.216.7.0/33'}))), {code: 999});
  });
});

describe('host-local GC verb', () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), 'thl-gcverb-'))));
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('releases every reservation not in cni.dev/valid-attachments and keeps lock and last_reserved_ip', async () => {
    const dir = `${tmp}/tgcnet`;
    mkdirSync(dir);
    writeFileSync(`${dir}/10.215.0.2`, 'keep\r\neth0');
    writeFileSync(`${dir}/10.215.0.3`, 'keep\r\neth1');
    writeFileSync(`${dir}/10.215.0.4`, 'drop\r\neth0');
    writeFileSync(`${dir}/10.215.0.5`, 'keep');
    writeFileSync(`${dir}/last_reserved_ip.0`, '10.215.0.4');
    const stdin = JSON.stringify({
      cniVersion: '1.1.0',
      name: 'tgcnet',
      type: 'bridge',
      ipam: {type: 'host-local', subnet: '10.215.0.0/24', dataDir: tmp},
      'cni.dev/valid-attachments': [{containerID: 'keep', ifname: 'eth0'}],
    });
    await plugin.gc!(
      {
        runner: new FakeRunner([]),
        log: {debug: () => undefined, warn: () => undefined},
        paths: {networksDir: tmp, cacheDir: tmp, stateDir: tmp, dhcpSocket: ''},
        env: {},
        plugins: pluginLoader,
        etcdClient: noEtcd,
      },
      {containerId: '', netns: '', ifname: '', args: '', path: [], stdin},
    );
    assert.deepEqual(readdirSync(dir).sort(), ['10.215.0.2', '10.215.0.5', 'last_reserved_ip.0', 'lock']);
  });
});
