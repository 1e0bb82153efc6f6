import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../src/deps.js';
import type {Plugin, PluginLoader} from '../../../src/exec/plugin.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {UserError} from '../../../src/errors.js';
import {cacheFile, readCache, writeCache} from '../../../src/runtime/state/result-cache.js';
import {readMeta, writeMeta} from '../../../src/runtime/state/attachment-meta.js';
import {detach, releaseEntry} from '../../../src/runtime/detach.js';
import type {Progress} from '../../../src/runtime/outcome.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId, type FakeContainer} from '../../helpers/fake-docker.js';

/**
 * detach with an in-memory plugin type (no bridge, so no forwarding rules and
 * no subprocess: the runner expects no call), Docker faked, state in a temp dir.
 */
describe('runtime/detach', () => {
  let tmp: string;
  let dels: {containerId: string; ifname: string; netns: string}[];
  let failFor: Set<string>;
  let warnings: string[];
  let runner: FakeRunner;
  const fake: Plugin = {
    type: 'tfake',
    add: async () => assert.fail('no ADD in detach'),
    check: async () => assert.fail('no CHECK in detach'),
    del: async (_ctx, args: CmdArgs) => {
      if (failFor.has(args.containerId)) throw new Error('device busy');
      dels.push({containerId: args.containerId, ifname: args.ifname, netns: args.netns});
    },
  };
  const plugins: PluginLoader = {load: async (type) => (type === 'tfake' ? fake : assert.fail(`unexpected plugin ${type}`))};
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tdet-unit-');
    dels = [];
    failFor = new Set();
    warnings = [];
    runner = new FakeRunner([]);
  });
  afterEach(() => {
    runner.assertDone();
    rmSync(tmp, {recursive: true, force: true});
  });

  const depsWith = (containers: FakeContainer[]): Deps =>
    makeDeps({
      runner,
      plugins,
      log: {debug: () => undefined, warn: (m) => warnings.push(m)},
      confDir: `${tmp}/conf`,
      docker: new FakeDocker(containers),
      env: {},
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  const config = (net: string) => JSON.stringify({cniVersion: '1.0.0', name: net, plugins: [{type: 'tfake'}]});
  const attached = async (deps: Deps, net: string, containerId: string, ifName: string, name?: string) => {
    await writeCache(deps.paths.cacheDir, {containerId, ifName, networkName: net, config: config(net), netns: `${tmp}/gone-netns`});
    if (name) await writeMeta(deps.paths.stateDir, net, containerId, ifName, {name, kind: 'container', createdAt: '2024-01-01T00:00:00Z'});
  };

  it('refuses containers with --netns, --id without a single --netns, and no target without --all', async () => {
    const deps = depsWith([]);
    await assert.rejects(detach(deps, {containers: ['web'], netns: ['/x']}), /not both/);
    await assert.rejects(detach(deps, {containers: [], netns: ['/x', '/y'], id: 'i'}), /single --netns/);
    await assert.rejects(detach(deps, {containers: []}), (e: unknown) => e instanceof UserError && /or --all/.test(e.message));
  });

  it('detaches a container Docker no longer has, found by its remembered name; DEL goes without the dead namespace', async () => {
    const deps = depsWith([]);
    const id = hexId('dead');
    await attached(deps, 'tda', id, 'eth0', 'web');
    await attached(deps, 'tdb', id, 'eth1', 'web');
    await attached(deps, 'tda', hexId('beef'), 'eth0', 'other');
    const out = await detach(deps, {containers: ['web']});
    assert.deepEqual(out.failures, []);
    assert.deepEqual(out.done.map((d) => `${d.container} ${d.network}/${d.ifname}`).sort(), ['web tda/eth0', 'web tdb/eth1']);
    assert.deepEqual(dels.map((d) => `${d.ifname} ${JSON.stringify(d.netns)}`).sort(), ['eth0 ""', 'eth1 ""']);
    assert.equal(await readCache(deps.paths.cacheDir, 'tda', id, 'eth0'), undefined);
    assert.equal(await readMeta(deps.paths.stateDir, 'tda', id, 'eth0'), undefined);
    assert.ok(await readCache(deps.paths.cacheDir, 'tda', hexId('beef'), 'eth0'), 'another container is left alone');
  });

  it('narrows to one network and ifname, looking the container up in Docker', async () => {
    const id = hexId('aaaa');
    const deps = depsWith([{id, name: 'web'}]);
    await attached(deps, 'tda', id, 'eth0');
    await attached(deps, 'tda', id, 'eth1');
    await attached(deps, 'tdb', id, 'eth0');
    const out = await detach(deps, {containers: ['web'], ifname: 'eth1'});
    assert.deepEqual(out.done, [{container: 'web', containerId: id, network: 'tda', ifname: 'eth1'}]);
    assert.ok(await readCache(deps.paths.cacheDir, 'tdb', id, 'eth0'));
  });

  it('an unknown container is nothing to detach, not an error (idempotent like DEL)', async () => {
    const deps = depsWith([]);
    assert.deepEqual(await detach(deps, {containers: ['nobody']}), {done: [], failures: []});
  });

  it('refuses an Id prefix that matches several remembered containers', async () => {
    const deps = depsWith([]);
    await attached(deps, 'tda', hexId('abcd1'), 'eth0');
    await attached(deps, 'tda', hexId('abcd2'), 'eth0');
    await assert.rejects(detach(deps, {containers: ['abcd']}), /"abcd" matches several attached containers/);
    assert.equal(dels.length, 0);
  });

  it('--all reports a failed DEL as a failure, keeps that attachment, detaches the rest and reports progress', async () => {
    const deps = depsWith([]);
    const ok = hexId('1111');
    const bad = hexId('2222');
    await attached(deps, 'tda', ok, 'eth0', 'ok');
    await attached(deps, 'tda', bad, 'eth0', 'bad');
    failFor.add(bad);
    const steps: Progress[] = [];
    const out = await detach(deps, {containers: [], all: true, progress: (p) => steps.push(p)});
    assert.deepEqual(
      out.done.map((d) => d.container),
      ['ok'],
    );
    assert.equal(out.failures.length, 1);
    assert.equal(out.failures[0].target, 'bad');
    assert.match(out.failures[0].message, /^failed to detach bad from tda: .*device busy/);
    assert.ok(await readCache(deps.paths.cacheDir, 'tda', bad, 'eth0'), 'the failed attachment stays cached');
    assert.ok(await readMeta(deps.paths.stateDir, 'tda', bad, 'eth0'), 'and remembered');
    assert.deepEqual(steps.at(-1), {done: 2, failed: 1, total: 2});
  });

  it('releaseEntry forgets an entry whose cached config no longer loads, with a warning, running no plugin', async () => {
    const deps = depsWith([]);
    const id = hexId('3333');
    const e = {containerId: id, ifName: 'eth0', networkName: 'tdc', config: '{not json'};
    await writeCache(deps.paths.cacheDir, e);
    await writeMeta(deps.paths.stateDir, 'tdc', id, 'eth0', {name: 'x', kind: 'container', createdAt: '2024-01-01T00:00:00Z'});
    assert.equal(await releaseEntry(deps, e), undefined);
    assert.equal(existsSync(cacheFile(deps.paths.cacheDir, 'tdc', id, 'eth0')), false);
    assert.equal(await readMeta(deps.paths.stateDir, 'tdc', id, 'eth0'), undefined);
    assert.equal(dels.length, 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`^forgetting tdc/${id}/eth0: its cached config does not load`));
  });
});
