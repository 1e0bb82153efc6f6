import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {masqChainName} from '../../../src/net/iptables-masq.js';
import {makeDeps} from '../../../src/deps.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {gc} from '../../../src/runtime/gc.js';
import {haveTool} from '../../../src/net/nft-masq.js';
import {FakeRunner, type Expectation} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};
/**
 * gc reads the nftables masquerade chain only where `nft` is installed (it
 * looks on disk, not through the runner): here the chain is absent.
 */
const nftRead: Expectation[] = haveTool('nft')
  ? [
      {
        argv: ['nft', '-j', 'list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks'],
        reply: {exitCode: 1, stderr: 'Error: No such file or directory\n'},
      },
    ]
  : [];

describe('gc', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tgc-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  describe('GC verb (libcni GCNetworkList)', () => {
    it('plans, on a 1.1.0 network, everything that is not a valid attachment (by id and ifname), and names the networks GC goes to', async () => {
      const live = hexId('beef');
      const conf = {
        cniVersion: '1.1.0',
        name: 'tgc11',
        type: 'bridge',
        bridge: 'tgcbr11',
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.215.0.0/24'},
      };
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
        ...nftRead,
      ]);
      const deps = makeDeps({
        runner,
        log: silent,
        confDir: `${tmp}/conf`,
        docker: new FakeDocker([{id: live, name: 'tgc-live', running: true}]),
        paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/none.sock`},
      });
      const r = await gc(deps, {dryRun: true});
      runner.assertDone();
      assert.deepEqual(
        r.freed.map((i) => `${i.kind} ${i.detail} ${i.reason}`),
        ['address 10.215.0.3 not a valid attachment', 'address 10.215.0.4 not a valid attachment', `chain ${chain} not a valid attachment`],
      );
      assert.deepEqual(r.gc, [{network: 'tgc11', cniVersion: '1.1.0', plugins: ['bridge']}]);
      assert.equal(r.validAttachments, 1);
      assert.ok(existsSync(`${dir}/10.215.0.3`), 'a dry run changes nothing');
    });
  });
});
