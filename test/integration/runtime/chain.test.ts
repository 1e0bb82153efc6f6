import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {makeDeps} from '../../../src/deps.js';
import {loadConfList} from '../../../src/cni/config.js';
import {addNetworkList, checkNetworkList, delNetworkList, type RuntimeConf} from '../../../src/runtime/chain.js';
import {readCache} from '../../../src/runtime/state/result-cache.js';
import {quietSync as quiet, shSync as sh} from '../../helpers/host.js';

/**
 * libcni's role on a real kernel: our bridge (in-process) chained with the
 * reference tuning plugin (exec'd from /usr/lib/cni), ADD/CHECK/DEL.
 */
const NS = 'tcore-chain';
const BR = 'tcorebr2';

describe('chain: our bridge + reference tuning (integration)', function () {
  this.timeout(60_000);
  let tmp: string;

  before(() => {
    assert.equal(process.getuid?.(), 0, 'integration tests need root');
    quiet('ip', 'netns', 'del', NS);
    quiet('ip', 'link', 'del', BR);
    sh('ip', 'netns', 'add', NS);
    tmp = mkdtempSync('/tmp/tcore-chain-');
  });
  after(() => {
    quiet('ip', 'netns', 'del', NS);
    quiet('ip', 'link', 'del', BR);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('ADD threads prevResult to tuning, CHECK passes, DEL undoes both and drops the cache', async () => {
    const ctx = makeDeps({
      env: {...process.env, CNI_PATH: '/usr/lib/cni'},
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/dhcp.sock`},
    });
    const list = loadConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tcorechain',
        plugins: [
          {type: 'bridge', bridge: BR, isGateway: true, ipam: {type: 'host-local', subnet: '10.210.20.0/24', dataDir: `${tmp}/networks`}},
          {type: 'tuning', mtu: 1300, sysctl: {'net.ipv4.conf.eth0.arp_ignore': '1'}},
        ],
      }),
    );
    const rt: RuntimeConf = {containerId: 'tcorectr1', netns: `/var/run/netns/${NS}`, ifname: 'eth0', cniPath: ['/usr/lib/cni']};

    const result = await addNetworkList(ctx, list, rt);
    assert.equal(result.cniVersion, '1.0.0');
    assert.deepEqual(result.ips, [{interface: 2, address: '10.210.20.2/24', gateway: '10.210.20.1'}]);
    assert.deepEqual(
      result.interfaces?.map((i) => i.name).filter((n) => !n.startsWith('veth')),
      [BR, 'eth0'],
    );
    const link = JSON.parse(sh('ip', '-n', NS, '-j', 'link', 'show', 'eth0')) as {mtu: number}[];
    assert.equal(link[0].mtu, 1300, 'tuning applied its mtu to the interface our bridge created');
    assert.equal(sh('ip', 'netns', 'exec', NS, 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_ignore').trim(), '1');
    assert.match(sh('ip', '-n', NS, '-4', 'addr', 'show', 'eth0'), /10\.210\.20\.2\/24/);
    const cached = await readCache(ctx.paths.cacheDir, 'tcorechain', 'tcorectr1', 'eth0');
    assert.deepEqual((cached?.result as {ips: unknown}).ips, [{address: '10.210.20.2/24', gateway: '10.210.20.1', interface: 2}]);
    assert.equal(cached?.config, list.bytes);

    await checkNetworkList(ctx, list, rt);

    await delNetworkList(ctx, list, rt);
    assert.doesNotMatch(sh('ip', '-n', NS, 'link'), /eth0/);
    assert.equal(existsSync(`${tmp}/cache/results/tcorechain-tcorectr1-eth0`), false);
    assert.deepEqual(
      readdirSync(`${tmp}/networks/tcorechain`).filter((f) => f.startsWith('10.')),
      [],
    );
    await delNetworkList(ctx, list, rt); // idempotent
  });
});
