import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../src/deps.js';
import {UserError} from '../../../src/errors.js';
import {masqChainName} from '../../../src/net/iptables-masq.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {checkAttachments, checkContainer} from '../../../src/runtime/check-attachments.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};
/** /proc/self/ns/net is a live network namespace any user can statfs; the ip reads in it are scripted. */
const LIVE = '/proc/self/ns/net';
const ns = (...argv: string[]): string[] => ['nsenter', `--net=${LIVE}`, '--', ...argv];
const json = (v: unknown) => ({stdout: JSON.stringify(v)});

describe('runtime/check-attachments', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tcha-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const id = hexId('c4ec');
  const depsWith = (runner: FakeRunner): Deps =>
    makeDeps({
      runner,
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([{id, name: 'web'}]),
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  // 0.3.1: no plugin CHECK, so every comparison here is the runtime's own.
  const config = JSON.stringify({cniVersion: '0.3.1', name: 'tca', plugins: [{type: 'bridge', bridge: 'tcabr', ipMasq: true}]});
  const result = (address: string) => ({cniVersion: '0.3.1', interfaces: [], ips: [{version: '4', address}]});

  it('reports a namespace that is gone, and a missing interface, each as the one problem', async () => {
    const runner = new FakeRunner([
      {argv: ns('ip', '-j', '-d', 'link', 'show', 'dev', 'eth2'), reply: {exitCode: 1, stderr: 'Device "eth2" does not exist.'}},
    ]);
    const deps = depsWith(runner);
    await writeCache(deps.paths.cacheDir, {containerId: id, ifName: 'eth1', networkName: 'tca', config, netns: `${tmp}/gone`});
    await writeCache(deps.paths.cacheDir, {containerId: id, ifName: 'eth2', networkName: 'tca', config, netns: LIVE});
    const reports = await checkAttachments(deps, id, 'web');
    runner.assertDone();
    assert.deepEqual(
      reports.map((r) => [r.ifname, r.ok, r.problems]),
      [
        ['eth1', false, [`network namespace ${tmp}/gone is gone (container stopped or removed?)`]],
        ['eth2', false, [`interface eth2 is missing in ${LIVE}`]],
      ],
    );
  });

  it('finds a missing masquerade jump of an ipMasq bridge, reading the nat table once for the run', async () => {
    const chain = masqChainName('tca', id);
    const nat = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.5.0.3/32 -m comment --comment "x" -j ${chain}\nCOMMIT\n`;
    const one = (ifname: string, address: string) => [
      {argv: ns('ip', '-j', '-d', 'link', 'show', 'dev', ifname), reply: json([{ifindex: 3, ifname}])},
      {
        argv: ns('ip', '-j', 'addr', 'show', 'dev', ifname),
        reply: json([{ifindex: 3, ifname, addr_info: [{family: 'inet', local: address, prefixlen: 24}]}]),
      },
      {argv: ns('ip', '-j', '-4', 'route', 'show', 'table', 'main'), reply: json([{dst: '10.5.0.0/24', dev: ifname}])},
    ];
    const runner = new FakeRunner([
      ...one('eth1', '10.5.0.2'),
      {argv: ['iptables-save', '-t', 'nat'], reply: {stdout: nat}},
      ...one('eth2', '10.5.0.3'),
    ]);
    const deps = depsWith(runner);
    await writeCache(deps.paths.cacheDir, {
      containerId: id,
      ifName: 'eth1',
      networkName: 'tca',
      config,
      netns: LIVE,
      result: result('10.5.0.2/24'),
    });
    await writeCache(deps.paths.cacheDir, {
      containerId: id,
      ifName: 'eth2',
      networkName: 'tca',
      config,
      netns: LIVE,
      result: result('10.5.0.3/24'),
    });
    const reports = await checkAttachments(deps, id, 'web', 'tca');
    runner.assertDone();
    assert.deepEqual(
      reports.map((r) => [r.ifname, r.ok, r.problems]),
      [
        ['eth1', false, [`masquerade rule for 10.5.0.2 (chain ${chain}) is missing`]],
        ['eth2', true, []],
      ],
    );
  });

  it('checkContainer refuses a container with no attachments (on that network)', async () => {
    const runner = new FakeRunner([]);
    const deps = depsWith(runner);
    await writeCache(deps.paths.cacheDir, {containerId: id, ifName: 'eth1', networkName: 'tca', config, netns: `${tmp}/gone`});
    await assert.rejects(
      checkContainer(deps, {container: 'nobody'}),
      (e: unknown) => e instanceof UserError && e.message === 'nobody has no attachments',
    );
    await assert.rejects(checkContainer(deps, {container: 'web', net: 'other'}), /^UserError: web has no attachments on other$/);
    const [r] = await checkContainer(deps, {container: 'web'});
    assert.equal(r.container, 'web');
    assert.equal(r.ok, false);
  });
});
