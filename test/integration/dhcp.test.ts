import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import type {PluginContext} from '../../src/exec/plugin.js';
import {defaultPaths} from '../../src/exec/plugin.js';
import type {CmdArgs} from '../../src/cni/types.js';
import {makeDeps} from '../../src/deps.js';
import {callDaemon, plugin} from '../../src/ipam/dhcp/index.js';
import {DhcpBed, hexId, nsPath, ping, sh, sleep, waitFor, type ServerLease} from '../helpers/dhcp-bed.js';
import {assertRoot, assertTestImage, TestContainers} from '../helpers/docker.js';

/**
 * dhcp IPAM + daemon against a real dnsmasq (test bed: test/helpers/dhcp-bed.ts):
 * dnsmasq in tdh-srv on tdhv0 (10.214.0.1/24), macvlan master tdhv1, client
 * namespace tdh-c1 (or a --net=none container).
 * Reserved: netns tdh-*, links tdh*, networks tdh*, 10.214.0.0/24, /tmp/tdh-*.
 */
const bed = new DhcpBed('tdh', '10.214.0');
const C1 = bed.c1;
const SERVER_IP = bed.serverIp;
const newClientLink = (): void => bed.newClientLink();

describe('integration: dhcp IPAM and daemon (dnsmasq)', function () {
  this.timeout(60_000);
  let dir: string;
  let ctx: PluginContext;
  let warnings: string[];
  let socket: string;
  const containers = new TestContainers('tdh-');

  const serverLeases = () => bed.serverLeases();
  const conf = (extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'tdhnet',
      type: 'macvlan',
      master: 'tdhv1',
      ipam: {type: 'dhcp', daemonSocketPath: socket},
      ...extra,
    });
  const args = (containerId: string, netns = nsPath(C1), ifname = 'eth1', stdin = conf()): CmdArgs => ({
    containerId,
    netns,
    ifname,
    args: '',
    path: [],
    stdin,
  });
  const daemonPid = async (): Promise<number> => (await callDaemon<{pid: number}>(socket, 'leases')).pid;
  before(async () => {
    assertRoot();
    await bed.setup();
    dir = bed.dir;
    socket = join(dir, 'run', 'dhcp.sock');
    warnings = [];
    ctx = makeDeps({
      paths: {...defaultPaths, stateDir: join(dir, 'state'), dhcpSocket: socket},
      env: {...process.env, CNI_DOCKER_DHCP_LOG: join(dir, 'daemon.log')},
      log: {debug: () => undefined, warn: (m) => warnings.push(m)},
    });
  });

  after(async () => {
    try {
      if (existsSync(socket)) {
        const pid = await daemonPid().catch(() => 0);
        if (pid) process.kill(pid, 'SIGKILL');
      }
    } finally {
      await containers.removeAll().catch(() => undefined);
      bed.teardown();
    }
  });

  let first = '';

  it('ADD with no daemon running starts one (and says so), gets a lease the server records, and the client pings the server', async () => {
    assert.equal(existsSync(socket), false);
    const r = await plugin.add(ctx, args('tdhcid1'));
    assert.ok(
      warnings.some((w) => /DHCP daemon not running .*starting it in the background/.test(w)),
      warnings.join('\n'),
    );
    first = r.ips![0].address;
    assert.match(first, /^10\.214\.0\.\d+\/24$/);
    assert.equal(r.ips![0].gateway, SERVER_IP);
    assert.deepEqual(r.routes, [{dst: '0.0.0.0/0', gw: SERVER_IP}]);
    assert.deepEqual(r.dns, {nameservers: [SERVER_IP], domain: 'tdh.test'});
    const held = serverLeases().find((l) => l.ip === first.split('/')[0]);
    assert.ok(held, `server lease file: ${JSON.stringify(serverLeases())}`);
    assert.equal(held.clientId, hexId('tdhcid1/tdhnet/eth1'));
    // The main plugin applies the result; emulate it, then talk to the server.
    sh('ip', ['-n', C1, 'addr', 'add', first, 'dev', 'eth1']);
    assert.ok(ping(nsPath(C1), SERVER_IP), 'client pings the DHCP server');
    // The broadcast route was removed once the lease was bound.
    assert.doesNotMatch(
      sh('ip', ['-n', C1, 'route', 'show', 'table', 'local']) + sh('ip', ['-n', C1, 'route']),
      /255\.255\.255\.255 dev eth1/,
    );
  });

  it('a repeated ADD and a CHECK return the held lease without a new exchange', async () => {
    const before = serverLeases();
    const r = await plugin.add(ctx, args('tdhcid1'));
    await plugin.check(ctx, args('tdhcid1'));
    assert.equal(r.ips![0].address, first);
    assert.deepEqual(serverLeases(), before);
  });

  it('renews at T1 (2-minute lease) even after kill -9 of the daemon and its restart', async function () {
    this.timeout(110_000);
    const ip = first.split('/')[0];
    const e0 = serverLeases().find((l) => l.ip === ip)!.expiry;
    const pid = await daemonPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('daemon death', 5000, () => spawnSync('kill', ['-0', String(pid)]).status !== 0);
    assert.ok(existsSync(socket), 'kill -9 leaves a stale socket file');
    // The next call restarts it; the stale socket is replaced, not fatal.
    warnings.length = 0;
    await plugin.check(ctx, args('tdhcid1'));
    assert.ok(warnings.some((w) => /starting it in the background/.test(w)));
    const pid2 = await daemonPid();
    assert.notEqual(pid2, pid);
    // T1 = 60 s after the ACK; the server's expiry must move forward before it runs out.
    await waitFor('the lease to be renewed', 100_000, () => (serverLeases().find((l) => l.ip === ip)?.expiry ?? 0) > e0);
    const e1 = serverLeases().find((l) => l.ip === ip)!.expiry;
    assert.ok(e1 - e0 >= 30, `expiry advanced ${e0} → ${e1}`);
    assert.ok(Date.now() / 1000 < e0, 'renewed before the old expiry');
    const persisted = JSON.parse(readFileSync(join(dir, 'state', 'dhcp', 'leases.json'), 'utf8'));
    assert.ok(persisted.leases['tdhcid1/tdhnet/eth1'], 'lease persisted');
  });

  it('DEL sends DHCPRELEASE (the lease leaves the server file), and a re-attach of the same container id gets the same address', async () => {
    const ip = first.split('/')[0];
    await plugin.del(ctx, args('tdhcid1'));
    await waitFor('the server to drop the lease', 5000, () => !serverLeases().some((l) => l.ip === ip));
    // detach removes the interface; attach creates a new one with a new MAC.
    const oldMac = JSON.parse(sh('ip', ['-n', C1, '-j', 'link', 'show', 'eth1']))[0].address;
    newClientLink();
    const r = await plugin.add(ctx, args('tdhcid1'));
    assert.equal(r.ips![0].address, first);
    const lease = serverLeases().find((l) => l.ip === ip)!;
    assert.notEqual(lease.mac, oldMac, 'a new interface (new MAC) got the same address');
    await plugin.del(ctx, args('tdhcid1'));
    await waitFor('the server to drop the lease', 5000, () => !serverLeases().some((l) => l.ip === ip));
    await plugin.del(ctx, args('tdhcid1')); // idempotent
  });

  it('DEL works when the daemon is dead', async () => {
    newClientLink();
    const r = await plugin.add(ctx, args('tdhcid2'));
    const ip = r.ips![0].address.split('/')[0];
    sh('ip', ['-n', C1, 'addr', 'add', r.ips![0].address, 'dev', 'eth1']);
    assert.ok(serverLeases().some((l) => l.ip === ip));
    process.kill(await daemonPid(), 'SIGKILL');
    await sleep(200);
    await plugin.del(ctx, args('tdhcid2'));
    await waitFor('the server to drop the lease', 5000, () => !serverLeases().some((l) => l.ip === ip));
  });

  it('a --net=none container attached with macvlan + dhcp gets a lease, pings the server, and re-attaches to the same address', async function () {
    this.timeout(60_000);
    await assertTestImage();
    const {plugin: macvlan} = await import('../../src/plugins/macvlan.js');
    const c = await containers.run({suffix: 'mv'});
    const info = await containers.inspect(c.id);
    const stdin = JSON.stringify({
      cniVersion: '0.2.0',
      name: 'tdhdhcp',
      type: 'macvlan',
      master: 'tdhv1',
      ipam: {type: 'dhcp', daemonSocketPath: socket},
    });
    const a = args(info.Id, info.NetworkSettings.SandboxKey, 'eth1', stdin);
    const r = await macvlan.add(ctx, a);
    const addr = r.ips![0].address;
    const ip = addr.split('/')[0];
    assert.match(addr, /^10\.214\.0\.\d+\/24$/);
    assert.ok(serverLeases().some((l) => l.ip === ip && l.clientId === hexId(`${info.Id}/tdhdhcp/eth1`)));
    assert.match(
      sh('nsenter', [`--net=${info.NetworkSettings.SandboxKey}`, 'ip', '-4', 'addr', 'show', 'eth1']),
      new RegExp(`inet ${addr.replace(/\./g, '\\.')}`),
    );
    assert.ok(ping(info.NetworkSettings.SandboxKey, SERVER_IP), 'container pings the DHCP server');
    await macvlan.del(ctx, a);
    await waitFor('the server to drop the lease', 5000, () => !serverLeases().some((l) => l.ip === ip));
    const r2 = await macvlan.add(ctx, a);
    assert.equal(r2.ips![0].address, addr);
    await macvlan.del(ctx, a);
    await waitFor('the server to drop the lease', 5000, () => !serverLeases().some((l) => l.ip === ip));
  });

  it('two DHCP interfaces in one namespace hold separate leases; DEL of one keeps the other', async function () {
    this.timeout(60_000);
    const {plugin: macvlan} = await import('../../src/plugins/macvlan.js');
    const ns = 'tdh-c2';
    spawnSync('ip', ['netns', 'del', ns], {stdio: 'ignore'});
    sh('ip', ['netns', 'add', ns]);
    try {
      const stdin = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tdhtwo',
        type: 'macvlan',
        master: 'tdhv1',
        ipam: {type: 'dhcp', daemonSocketPath: socket},
      });
      const a1 = args('tdhcid3', nsPath(ns), 'eth1', stdin);
      const a2 = args('tdhcid3', nsPath(ns), 'eth2', stdin);
      const [r1, r2] = [await macvlan.add(ctx, a1), await macvlan.add(ctx, a2)];
      const [ip1, ip2] = [r1.ips![0].address.split('/')[0], r2.ips![0].address.split('/')[0]];
      assert.notEqual(ip1, ip2, 'one address per interface');
      const byClient = (id: string): ServerLease | undefined => serverLeases().find((l) => l.clientId === hexId(id));
      assert.equal(byClient('tdhcid3/tdhtwo/eth1')?.ip, ip1);
      assert.equal(byClient('tdhcid3/tdhtwo/eth2')?.ip, ip2);
      assert.ok(ping(nsPath(ns), SERVER_IP), 'the namespace reaches the server');
      await macvlan.del(ctx, a2);
      await waitFor('the server to drop the eth2 lease', 5000, () => !byClient('tdhcid3/tdhtwo/eth2'));
      assert.equal(byClient('tdhcid3/tdhtwo/eth1')?.ip, ip1, 'the eth1 lease is kept');
      const held = (await callDaemon<{leases: {key: string}[]}>(socket, 'leases')).leases.map((l) => l.key);
      assert.ok(held.includes('tdhcid3/tdhtwo/eth1') && !held.includes('tdhcid3/tdhtwo/eth2'), held.join(' '));
      assert.match(sh('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth1']), new RegExp(`inet ${ip1.replace(/\./g, '\\.')}/24`));
      await macvlan.del(ctx, a1);
      await waitFor('the server to drop the eth1 lease', 5000, () => !byClient('tdhcid3/tdhtwo/eth1'));
    } finally {
      spawnSync('ip', ['netns', 'del', ns], {stdio: 'ignore'});
    }
  });

  it('SIGTERM stops the daemon and removes its socket', async () => {
    const pid = await daemonPid();
    process.kill(pid, 'SIGTERM');
    await waitFor('the socket to be removed', 5000, () => !existsSync(socket));
  });
});
