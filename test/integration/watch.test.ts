import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps, type Deps} from '../../src/deps.js';
import {attach} from '../../src/runtime/attach.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import {detach} from '../../src/runtime/detach.js';
import {removeForward} from '../../src/net/iptables-forward.js';
import {watch} from '../../src/runtime/watch/service.js';
import {acquireWatchLock, WatchAlreadyRunningError} from '../../src/runtime/state/locks.js';
import type {WatchAction} from '../../src/runtime/watch/lifecycle.js';
import {assertDockerTestBed, docker, TestContainers} from '../helpers/docker.js';
import {DockerProxy} from '../helpers/docker-proxy.js';
import {quietSync as quiet, shSync} from '../helpers/host.js';
import {removePortmapSharedChains, saveRules} from '../helpers/rules.js';

/**
 * watch against the real engine, through a unix-socket proxy to dockerd that
 * the test can cut (as a dockerd restart does) without disturbing the shared
 * engine: re-attach with the same address and MAC after `docker restart`,
 * attach by label, release on `docker rm -f`, single instance, reconnection.
 */
const NET = 'twa1';
const BR = 'twabr0';
/** With the reference portmap, for published ports (reserved: 10.89.8.0/24, host port 18095). */
const PM_NET = 'pubwapm';
const PM_BR = 'pubwabr0';
type Seen = WatchAction & {event: string; latencyMs?: number};

function addrOf(sandbox: string, ifname: string): {mac: string; addrs: string[]} {
  const out = JSON.parse(
    execFileSync('nsenter', [`--net=${sandbox}`, '--', 'ip', '-j', 'addr', 'show', 'dev', ifname], {encoding: 'utf8'}),
  )[0];
  return {
    mac: out.address,
    addrs: out.addr_info
      .filter((a: {family: string}) => a.family === 'inet')
      .map((a: {local: string; prefixlen: number}) => `${a.local}/${a.prefixlen}`),
  };
}

