import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../../src/deps.js';
import {writeCache} from '../../../../src/runtime/state/result-cache.js';
import {writeMeta} from '../../../../src/runtime/state/attachment-meta.js';
import {entryKey, knownEntries} from '../../../../src/runtime/state/known-attachments.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

describe('runtime/state/known-attachments', () => {
  let tmp: string;
  let deps: Deps;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tkna-unit-');
    deps = makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const a = hexId('aaaa');
  const b = hexId('bbbb');
  const config = JSON.stringify({cniVersion: '1.0.0', name: 'tk', plugins: [{type: 'tfake'}]});
  const pending = (containerId: string, ifname: string) => ({
    name: containerId.slice(0, 4),
    kind: 'container' as const,
    createdAt: '2024-01-01T00:00:00Z',
    pending: {network: 'tk', containerId, ifname, config, netns: '/x'},
  });

  it('entryKey is the cache file name: network-id-ifname', () => {
    assert.equal(entryKey({networkName: 'n1', containerId: 'c1', ifName: 'eth0'}), 'n1-c1-eth0');
  });

  it('lists cached entries and pending attaches, a pending one that was cached since only once', async () => {
    await writeCache(deps.paths.cacheDir, {containerId: a, ifName: 'eth0', networkName: 'tk', config, netns: '/x'});
    await writeMeta(deps.paths.stateDir, 'tk', a, 'eth0', pending(a, 'eth0'));
    await writeMeta(deps.paths.stateDir, 'tk', b, 'eth1', pending(b, 'eth1'));
    // A finished attach's record has no pending part: it adds nothing.
    await writeMeta(deps.paths.stateDir, 'tk', b, 'eth2', {name: 'b', kind: 'container', createdAt: '2024-01-01T00:00:00Z'});
    const all = await knownEntries(deps);
    assert.deepEqual(all.map(entryKey).sort(), [`tk-${a}-eth0`, `tk-${b}-eth1`]);
  });

  it("with ids, only those containers' attachments", async () => {
    await writeCache(deps.paths.cacheDir, {containerId: a, ifName: 'eth0', networkName: 'tk', config});
    await writeMeta(deps.paths.stateDir, 'tk', b, 'eth1', pending(b, 'eth1'));
    assert.deepEqual((await knownEntries(deps, new Set([b]))).map(entryKey), [`tk-${b}-eth1`]);
    assert.deepEqual((await knownEntries(deps, new Set([a]))).map(entryKey), [`tk-${a}-eth0`]);
    assert.deepEqual(await knownEntries(deps, new Set([hexId('cccc')])), []);
  });
});
