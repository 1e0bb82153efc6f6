import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import type {PluginContext} from '../../../src/exec/plugin.js';
import {defaultPaths} from '../../../src/exec/plugin.js';
import type {CniError} from '../../../src/cni/errors.js';
import {builtinTypes, isBuiltin, pluginLoader} from '../../../src/plugins/registry.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

describe('plugins/registry', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync('/tmp/tcore-registry-');
    writeFileSync(`${dir}/fake`, '');
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('knows the built-in types', () => {
    assert.deepEqual(builtinTypes, ['bridge', 'macvlan', 'host-local', 'dhcp', 'overlay']);
    assert.ok(isBuiltin('host-local') && !isBuiltin('loopback') && !isBuiltin('toString'));
  });

  it('loads a built-in type as its in-process plugin and any other type as its executable on CNI_PATH', async () => {
    assert.equal(await pluginLoader.load('bridge'), (await import('../../../src/plugins/bridge.js')).plugin);
    assert.equal(await pluginLoader.load('host-local'), (await import('../../../src/ipam/host-local/index.js')).plugin);
    const runs: [string, unknown][] = [];
    const ctx: PluginContext = {
      runner: new FakeRunner([{argv: [`${dir}/fake`], reply: (c) => (runs.push([c.argv[0], c.options.env?.CNI_COMMAND]), {})}]),
      log: {debug: () => undefined, warn: () => undefined},
      paths: defaultPaths,
      env: {},
      etcdClient: noEtcd,
      plugins: pluginLoader,
    };
    const fake = await pluginLoader.load('fake');
    await fake.del(ctx, {containerId: 'c1', netns: '', ifname: 'eth0', args: '', path: [dir], stdin: '{}'});
    assert.deepEqual(runs, [[`${dir}/fake`, 'DEL']]);
  });

  it('refuses a type that is no plugin name before loading anything', async () => {
    await assert.rejects(pluginLoader.load(''), (e: CniError) => e.code === 999 && e.message === 'no plugin name provided');
    await assert.rejects(pluginLoader.load('../bridge'), (e: CniError) => e.code === 999 && e.message === 'invalid plugin name: ../bridge');
  });
});