describe('watch (integration)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('twa-');
  let tmp: string;
  let deps: Deps;
  let proxy: DockerProxy;
  let natAtStart: string[];
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  const seen: Seen[] = [];
  const infos: string[] = [];

  const waitFor = async <T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; actions: ${JSON.stringify(seen)} infos: ${infos.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const action = (id: string, kind: string, from = 0): Promise<Seen> =>
    waitFor(`${kind} of ${id.slice(0, 12)}`, () => seen.slice(from).find((a) => a.containerId === id && a.action === kind));

  before(async () => {
    await assertDockerTestBed();
    quiet('ip', 'link', 'del', BR);
    natAtStart = saveRules('iptables-save', ['nat']);
    tmp = mkdtempSync('/tmp/twa-');
    mkdirSync(`${tmp}/conf`);
    writeFileSync(
      `${tmp}/conf/${PM_NET}.conflist`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: PM_NET,
        plugins: [
          {type: 'bridge', bridge: PM_BR, isGateway: true, ipMasq: true, ipam: {type: 'host-local', subnet: '10.89.8.0/24'}},
          {type: 'portmap', capabilities: {portMappings: true}},
        ],
      }),
    );
    writeFileSync(
      `${tmp}/conf/${NET}.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.215.2.0/24'},
      }),
    );
    proxy = new DockerProxy(`${tmp}/docker.sock`);
    await proxy.open();
    deps = makeDeps({
      env: {...process.env, DOCKER_HOST: `unix://${tmp}/docker.sock`},
      confDir: `${tmp}/conf`,
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/dhcp.sock`},
    });
    running = watch(deps, {
      signal: ac.signal,
      backoffMs: {initial: 100, max: 400},
      report: {action: (a) => seen.push(a), info: (m) => infos.push(m)},
    });
    await waitFor('watch to follow events', () => infos.find((m) => m.startsWith('following')));
  });
  after(async () => {
    ac.abort();
    await running?.catch(() => undefined);
    await proxy?.cut().catch(() => undefined);
    await detach(deps, {containers: [], all: true}).catch(() => undefined);
    await containers.removeAll();
    for (const b of [BR, PM_BR]) {
      quiet('ip', 'link', 'del', b);
      await removeForward(deps.runner, b).catch(() => undefined);
    }
    removePortmapSharedChains(natAtStart);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('refuses a second instance', async () => {
    await assert.rejects(acquireWatchLock(deps.paths.stateDir), WatchAlreadyRunningError);
  });

  it('re-attaches a persistent attachment after docker restart with the same address and MAC, timed from the start event', async () => {
    const c = await containers.run({suffix: 'persist'});
    const a = (await attach(deps, {containers: [c.id], net: NET, persist: true})).done[0] as Attachment;
    const from = seen.length;
    await docker('restart', '-t', '0', c.name);
    const kept = await action(c.id, 'kept', from);
    assert.equal(kept.event, 'die');
    const r = await action(c.id, 'reattached', from);
    assert.equal(r.event, 'start');
    assert.deepEqual(r.addresses, a.addresses);
    assert.equal(r.mac, a.mac);
    // How fast is the bench's business (watch p50/p95 in `npm run bench`); here only that it is measured.
    assert.ok(r.latencyMs !== undefined && r.latencyMs >= 0, `latency ${r.latencyMs}`);
    const sb = (await containers.inspect(c.id)).NetworkSettings.SandboxKey;
    assert.deepEqual(addrOf(sb, a.ifname), {mac: a.mac, addrs: a.addresses}, 'the interface in the new namespace');
  });

  it('re-attaches a persistent attachment with its published ports after docker restart', async () => {
    const c = await containers.run({suffix: 'pm'});
    const a = (await attach(deps, {containers: [c.id], net: PM_NET, publish: ['18095:80'], persist: true})).done[0] as Attachment;
    const ip = a.addresses[0].split('/')[0];
    const dnat = (): string[] =>
      shSync('iptables-save', '-t', 'nat')
        .split('\n')
        .filter((l) => l.includes(`--dport 18095 -j DNAT --to-destination ${ip}:80`));
    const accept = (): string[] =>
      shSync('iptables', '-S')
        .split('\n')
        .filter((l) => l.includes(`cni-docker port ${PM_NET}-${c.id}-`));
    assert.equal(dnat().length, 1);
    assert.equal(accept().length, 1);
    const from = seen.length;
    await docker('restart', '-t', '0', c.name);
    const r = await action(c.id, 'reattached', from);
    assert.deepEqual(r.addresses, a.addresses);
    assert.equal(dnat().length, 1, 'portmap got the ports again');
    assert.equal(accept().length, 1, 'and the forwarding of them');
    const cache = JSON.parse(readFileSync(`${tmp}/cache/results/${PM_NET}-${c.id}-${a.ifname}`, 'utf8')) as {capabilityArgs?: unknown};
    assert.deepEqual(cache.capabilityArgs, {portMappings: [{containerPort: 80, hostPort: 18095, protocol: 'tcp'}]});
    await detach(deps, {containers: [c.id]});
    assert.deepEqual([dnat(), accept()], [[], []]);
  });

  it('attaches a container run with the cni-docker.networks label, and releases it on docker rm -f', async () => {
    const from = seen.length;
    const name = `twa-label-${process.pid}`;
    (containers as unknown as {created: {id: string; name: string}[]}).created.push({id: '', name});
    const id = await docker(
      'run',
      '-d',
      '--name',
      name,
      '--net=none',
      '--label',
      `cni-docker.networks=${NET}`,
      'cni-docker/busybox:test',
      'sleep',
      '3600',
    );
    const r = await action(id, 'attached', from);
    assert.equal(r.network, NET);
    const sb = (await containers.inspect(id)).NetworkSettings.SandboxKey;
    assert.deepEqual(addrOf(sb, r.ifname!).addrs, r.addresses);
    const ip = r.addresses![0].split('/')[0];
    assert.ok(existsSync(`${tmp}/networks/${NET}/${ip}`));
    await docker('rm', '-f', name);
    await action(id, 'released', from);
    assert.ok(!existsSync(`${tmp}/networks/${NET}/${ip}`), 'address released');
    assert.ok(!readdirSync(`${tmp}/cache/results`).some((f) => f.includes(id)), 'cache released');
  });

  it('keeps running when the engine connection drops, and catches up after it comes back', async () => {
    await proxy.cut();
    await waitFor('the loss to be noticed', () => infos.find((m) => /unavailable|closed/.test(m)));
    const name = `twa-back-${process.pid}`;
    (containers as unknown as {created: {id: string; name: string}[]}).created.push({id: '', name});
    // Started while watch cannot see events: the reconcile after reconnecting must attach it.
    const id = await docker(
      'run',
      '-d',
      '--name',
      name,
      '--net=none',
      '--label',
      `cni-docker.networks=${NET}`,
      'cni-docker/busybox:test',
      'sleep',
      '3600',
    );
    const from = seen.length;
    await new Promise((r) => setTimeout(r, 300));
    let settled = false;
    void running!.finally(() => (settled = true));
    assert.equal(settled, false, 'watch is still running');
    await proxy.open();
    const r = await action(id, 'attached', from);
    assert.equal(r.network, NET);
  });
});
