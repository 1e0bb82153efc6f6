import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {validAttachments} from '../../../src/cni/gc-args.js';
import {plugin as hostLocal} from '../../../src/ipam/host-local/index.js';
import {parseNatSave} from '../../../src/net/iptables.js';
import {masqChainName, masqOwners} from '../../../src/net/iptables-masq.js';
import {makeDeps} from '../../../src/deps.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {gc, planGc} from '../../../src/runtime/gc.js';
import {gcNetworkList} from '../../../src/runtime/chain.js';
import {loadConfList} from '../../../src/cni/config.js';
import {CniError} from '../../../src/cni/errors.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import type {Plugin, PluginContext} from '../../../src/exec/plugin.js';
import {pluginLoader} from '../../../src/plugins/registry.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

describe('gc', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tgc-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  describe('masqOwners', () => {
    it('reads (network, id) from reference-format chains and skips chains whose name does not match the hash', () => {
      const id = hexId('ab');
      const chain = masqChainName('tgc1', id);
      const c = `--comment "name: \\"tgc1\\" id: \\"${id}\\""`;
      const t = parseNatSave([`:${chain} - [0:0]`, `:CNI-000000000000000000000000 - [0:0]`, `-A POSTROUTING -s 10.215.0.2/32 -m comment ${c} -j ${chain}`, `-A ${chain} -d 10.215.0.0/24 -m comment ${c} -j ACCEPT`, `-A POSTROUTING -s 10.215.0.3/32 -m comment --comment "name: \\"tgc1\\" id: \\"x\\"" -j CNI-000000000000000000000000`].join('\n'));
      assert.deepEqual(masqOwners(t), [{network: 'tgc1', containerId: id, chain}]);
    });
  });

  describe('validAttachments', () => {
    it('matches (id, ifname) pairs, legacy records by id, and keeps nothing for an absent list', () => {
      const v = validAttachments(JSON.stringify({'cni.dev/valid-attachments': [{containerID: 'a', ifname: 'eth0'}]}));
      assert.equal(v.has('a', 'eth0'), true);
      assert.equal(v.has('a', 'eth1'), false);
      assert.equal(v.has('a'), true);
      assert.equal(v.has('b', 'eth0'), false);
      assert.equal(validAttachments('{}').has('a', 'eth0'), false);
      assert.equal(validAttachments(JSON.stringify({'cni.dev/attachments': [{containerID: 'a', ifname: 'eth0'}]})).has('a', 'eth0'), true);
    });
  });

  describe('host-local GC verb', () => {
    it('releases every reservation not in cni.dev/valid-attachments and keeps lock and last_reserved_ip', async () => {
      const dir = `${tmp}/tgcnet`;
      mkdirSync(dir);
      writeFileSync(`${dir}/10.215.0.2`, 'keep\r\neth0');
      writeFileSync(`${dir}/10.215.0.3`, 'keep\r\neth1');
      writeFileSync(`${dir}/10.215.0.4`, 'drop\r\neth0');
      writeFileSync(`${dir}/10.215.0.5`, 'keep');
      writeFileSync(`${dir}/last_reserved_ip.0`, '10.215.0.4');
      const stdin = JSON.stringify({cniVersion: '1.1.0', name: 'tgcnet', type: 'bridge', ipam: {type: 'host-local', subnet: '10.215.0.0/24', dataDir: tmp}, 'cni.dev/valid-attachments': [{containerID: 'keep', ifname: 'eth0'}]});
      await hostLocal.gc!({runner: new FakeRunner([]), log: silent, paths: {networksDir: tmp, cacheDir: tmp, stateDir: tmp, dhcpSocket: ''}, env: {}, plugins: pluginLoader}, {containerId: '', netns: '', ifname: '', args: '', path: [], stdin});
      assert.deepEqual(readdirSync(dir).sort(), ['10.215.0.2', '10.215.0.5', 'last_reserved_ip.0', 'lock']);
    });
  });

  describe('planGc', () => {
    it('plans the attachment, address and chain of a removed container, nothing of a live one or of foreign ids', async () => {
      const gone = hexId('dead');
      const live = hexId('beef');
      const conf = {cniVersion: '1.0.0', name: 'tgc1', type: 'bridge', bridge: 'tgcbr0', ipMasq: true, ipam: {type: 'host-local', subnet: '10.215.0.0/24'}};
      mkdirSync(`${tmp}/conf`);
      writeFileSync(`${tmp}/conf/tgc1.conf`, JSON.stringify(conf));
      const bytes = JSON.stringify({cniVersion: '1.0.0', name: 'tgc1', plugins: [conf]});
      for (const id of [gone, live]) await writeCache(`${tmp}/cache`, {containerId: id, ifName: 'eth0', networkName: 'tgc1', config: bytes, netns: `/nonexistent/${id.slice(0, 4)}`});
      mkdirSync(`${tmp}/networks/tgc1`, {recursive: true});
      writeFileSync(`${tmp}/networks/tgc1/10.215.0.2`, `${gone}\r\neth0`);
      writeFileSync(`${tmp}/networks/tgc1/10.215.0.3`, `${live}\r\neth0`);
      writeFileSync(`${tmp}/networks/tgc1/10.215.0.4`, 'someone-else\r\neth0');
      const chain = masqChainName('tgc1', gone);
      const save = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.215.0.2/32 -m comment --comment "name: \\"tgc1\\" id: \\"${gone}\\"" -j ${chain}\nCOMMIT\n`;
      const runner = new FakeRunner([
        {argv: ['iptables', '-w', '-S'], reply: {stdout: '-P FORWARD DROP\n'}},
        {argv: ['iptables-save', '-t', 'nat'], reply: {stdout: save}},
        {argv: ['ip6tables-save', '-t', 'nat'], reply: {stdout: ''}},
      ]);
      const deps = makeDeps({runner, log: silent, confDir: `${tmp}/conf`, docker: new FakeDocker([{id: live, name: 'tgc-live', running: false}]), paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/none.sock`}});
      const items = await planGc(deps);
      runner.assertDone();
      assert.deepEqual(items.map((i) => `${i.kind} ${i.detail} ${i.containerId === gone ? 'gone' : i.containerId}`), ['attachment tgc1/eth0 gone', 'address 10.215.0.2 gone', `chain ${chain} gone`]);
      assert.ok(existsSync(`${tmp}/networks/tgc1/10.215.0.2`), 'planning changes nothing');
    });
  });

  describe('GC verb (libcni GCNetworkList)', () => {
    const valid = [{containerID: 'keep', ifname: 'eth0'}];
    const ctxWith = (plugins: Record<string, Partial<Plugin>>, calls: {type: string; args: CmdArgs}[]): PluginContext => ({
      runner: new FakeRunner([]),
      log: silent,
      paths: {networksDir: tmp, cacheDir: tmp, stateDir: tmp, dhcpSocket: ''},
      env: {CNI_PATH: '/tpub/bin'},
      plugins: {
        load: async (type) => ({
          type,
          add: async () => ({cniVersion: '1.1.0'}),
          del: async () => undefined,
          check: async () => undefined,
          ...(plugins[type]?.gc ? {gc: async (_c: PluginContext, args: CmdArgs) => (calls.push({type, args}), plugins[type].gc!(_c, args))} : {}),
        }),
      },
    });

    it('sends each plugin its config with the valid attachments and empty container args; a failing plugin does not stop the next', async () => {
      const calls: {type: string; args: CmdArgs}[] = [];
      const list = loadConfList(JSON.stringify({cniVersion: '1.1.0', name: 'tgcv', plugins: [{type: 'failing', z: 1}, {type: 'nogc'}, {type: 'last', capabilities: {portMappings: true}, a: {y: 1, x: 2}}]}));
      const ctx = ctxWith({failing: {gc: async () => Promise.reject(new CniError(999, 'boom'))}, last: {gc: async () => undefined}}, calls);
      const failures = await gcNetworkList(ctx, list, valid);
      assert.deepEqual(failures.map((f) => `${f.plugin}: ${f.error.message}`), ['plugin type="failing": boom']);
      assert.deepEqual(calls.map((c) => c.type), ['failing', 'last'], 'a plugin without GC is skipped, as skel answers for it');
      const last = calls[1].args;
      assert.deepEqual({...last, stdin: undefined}, {containerId: '', netns: '', ifname: '', args: '', path: ['/tpub/bin'], stdin: undefined});
      assert.equal(
        last.stdin,
        '{"a":{"x":2,"y":1},"capabilities":{"portMappings":true},"cni.dev/attachments":[{"containerID":"keep","ifname":"eth0"}],"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}],"cniVersion":"1.1.0","name":"tgcv","type":"last"}',
      );
    });

    it('is not sent below cniVersion 1.1.0, nor with disableGC', async () => {
      const calls: {type: string; args: CmdArgs}[] = [];
      const ctx = ctxWith({p: {gc: async () => undefined}}, calls);
      assert.deepEqual(await gcNetworkList(ctx, loadConfList(JSON.stringify({cniVersion: '1.0.0', name: 'tgcv', plugins: [{type: 'p'}]})), valid), []);
      assert.deepEqual(await gcNetworkList(ctx, loadConfList(JSON.stringify({cniVersion: '1.1.0', name: 'tgcv', disableGC: true, plugins: [{type: 'p'}]})), valid), []);
      assert.deepEqual(calls, []);
    });

    it('plans, on a 1.1.0 network, everything that is not a valid attachment (by id and ifname), and names the networks GC goes to', async () => {
      const live = hexId('beef');
      const conf = {cniVersion: '1.1.0', name: 'tgc11', type: 'bridge', bridge: 'tgcbr11', ipMasq: true, ipam: {type: 'host-local', subnet: '10.215.0.0/24'}};
      mkdirSync(`${tmp}/conf`);
      writeFileSync(`${tmp}/conf/tgc11.conf`, JSON.stringify(conf));
      const bytes = JSON.stringify({cniVersion: '1.1.0', name: 'tgc11', plugins: [conf]});
      await writeCache(`${tmp}/cache`, {containerId: live, ifName: 'eth0', networkName: 'tgc11', config: bytes, netns: '/nonexistent'});
      const dir = `${tmp}/networks/tgc11`;
      mkdirSync(dir, {recursive: true});
      writeFileSync(`${dir}/10.215.0.2`, `${live}\r\neth0`);
      writeFileSync(`${dir}/10.215.0.3`, `${live}\r\neth9`);
      writeFileSync(`${dir}/10.215.0.4`, 'someone-else\r\neth0');
      writeFileSync(`${dir}/10.215.0.5`, live);
      const chain = masqChainName('tgc11', 'someone-else');
      const save = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.215.0.4/32 -m comment --comment "name: \\"tgc11\\" id: \\"someone-else\\"" -j ${chain}\nCOMMIT\n`;
      const runner = new FakeRunner([
        {argv: ['iptables', '-w', '-S'], reply: {stdout: '-P FORWARD DROP\n'}},
        {argv: ['iptables-save', '-t', 'nat'], reply: {stdout: save}},
        {argv: ['ip6tables-save', '-t', 'nat'], reply: {stdout: ''}},
      ]);
      const deps = makeDeps({runner, log: silent, confDir: `${tmp}/conf`, docker: new FakeDocker([{id: live, name: 'tgc-live', running: true}]), paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/none.sock`}});
      const r = await gc(deps, {dryRun: true});
      runner.assertDone();
      assert.deepEqual(r.freed.map((i) => `${i.kind} ${i.detail} ${i.reason}`), ['address 10.215.0.3 not a valid attachment', 'address 10.215.0.4 not a valid attachment', `chain ${chain} not a valid attachment`]);
      assert.deepEqual(r.gc, [{network: 'tgc11', cniVersion: '1.1.0', plugins: ['bridge']}]);
      assert.equal(r.validAttachments, 1);
      assert.ok(existsSync(`${dir}/10.215.0.3`), 'a dry run changes nothing');
    });
  });
});
