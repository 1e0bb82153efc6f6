import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import type {Plugin, PluginContext} from '../../../src/exec/plugin.js';
import {pluginLoader} from '../../../src/plugins/registry.js';
import {loadConfList} from '../../../src/cni/config.js';
import {
  addNetworkList,
  buildPluginConfig,
  checkNetworkList,
  delNetworkList,
  gcNetworkList,
  type RuntimeConf,
} from '../../../src/runtime/chain.js';
import {readCache} from '../../../src/runtime/state/result-cache.js';
import {CniError} from '../../../src/cni/errors.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

interface Call {
  type: string;
  cmd: string;
  stdin: Record<string, unknown>;
}

describe('chain (libcni role) with exec-plugin fakes', () => {
  let dir: string;
  let calls: Call[];
  let ctx: PluginContext;
  let rt: RuntimeConf;
  const outputs: Record<string, string> = {
    first:
      '{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/tcore-x"}],"ips":[{"version":"4","interface":0,"address":"10.210.0.2/24"}],"dns":{}}',
    second: '',
  };
  const list = () =>
    loadConfList(
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'tcorechain',
        plugins: [
          {type: 'first', zeta: 1, alpha: {b: 2, a: 1}},
          {type: 'second', capabilities: {portMappings: true, other: true}},
        ],
      }),
    );

  beforeEach(() => {
    dir = mkdtempSync('/tmp/tcore-chain-');
    for (const t of ['first', 'second']) writeFileSync(`${dir}/${t}`, '');
    calls = [];
    ctx = {
      // The two exec plugins, run in whatever order and number the chain needs.
      runner: new FakeRunner(({argv, input, options}) => {
        const type = argv[0].slice(dir.length + 1);
        if (argv.length !== 1 || !argv[0].startsWith(`${dir}/`) || !(type in outputs)) return undefined;
        const cmd = String(options.env?.CNI_COMMAND);
        calls.push({type, cmd, stdin: JSON.parse(String(input)) as Record<string, unknown>});
        if (cmd === 'ADD' && type === 'second') {
          // echo prevResult as its own result, like portmap does
          return {stdout: JSON.stringify((JSON.parse(String(input)) as {prevResult: unknown}).prevResult)};
        }
        return {stdout: cmd === 'ADD' ? outputs[type] : ''};
      }),
      log: {debug: () => undefined, warn: () => undefined},
      paths: {networksDir: dir, cacheDir: `${dir}/cache`, stateDir: dir, dhcpSocket: ''},
      env: {},
      etcdClient: noEtcd,
      plugins: pluginLoader,
    };
    rt = {
      containerId: 'c1',
      netns: '/var/run/netns/tcore-x',
      ifname: 'eth0',
      capabilityArgs: {portMappings: [{hostPort: 8080}]},
      cniPath: [dir],
    };
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('builds each stdin compact with sorted keys, list name/version, runtimeConfig only for declared caps', () => {
    const l = list();
    const s = buildPluginConfig(l, l.plugins[1], {cniVersion: '0.4.0'}, {portMappings: [1], mac: 'x'});
    assert.equal(
      s,
      '{"capabilities":{"other":true,"portMappings":true},"cniVersion":"0.4.0","name":"tcorechain","prevResult":{"cniVersion":"0.4.0"},"runtimeConfig":{"portMappings":[1]},"type":"second"}',
    );
    assert.equal(
      buildPluginConfig(l, l.plugins[0], undefined),
      '{"alpha":{"a":1,"b":2},"cniVersion":"0.4.0","name":"tcorechain","type":"first","zeta":1}',
    );
  });

  it('ADD runs in order threading prevResult, then caches the final result', async () => {
    let native = 0;
    const r = await addNetworkList(ctx, list(), {...rt, onNativeResult: () => native++});
    assert.equal(native, 0, 'exec plugins have no native result');
    assert.deepEqual(
      calls.map((c) => `${c.cmd} ${c.type}`),
      ['ADD first', 'ADD second'],
    );
    assert.equal(calls[0].stdin.prevResult, undefined);
    assert.deepEqual(calls[1].stdin.prevResult, JSON.parse(outputs.first));
    assert.equal(r.ips?.[0].address, '10.210.0.2/24');
    const cached = await readCache(ctx.paths.cacheDir, 'tcorechain', 'c1', 'eth0');
    assert.equal(cached?.netns, '/var/run/netns/tcore-x');
    assert.deepEqual(cached?.capabilityArgs, {portMappings: [{hostPort: 8080}]});
    assert.equal((cached?.result as {cniVersion: string}).cniVersion, '0.4.0');
  });

  it('CHECK sends the cached result to every plugin; DEL runs in reverse and removes the cache', async () => {
    await addNetworkList(ctx, list(), rt);
    calls = [];
    await checkNetworkList(ctx, list(), rt);
    await delNetworkList(ctx, list(), rt);
    assert.deepEqual(
      calls.map((c) => `${c.cmd} ${c.type}`),
      ['CHECK first', 'CHECK second', 'DEL second', 'DEL first'],
    );
    for (const c of calls) assert.deepEqual(c.stdin.prevResult, JSON.parse(outputs.first));
    assert.equal(existsSync(`${dir}/cache/results/tcorechain-c1-eth0`), false);
    calls = [];
    await delNetworkList(ctx, list(), rt); // second DEL: no cache, no prevResult, still succeeds
    assert.equal(calls[0].stdin.prevResult, undefined);
  });

  it('a failing plugin stops ADD with the reference wrapping, keeps the code and writes no cache', async () => {
    outputs.first = '';
    ctx.runner = new FakeRunner([{argv: [`${dir}/first`], reply: {stdout: '{"code":11,"msg":"later"}', exitCode: 1}}]);
    await assert.rejects(
      addNetworkList(ctx, list(), rt),
      (e: CniError) => e.code === 11 && e.message === 'plugin type="first" failed (add): later',
    );
    assert.equal(existsSync(`${dir}/cache/results/tcorechain-c1-eth0`), false);
  });

  it('validates ids before running anything and refuses CHECK below 0.4.0', async () => {
    await assert.rejects(addNetworkList(ctx, list(), {...rt, ifname: 'a/b'}), (e: CniError) => e.code === 4);
    await assert.rejects(addNetworkList(ctx, list(), {...rt, containerId: ''}), (e: CniError) => e.code === 3);
    const old = loadConfList('{"cniVersion":"0.3.1","name":"n","plugins":[{"type":"first"}]}');
    await assert.rejects(checkNetworkList(ctx, old, rt), /configuration version "0.3.1" does not support the CHECK command/);
    assert.equal(calls.length, 0);
  });
});

