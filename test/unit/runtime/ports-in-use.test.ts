import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {loadConfList} from '../../../src/cni/config.js';
import {makeDeps, type Deps} from '../../../src/deps.js';
import {UserError} from '../../../src/errors.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {writeMeta} from '../../../src/runtime/state/attachment-meta.js';
import {assertPortsFree} from '../../../src/runtime/ports-in-use.js';
import type {PortMapping} from '../../../src/runtime/publish.js';
import type {Target} from '../../../src/runtime/target.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

describe('runtime/ports-in-use', () => {
  let tmp: string;
  let deps: Deps;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tpiu-unit-');
    deps = makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const config = (name: string) => JSON.stringify({cniVersion: '1.0.0', name, plugins: [{type: 'tfake'}]});
  const web = hexId('aaaa');
  const me: Target = {kind: 'container', containerId: hexId('bbbb'), name: 'me', netns: '/x'};
  const tcp = (hostPort: number, hostIP?: string): PortMapping => ({
    hostPort,
    containerPort: 80,
    protocol: 'tcp',
    ...(hostIP ? {hostIP} : {}),
  });
  const published = async (network: string, containerId: string, ifName: string, ports: PortMapping[]) =>
    writeCache(deps.paths.cacheDir, {
      containerId,
      ifName,
      networkName: network,
      config: config(network),
      capabilityArgs: {portMappings: ports},
    });

  it('refuses a host port another attachment publishes, naming it by its remembered name', async () => {
    await published('tpa', web, 'eth0', [tcp(8080)]);
    await writeMeta(deps.paths.stateDir, 'tpa', web, 'eth0', {name: 'web', kind: 'container', createdAt: '2024-01-01T00:00:00Z'});
    await assert.rejects(
      assertPortsFree(deps, loadConfList(config('tpb')), me, 'eth0', [tcp(8080)]),
      (err: unknown) => err instanceof UserError && /host port 8080\/tcp is already published by web on tpa/.test(err.message),
    );
  });

  it('lets through other ports, another protocol, another specific host IP, and the attachment itself', async () => {
    await published('tpa', web, 'eth0', [tcp(8080, '10.0.0.1')]);
    const list = loadConfList(config('tpb'));
    await assertPortsFree(deps, list, me, 'eth0', [tcp(8081), {hostPort: 8080, containerPort: 80, protocol: 'udp'}, tcp(8080, '10.0.0.2')]);
    // Re-attaching the same interface does not clash with its own cached ports.
    await published('tpb', me.containerId, 'eth0', [tcp(9090)]);
    await assertPortsFree(deps, list, me, 'eth0', [tcp(9090)]);
    // An address-less mapping claims every address of its family: it clashes with the specific one.
    await assert.rejects(assertPortsFree(deps, list, me, 'eth0', [tcp(8080)]), /already published by aaaa00000000/);
  });

  it('refuses a second interface of one container publishing on the same network', async () => {
    await published('tpb', me.containerId, 'eth0', [tcp(9090)]);
    await assert.rejects(
      assertPortsFree(deps, loadConfList(config('tpb')), me, 'eth1', [tcp(9191)]),
      /me already publishes ports on tpb through eth0/,
    );
  });
});
