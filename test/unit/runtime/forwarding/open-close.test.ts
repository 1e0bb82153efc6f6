import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {loadConfList, type NetworkConfigList} from '../../../../src/cni/config.js';
import {makeDeps, type Deps} from '../../../../src/deps.js';
import {writeCache} from '../../../../src/runtime/state/result-cache.js';
import {entryKey} from '../../../../src/runtime/state/known-attachments.js';
import {openForwarding, releaseForwarding, reopenForwarding, type ForwardMemo} from '../../../../src/runtime/forwarding/open-close.js';
import {FakeRunner, type Expectation} from '../../../helpers/fake-runner.js';
import {forwardRules} from '../../../../src/net/iptables-forward.js';
import {FakeDocker, hexId} from '../../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};
const RESTORE = ['iptables-restore', '--noflush', '-w'];
const READ = ['iptables', '-w', '-S'];
const inputOf = (r: FakeRunner, i: number): string => r.calls[i].input ?? '';

/**
 * When a bridge's forwarding opens and closes: decided from the attachments
 * in a temp state dir (their bridge-users index), written through a scripted
 * iptables. What each restore holds line by line is net/iptables-forward's
 * (tested there); here, which bridge and which way (a first write without a
 * read, or read-and-plan).
 */
describe('runtime/forwarding/open-close', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tfoc-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const depsWith = (runner: FakeRunner): Deps =>
    makeDeps({
      runner,
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  const bridgeList = (net: string, bridge: string): NetworkConfigList =>
    loadConfList(JSON.stringify({cniVersion: '1.0.0', name: net, plugins: [{type: 'bridge', bridge}]}));
  const attach = async (deps: Deps, list: NetworkConfigList, id: string): Promise<string> => {
    const e = {containerId: id, ifName: 'eth0', networkName: list.name, config: list.bytes};
    await writeCache(deps.paths.cacheDir, e);
    return entryKey(e);
  };

  it('opens with one write when no other bridge is in use, once per memo; a failed open is retried', async () => {
    const runner = new FakeRunner([
      {argv: RESTORE, reply: {exitCode: 1, stderr: 'iptables-restore: line 2 failed'}},
      // The one write failed (the chain was there after all): read, then write what is missing.
      {argv: READ, reply: {stdout: '-P FORWARD ACCEPT\n'}},
      {argv: RESTORE, reply: {exitCode: 4, stderr: 'Another app is currently holding the xtables lock'}},
      {argv: RESTORE},
    ]);
    const deps = depsWith(runner);
    const memo: ForwardMemo = new Map();
    await assert.rejects(openForwarding(deps, ['tbr1'], memo), /xtables lock/);
    assert.equal(memo.size, 0, 'a failure is not remembered');
    await openForwarding(deps, ['tbr1'], memo);
    await openForwarding(deps, ['tbr1'], memo);
    runner.assertDone();
    assert.match(
      inputOf(runner, 0),
      /^\*filter\n-N CNI-DOCKER-FORWARD\n-I DOCKER-USER 1 -j CNI-DOCKER-FORWARD\n-A CNI-DOCKER-FORWARD .*tbr1/,
    );
    // Without DOCKER-USER in the table read, the jump comes from FORWARD.
    assert.match(inputOf(runner, 2), /\n:CNI-DOCKER-FORWARD - \[0:0\]\n-I FORWARD 1 -j CNI-DOCKER-FORWARD\n/);
  });

  it('reads before opening while another bridge is in use', async () => {
    const runner = new FakeRunner([{argv: READ, reply: {stdout: ''}}, {argv: RESTORE}]);
    const deps = depsWith(runner);
    await attach(deps, bridgeList('tother', 'tbr9'), hexId('9999'));
    await openForwarding(deps, ['tbr1'], new Map());
    runner.assertDone();
    assert.match(inputOf(runner, 1), /-o tbr1 /);
    assert.doesNotMatch(inputOf(runner, 1), /tbr9/);
  });

  it('only reads when another attachment already uses the bridge and its rules are in place', async () => {
    const table = [
      '-N CNI-DOCKER-FORWARD',
      '-N DOCKER-USER',
      '-A DOCKER-USER -j CNI-DOCKER-FORWARD',
      ...forwardRules('tbr1').map((r) => `-A CNI-DOCKER-FORWARD ${r}`),
    ].join('\n');
    const runner = new FakeRunner([{argv: READ, reply: {stdout: `${table}\n`}}]);
    const deps = depsWith(runner);
    await attach(deps, bridgeList('tna', 'tbr1'), hexId('aaaa'));
    const self = entryKey({networkName: 'tna', containerId: hexId('bbbb'), ifName: 'eth0'});
    await openForwarding(deps, ['tbr1'], new Map(), [], self);
    runner.assertDone();
  });

  it('closes only the bridges no remaining attachment uses, the last one together with the chain', async () => {
    const a = bridgeList('tna', 'tbr1');
    const b = bridgeList('tnb', 'tbr2');
    const runner = new FakeRunner([
      // First release: tbr2 stays in use, so tbr1's rules are read and deleted, the chain kept.
      {
        argv: READ,
        reply: {
          stdout:
            '-N CNI-DOCKER-FORWARD\n-A CNI-DOCKER-FORWARD -o tbr1 -m comment --comment "cni-docker bridge tbr1" -j ACCEPT\n-A CNI-DOCKER-FORWARD -o tbr2 -m comment --comment "cni-docker bridge tbr2" -j ACCEPT\n',
        },
      },
      {argv: RESTORE},
      // Second: nothing in use any more, one write removing tbr2's rules, the jump and the chain.
      {argv: RESTORE},
    ]);
    const deps = depsWith(runner);
    const ka = await attach(deps, a, hexId('aaaa'));
    const kb = await attach(deps, b, hexId('bbbb'));
    assert.deepEqual(await releaseForwarding(deps, [a, b], new Set([ka])), ['tbr1']);
    assert.equal(
      inputOf(runner, 1),
      '*filter\n-D CNI-DOCKER-FORWARD -o tbr1 -m comment --comment "cni-docker bridge tbr1" -j ACCEPT\nCOMMIT\n',
    );
    assert.deepEqual(await releaseForwarding(deps, [a, b], new Set([ka, kb]), ['tbr2']), ['tbr2']);
    runner.assertDone();
    assert.match(inputOf(runner, 2), /tbr2 .*\n-D DOCKER-USER -j CNI-DOCKER-FORWARD\n-X CNI-DOCKER-FORWARD\nCOMMIT\n$/s);
    assert.doesNotMatch(inputOf(runner, 2), /tbr1/);
  });

  it('releasing lists without bridges touches nothing (no lock, no state dir); reopening none runs nothing', async () => {
    const runner = new FakeRunner([]);
    const deps = depsWith(runner);
    const plain = loadConfList(JSON.stringify({cniVersion: '1.0.0', name: 'tmv', plugins: [{type: 'macvlan', master: 'eth0'}]}));
    assert.deepEqual(await releaseForwarding(deps, [plain]), []);
    await reopenForwarding(deps, []);
    assert.equal(existsSync(deps.paths.stateDir), false);
  });

  it('reopens each bridge by reading and writing what is missing, with the overlay rule for an overlay bridge', async () => {
    const expect: Expectation[] = [
      {argv: READ, reply: {stdout: '-N DOCKER-USER\n'}},
      {argv: RESTORE},
      {argv: READ, reply: {stdout: '-N DOCKER-USER\n'}},
      {argv: RESTORE},
    ];
    const runner = new FakeRunner(expect);
    await reopenForwarding(depsWith(runner), ['tbr1', 'tov1'], ['tov1']);
    runner.assertDone();
    assert.match(inputOf(runner, 1), /-I DOCKER-USER 1 -j CNI-DOCKER-FORWARD/);
    const overlayLines = (s: string) => s.split('\n').filter((l) => l.startsWith('-A ')).length;
    assert.equal(overlayLines(inputOf(runner, 3)), overlayLines(inputOf(runner, 1)) + 1, 'an overlay bridge has one rule more');
  });
});