describe('chain: onNativeResult', () => {
  let dir: string;
  let ctx: PluginContext;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/tcore-native-');
    ctx = {
      runner: FakeRunner.none(),
      log: {debug: () => undefined, warn: () => undefined},
      paths: {networksDir: dir, cacheDir: `${dir}/cache`, stateDir: dir, dhcpSocket: ''},
      env: {},
      etcdClient: noEtcd,
      plugins: pluginLoader,
    };
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('hands a built-in ADD its own Result before rendering to the list version', async () => {
    const list = loadConfList(
      JSON.stringify({
        cniVersion: '0.2.0',
        name: 'tcorenative',
        plugins: [{type: 'host-local', ipam: {type: 'host-local', subnet: '10.216.7.0/24', dataDir: `${dir}/ipam`}}],
      }),
    );
    const seen: [string, string | undefined][] = [];
    const rt: RuntimeConf = {
      containerId: 'c1',
      netns: '/var/run/netns/tcore-x',
      ifname: 'eth0',
      onNativeResult: (type, r) => seen.push([type, r.ips?.[0]?.address]),
    };
    const r = await addNetworkList(ctx, list, rt);
    assert.deepEqual(seen, [['host-local', '10.216.7.2/24']]);
    assert.equal(r.ips?.[0]?.address, '10.216.7.2/24');
  });
});

describe('chain: gcNetworkList (libcni GCNetworkList)', () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync('/tmp/tcore-gc-')));
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));
  const valid = [{containerID: 'keep', ifname: 'eth0'}];
  const ctxWith = (plugins: Record<string, Partial<Plugin>>, calls: {type: string; args: CmdArgs}[]): PluginContext => ({
    runner: new FakeRunner([]),
    log: {debug: () => undefined, warn: () => undefined},
    paths: {networksDir: tmp, cacheDir: tmp, stateDir: tmp, dhcpSocket: ''},
    env: {CNI_PATH: '/tpub/bin'},
    etcdClient: noEtcd,
    plugins: {
      load: async (type) => ({
        type,
        add: async () => ({cniVersion: '1.1.0'}),
        del: async () => undefined,
        check: async () => undefined,
        ...(plugins[type]?.gc
          ? {gc: async (_c: PluginContext, args: CmdArgs) => (calls.push({type, args}), plugins[type].gc!(_c, args))}
          : {}),
      }),
    },
  });

  it('sends each plugin its config with the valid attachments and empty container args; a failing plugin does not stop the next', async () => {
    const calls: {type: string; args: CmdArgs}[] = [];
    const list = loadConfList(
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'tgcv',
        plugins: [{type: 'failing', z: 1}, {type: 'nogc'}, {type: 'last', capabilities: {portMappings: true}, a: {y: 1, x: 2}}],
      }),
    );
    const ctx = ctxWith({failing: {gc: async () => Promise.reject(new CniError(999, 'boom'))}, last: {gc: async () => undefined}}, calls);
    const failures = await gcNetworkList(ctx, list, valid);
    assert.deepEqual(
      failures.map((f) => `${f.plugin}: ${f.error.message}`),
      ['plugin type="failing": boom'],
    );
    assert.deepEqual(
      calls.map((c) => c.type),
      ['failing', 'last'],
      'a plugin without GC is skipped, as skel answers for it',
    );
    const last = calls[1].args;
    assert.deepEqual(
      {...last, stdin: undefined},
      {containerId: '', netns: '', ifname: '', args: '', path: ['/tpub/bin'], stdin: undefined},
    );
    assert.equal(
      last.stdin,
      '{"a":{"x":2,"y":1},"capabilities":{"portMappings":true},"cni.dev/attachments":[{"containerID":"keep","ifname":"eth0"}],"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}],"cniVersion":"1.1.0","name":"tgcv","type":"last"}',
    );
  });

  it('is not sent below cniVersion 1.1.0, nor with disableGC', async () => {
    const calls: {type: string; args: CmdArgs}[] = [];
    const ctx = ctxWith({p: {gc: async () => undefined}}, calls);
    assert.deepEqual(
      await gcNetworkList(ctx, loadConfList(JSON.stringify({cniVersion: '1.0.0', name: 'tgcv', plugins: [{type: 'p'}]})), valid),
      [],
    );
    assert.deepEqual(
      await gcNetworkList(
        ctx,
        loadConfList(JSON.stringify({cniVersion: '1.1.0', name: 'tgcv', disableGC: true, plugins: [{type: 'p'}]})),
        valid,
      ),
      [],
    );
    assert.deepEqual(calls, []);
  });
});
