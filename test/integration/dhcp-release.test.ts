import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import type {PluginContext} from '../../src/exec/plugin.js';
import {defaultPaths} from '../../src/exec/plugin.js';
import type {CmdArgs} from '../../src/cni/types.js';
import {makeDeps} from '../../src/deps.js';
import {callDaemon, plugin} from '../../src/ipam/dhcp/index.js';
import {DhcpBed, hexId, nsPath, sh, waitFor} from '../helpers/dhcp-bed.js';
import {assertRoot} from '../helpers/docker.js';

/**
 * DEL of a dhcp attachment when the daemon is dead AND cannot be restarted
 * (its socket path is taken by a directory, so a new daemon fails to start):
 * the plugin releases straight from the persisted lease, and the lease leaves
 * dnsmasq's lease file. Test bed: test/helpers/dhcp-bed.ts.
 * Reserved: netns tdr-*, links tdr*, networks tdr*, 10.221.0.0/24, /tmp/tdr-*.
 */
const bed = new DhcpBed('tdr', '10.221.0');

describe('integration: dhcp DEL with a dead daemon that cannot be restarted (dnsmasq)', function () {
  this.timeout(60_000);
  let ctx: PluginContext;
  let socket = '';
  let state = '';
  const warnings: string[] = [];
  const pids: number[] = [];

  const args = (containerId: string): CmdArgs => {
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'tdrnet',
      type: 'macvlan',
      master: bed.master,
      ipam: {type: 'dhcp', daemonSocketPath: socket},
    });
    return {containerId, netns: nsPath(bed.c1), ifname: 'eth1', args: '', path: [], stdin};
  };
  const persisted = (): Record<string, unknown> =>
    (JSON.parse(readFileSync(join(state, 'dhcp', 'leases.json'), 'utf8')) as {leases: Record<string, unknown>}).leases;
  const alive = (pid: number): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;

  before(async () => {
    assertRoot();
    await bed.setup();
    socket = join(bed.dir, 'run', 'dhcp.sock');
    state = join(bed.dir, 'state');
    ctx = makeDeps({
      paths: {...defaultPaths, stateDir: state, dhcpSocket: socket},
      env: {...process.env, CNI_DOCKER_DHCP_LOG: join(bed.dir, 'daemon.log')},
      log: {debug: () => undefined, warn: (m) => warnings.push(m)},
    });
  });

  after(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    bed.teardown();
  });

  it('releases from the persisted lease: the lease leaves the server file and our table', async () => {
    const key = 'tdrcid1/tdrnet/eth1';
    const r = await plugin.add(ctx, args('tdrcid1'));
    const ip = r.ips![0].address.split('/')[0];
    assert.match(ip, /^10\.221\.0\.\d+$/);
    sh('ip', ['-n', bed.c1, 'addr', 'add', r.ips![0].address, 'dev', 'eth1']);
    assert.ok(
      bed.serverLeases().some((l) => l.ip === ip && l.clientId === hexId(key)),
      JSON.stringify(bed.serverLeases()),
    );
    assert.ok(persisted()[key], 'the lease is persisted');

    const pid = (await callDaemon<{pid: number}>(socket, 'leases')).pid;
    pids.push(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('daemon death', 5000, () => !alive(pid));
    // A restarted daemon cannot take the socket path: it is a directory now.
    rmSync(socket, {force: true});
    mkdirSync(socket);

    warnings.length = 0;
    await plugin.del(ctx, args('tdrcid1'));
    assert.ok(
      warnings.some((w) => /starting it in the background/.test(w)),
      `tried to restart it: ${warnings.join(' | ')}`,
    );
    assert.ok(
      warnings.some((w) => /DHCP daemon unavailable \(DHCP daemon exited .* before listening.*releasing from the persisted lease/.test(w)),
      warnings.join(' | '),
    );
    assert.ok(statSync(socket).isDirectory(), 'no daemon took the socket path');
    await waitFor('the server to drop the lease', 5000, () => !bed.serverLeases().some((l) => l.ip === ip));
    assert.equal(persisted()[key], undefined, 'the lease left our table');

    // Idempotent: a second DEL (nothing held any more) still succeeds.
    await plugin.del(ctx, args('tdrcid1'));
    assert.ok(existsSync(socket));
  });
});
