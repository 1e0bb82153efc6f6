import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {validAttachments} from '../../../src/cni/gc-args.js';
import {plugin as hostLocal} from '../../../src/ipam/host-local/index.js';
import {parseNatSave} from '../../../src/net/iptables.js';
import {masqChainName, masqOwners} from '../../../src/net/iptables-masq.js';
import {makeDeps} from '../../../src/deps.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {planGc} from '../../../src/runtime/gc.js';
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
      const runner = new FakeRunner([{argv: ['iptables-save', '-t', 'nat'], reply: {stdout: save}}, {argv: ['ip6tables-save', '-t', 'nat'], reply: {stdout: ''}}]);
      const deps = makeDeps({runner, log: silent, confDir: `${tmp}/conf`, docker: new FakeDocker([{id: live, name: 'tgc-live', running: false}]), paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/none.sock`}});
      const items = await planGc(deps);
      runner.assertDone();
      assert.deepEqual(items.map((i) => `${i.kind} ${i.detail} ${i.containerId === gone ? 'gone' : i.containerId}`), ['attachment tgc1/eth0 gone', 'address 10.215.0.2 gone', `chain ${chain} gone`]);
      assert.ok(existsSync(`${tmp}/networks/tgc1/10.215.0.2`), 'planning changes nothing');
    });
  });
});
