import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import type {ContainerInfo} from '../../../src/docker/client.js';
import {makeDeps, type Deps} from '../../../src/deps.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {writeMeta} from '../../../src/runtime/state/attachment-meta.js';
import {listAttachments} from '../../../src/runtime/list-attachments.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};
/** /proc/self/ns/net is a live network namespace any user can statfs. */
const LIVE_NETNS = '/proc/self/ns/net';

/** FakeDocker's list with each container's State, which listAttachments reads (FakeDocker's list leaves it out). */
class StatefulDocker extends FakeDocker {
  constructor(private readonly list: {id: string; name: string; state: string}[] | 'unreachable') {
    super([]);
  }
  override async listContainers(): Promise<ContainerInfo[]> {
    if (this.list === 'unreachable') throw new Error('connect ENOENT /var/run/docker.sock');
    return this.list.map((c) => ({Id: c.id, Names: [`/${c.name}`], State: c.state}) as unknown as ContainerInfo);
  }
}

describe('runtime/list-attachments', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tlsa-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const run = hexId('aaaa');
  const stop = hexId('bbbb');
  const gone = hexId('cccc');
  const depsWith = (docker: StatefulDocker): Deps =>
    makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      confDir: `${tmp}/conf`,
      docker,
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  const config = (net: string) =>
    JSON.stringify({cniVersion: '1.0.0', name: net, plugins: [{type: 'bridge'}, {type: 'portmap', capabilities: {portMappings: true}}]});
  const meta = {kind: 'container' as const, createdAt: '2024-01-01T00:00:00Z'};

  async function seed(deps: Deps): Promise<void> {
    const result = {
      cniVersion: '1.0.0',
      interfaces: [{name: 'eth1', mac: '02:00:00:00:00:01', sandbox: '/x'}],
      ips: [{address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 0}],
    };
    await writeCache(deps.paths.cacheDir, {
      containerId: run,
      ifName: 'eth1',
      networkName: 'tla',
      config: config('tla'),
      netns: '/x',
      result,
      capabilityArgs: {portMappings: [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}]},
    });
    await writeMeta(deps.paths.stateDir, 'tla', run, 'eth1', {...meta, name: 'old-name', persist: true});
    await writeCache(deps.paths.cacheDir, {containerId: stop, ifName: 'eth1', networkName: 'tlb', config: config('tlb'), netns: '/y'});
    await writeCache(deps.paths.cacheDir, {containerId: gone, ifName: 'eth1', networkName: 'tla', config: '{broken', netns: '/z'});
    await writeMeta(deps.paths.stateDir, 'tla', gone, 'eth1', {...meta, name: 'removed', mac: '02:00:00:00:00:99'});
    await writeCache(deps.paths.cacheDir, {
      containerId: 'myns',
      ifName: 'eth1',
      networkName: 'tla',
      config: config('tla'),
      netns: LIVE_NETNS,
    });
    await writeCache(deps.paths.cacheDir, {
      containerId: 'deadns',
      ifName: 'eth1',
      networkName: 'tla',
      config: config('tla'),
      netns: `${tmp}/deleted`,
    });
  }

  it("gives each attachment its container's state and current name, a netns its liveness, and the result's addresses", async () => {
    const deps = depsWith(
      new StatefulDocker([
        {id: run, name: 'web', state: 'running'},
        {id: stop, name: 'db', state: 'exited'},
      ]),
    );
    await seed(deps);
    const rows = await listAttachments(deps);
    const by = new Map(rows.map((r) => [r.containerId, r]));
    assert.equal(rows.length, 5);
    assert.deepEqual(
      [run, stop, gone, 'myns', 'deadns'].map((id) => `${by.get(id)?.container} ${by.get(id)?.kind} ${by.get(id)?.state}`),
      ['web container running', 'db container stopped', 'removed container gone', 'myns netns running', 'deadns netns gone'],
    );
    const r = by.get(run)!;
    assert.deepEqual(
      {type: r.type, addresses: r.addresses, gateways: r.gateways, mac: r.mac, ports: r.ports, persist: r.persist},
      {
        type: 'bridge+portmap',
        addresses: ['10.9.0.2/24'],
        gateways: ['10.9.0.1'],
        mac: '02:00:00:00:00:01',
        ports: [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}],
        persist: true,
      },
    );
    // A config that no longer loads lists as type "?", the MAC from what we remembered.
    assert.equal(by.get(gone)?.type, '?');
    assert.equal(by.get(gone)?.mac, '02:00:00:00:00:99');
    assert.equal(by.get(stop)?.persist, undefined);
  });

  it('Docker unreachable: containers are "unknown", never an error; a netns is still checked', async () => {
    const deps = depsWith(new StatefulDocker('unreachable'));
    await seed(deps);
    const states = new Map((await listAttachments(deps)).map((r) => [r.containerId, r.state]));
    assert.deepEqual([states.get(run), states.get(gone), states.get('myns')], ['unknown', 'unknown', 'running']);
  });

  it('filters by network and by container name, full Id or an Id prefix of at least 4', async () => {
    const deps = depsWith(
      new StatefulDocker([
        {id: run, name: 'web', state: 'running'},
        {id: stop, name: 'db', state: 'exited'},
      ]),
    );
    await seed(deps);
    assert.deepEqual(
      (await listAttachments(deps, {net: 'tlb'})).map((r) => r.container),
      ['db'],
    );
    assert.deepEqual(
      (await listAttachments(deps, {container: 'web'})).map((r) => r.containerId),
      [run],
    );
    assert.deepEqual(
      (await listAttachments(deps, {container: 'bbbb'})).map((r) => r.container),
      ['db'],
    );
    assert.deepEqual(await listAttachments(deps, {container: 'bbb'}), [], 'a 3-character prefix matches nothing');
    assert.deepEqual(
      (await listAttachments(deps, {container: 'removed', net: 'tla'})).map((r) => r.containerId),
      [gone],
    );
  });
});
