import {strict as assert} from 'node:assert';
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import {assertDockerTestBed, docker, TestContainers, type TestContainer} from '../helpers/docker.js';
import {cli, cliJson, CONFIGS} from '../helpers/cli.js';
import {iptablesLines, pingFromNetns, rc, sh} from '../helpers/host.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import type {Outcome} from '../../src/runtime/outcome.js';
import type {ListedAttachment} from '../../src/runtime/list-attachments.js';
import type {Detached} from '../../src/runtime/detach.js';

/**
 * The seed scenarios end to end, as a user types them, against the real
 * engine, real namespaces and real iptables, with the real state paths.
 */
const NETWORKS_DIR = '/var/lib/cni/networks';
const RESULTS_DIR = '/var/lib/cni/results';
const SEED_NETNS = '1234567890';
const SEED_NETS = ['mybridge', 'customrktbridge'];
const SEED_BRIDGES = ['cni_bridge0', 'cni_bridge1', 'cni0'];

/** A fresh store (no reservation) so the first address is the seed's. */
function resetStore(net: string): void {
  const dir = path.join(NETWORKS_DIR, net);
  if (!existsSync(dir)) return;
  const taken = readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.'));
  if (taken.length > 0) throw new Error(`${dir} holds reservations (${taken.join(', ')}): detach them first (cni-docker detach --all)`);
  rmSync(dir, {recursive: true, force: true});
}

function reserved(net: string): string[] {
  const dir = path.join(NETWORKS_DIR, net);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.')) : [];
}

async function ipJson(netns: string, ...args: string[]): Promise<unknown> {
  return JSON.parse(await sh('nsenter', `--net=${netns}`, 'ip', '-j', ...args));
}

async function routes(netns: string): Promise<string[]> {
  return (await sh('nsenter', `--net=${netns}`, 'ip', 'route'))
    .trim()
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '));
}

/** Host state that --dry-run must not change (no counters, no timers). */
async function hostSnapshot(): Promise<string> {
  // Carrier flags follow other activity (Docker's own veths come and go): compare names, admin state and master.
  const links = (JSON.parse(await sh('ip', '-j', 'link')) as {ifname: string; flags: string[]; master?: string}[])
    .filter((l) => l.ifname !== 'docker0' && l.master !== 'docker0')
    .map((l) => `${l.ifname} ${l.flags.includes('UP') ? 'UP' : 'DOWN'} ${l.master ?? ''}`);
  const addrs = (JSON.parse(await sh('ip', '-j', 'addr')) as {ifname: string; addr_info: {local: string; prefixlen: number}[]}[]).map(
    (l) => `${l.ifname} ${l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).join(',')}`,
  );
  const rules = (await sh('iptables-save'))
    .split('\n')
    .filter((l) => l.startsWith('-A') || l.startsWith(':'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''));
  const files = existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR) : [];
  return JSON.stringify({links, addrs, rules, files});
}

describe('user commands: the seed scenarios end to end (real engine)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('tcmd-');
  let c1: TestContainer;
  let c2: TestContainer;
  let c3: TestContainer;
  const netnsPath = `/var/run/netns/${SEED_NETNS}`;

  before(async () => {
    await assertDockerTestBed();
    await rc('ip', 'netns', 'del', SEED_NETNS);
    for (const n of SEED_NETS) resetStore(n);
    await sh('ip', 'netns', 'add', SEED_NETNS);
    c1 = await containers.run({suffix: 'c1'});
    c2 = await containers.run({suffix: 'c2'});
    c3 = await containers.run({suffix: 'c3'});
  });

  after(async () => {
    await cli(['detach', '--all']);
    await containers.removeAll();
    await rc('ip', 'netns', 'del', SEED_NETNS);
    for (const b of SEED_BRIDGES) await rc('ip', 'link', 'del', b);
  });

  it('seed 1: a plain netns gets the addresses, routes and masquerade rules the seed shows', async () => {
    const out = await cliJson<Outcome<Attachment>>([
      'attach',
      '--netns',
      netnsPath,
      '--conf',
      path.join(CONFIGS, 'mybridge.conf'),
      '--ifname',
      'eth12',
    ]);
    assert.deepEqual(out.failures, []);
    assert.deepEqual(out.done[0].addresses, ['10.15.20.2/24']);
    assert.deepEqual(await routes(netnsPath), [
      'default via 10.15.20.1 dev eth12',
      '1.1.1.1 via 10.15.20.1 dev eth12',
      '10.15.20.0/24 dev eth12 proto kernel scope link src 10.15.20.2',
    ]);
    // CNI-26633426ea992aa1f0477097 = "CNI-" + sha512("mybridge" + "1234567890")[:24], as in the seed.
    assert.deepEqual(await iptablesLines(/mybridge/), [
      '-A POSTROUTING -s 10.15.20.2/32 -m comment --comment "name: \\"mybridge\\" id: \\"1234567890\\"" -j CNI-26633426ea992aa1f0477097',
      '-A CNI-26633426ea992aa1f0477097 -d 10.15.20.0/24 -m comment --comment "name: \\"mybridge\\" id: \\"1234567890\\"" -j ACCEPT',
      '-A CNI-26633426ea992aa1f0477097 ! -d 224.0.0.0/4 -m comment --comment "name: \\"mybridge\\" id: \\"1234567890\\"" -j MASQUERADE',
    ]);
    assert.equal(await pingFromNetns(netnsPath, '10.15.20.1'), 0, 'the namespace reaches its gateway');
  });

  it("seed 2: --net=none containers get .100 and .101, the host and each other reach them, Docker's bridge does not", async () => {
    const conf = path.join(CONFIGS, 'mybridge2.conf');
    const a = await cliJson<Outcome<Attachment>>(['attach', c1.name, '--conf', conf]);
    assert.deepEqual(
      a.done.map((x) => [x.ifname, x.addresses, x.gateways]),
      [['eth0', ['10.15.30.100/24'], ['10.15.30.99']]],
    );
    const sb1 = (await containers.inspect(c1.name)).NetworkSettings.SandboxKey;
    assert.deepEqual(await routes(sb1), [
      'default via 10.15.30.99 dev eth0',
      '1.1.1.1 via 10.15.30.1 dev eth0',
      '10.15.30.0/24 dev eth0 proto kernel scope link src 10.15.30.100',
    ]);
    const b = await cliJson<Outcome<Attachment>>(['attach', c2.name, '--conf', conf]);
    assert.deepEqual(b.done[0].addresses, ['10.15.30.101/24']);
    assert.equal(await rc('/bin/busybox', 'ping', '-c', '1', '-W', '2', '10.15.30.100'), 0, 'host pings c1');
    assert.equal(await rc('docker', 'exec', c2.name, 'ping', '-c', '1', '-W', '2', '10.15.30.100'), 0, 'c2 pings c1 across the CNI bridge');
    const outsider = await containers.run({suffix: 'outsider', net: 'bridge', cmd: ['ping', '-c', '1', '-W', '2', '10.15.30.100']});
    const status = JSON.parse(await docker('wait', outsider.name)) as number;
    assert.notEqual(status, 0, "a container on Docker's default bridge must not reach the CNI network");
  });

  it('seed 3: a named network from the conf dir allocates from 10.11.0.0/16 and records the container id', async () => {
    const out = await cliJson<Outcome<Attachment>>(['attach', c3.name, '--net', 'customrktbridge', '--conf-dir', CONFIGS]);
    assert.deepEqual(out.done[0].addresses, ['10.11.0.2/16']);
    const file = path.join(NETWORKS_DIR, 'customrktbridge', '10.11.0.2');
    assert.equal(readFileSync(file, 'utf8'), `${c3.id}\r\neth0`);
  });

  it('attach twice returns the same attachment without allocating', async () => {
    const before = reserved('mybridge').length;
    const again = await cliJson<Outcome<Attachment>>(['attach', c1.name, '--conf', path.join(CONFIGS, 'mybridge2.conf')]);
    assert.equal(again.done[0].existing, true);
    assert.deepEqual(again.done[0].addresses, ['10.15.30.100/24']);
    assert.equal(reserved('mybridge').length, before);
  });

  it('--dry-run prints the plan and changes nothing on the host', async () => {
    const snap = await hostSnapshot();
    const r = await cli(['attach', c3.name, '--conf', path.join(CONFIGS, 'mybridge2.conf'), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Would attach .* as eth1/);
    assert.match(r.stdout, /ADD bridge with host-local IPAM/);
    assert.equal(await hostSnapshot(), snap);
  });

  it('list shows every attachment, as JSON and as tab-separated rows when piped', async () => {
    const rows = await cliJson<ListedAttachment[]>(['list']);
    const ours = rows.filter((r) => [c1.id, c2.id, c3.id, SEED_NETNS].includes(r.containerId));
    assert.deepEqual(
      ours.map((r) => `${r.container} ${r.network} ${r.ifname} ${r.addresses.join(',')} ${r.state}`).sort(),
      [
        `${SEED_NETNS} mybridge eth12 10.15.20.2/24 running`,
        `${c1.name} mybridge eth0 10.15.30.100/24 running`,
        `${c2.name} mybridge eth0 10.15.30.101/24 running`,
        `${c3.name} customrktbridge eth0 10.11.0.2/16 running`,
      ].sort(),
    );
    const piped = await cli(['list', '--container', c1.name]);
    assert.equal(piped.code, 0);
    const fields = piped.stdout.trimEnd().split('\t');
    assert.equal(fields[0], c1.name);
    assert.equal(fields[1], c1.id.slice(0, 12));
    assert.ok(!piped.stdout.includes('CONTAINER') && !piped.stdout.includes('\u001b['), 'no header and no colour when piped');
  });

  it('check reports ok, then the drift of an address removed by hand (exit 1)', async () => {
    const ok = await cli(['check', c2.name]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok$/m);
    const sb2 = (await containers.inspect(c2.name)).NetworkSettings.SandboxKey;
    await sh('nsenter', `--net=${sb2}`, 'ip', 'route', 'del', '1.1.1.1/32');
    const bad = await cli(['check', c2.name]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /1\.1\.1\.1/);
  });

  it('a removed container is listed as gone; detach by name frees its address', async () => {
    await docker('rm', '-f', c3.name);
    const rows = await cliJson<ListedAttachment[]>(['list', '--net', 'customrktbridge']);
    assert.deepEqual(
      rows.filter((r) => r.containerId === c3.id).map((r) => r.state),
      ['gone'],
    );
    const d = await cliJson<Outcome<Detached>>(['detach', c3.name]);
    assert.deepEqual(
      d.done.map((x) => x.network),
      ['customrktbridge'],
    );
    assert.deepEqual(reserved('customrktbridge'), []);
    const again = await cli(['detach', c3.id]);
    assert.equal(again.code, 0, 'detach is idempotent');
  });

  it('errors are one line, exit 1, and leave nothing behind', async () => {
    const snap = await hostSnapshot();
    const unknown = await cli(['attach', 'tcmd-no-such-container', '--conf', path.join(CONFIGS, 'mybridge2.conf')]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr.trim(), /^Error: no such container: tcmd-no-such-container$/);
    const badIf = await cli(['attach', c1.name, '--conf', path.join(CONFIGS, 'mybridge2.conf'), '--ifname', '../eth0']);
    assert.equal(badIf.code, 1);
    assert.equal(badIf.stderr.trim().split('\n').length, 1);
    assert.match(badIf.stderr, /invalid --ifname/);
    // An --ifname the target already has: refused, and the target's own link survives.
    const taken = await cli(['attach', c1.name, '--conf', path.join(CONFIGS, 'mybridge2.conf'), '--ifname', 'lo']);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr.trim(),
      /^Error: failed to attach tcmd-\S+-c1 to mybridge: it already has an interface named lo; choose another --ifname$/,
    );
    await sh('ip', '-n', SEED_NETNS, 'link', 'add', 'usr0', 'type', 'veth', 'peer', 'name', 'usr1');
    const takenNs = await cli(['attach', '--netns', netnsPath, '--conf', path.join(CONFIGS, 'mybridge2.conf'), '--ifname', 'usr0']);
    assert.equal(takenNs.code, 1);
    assert.match(
      takenNs.stderr.trim(),
      /^Error: failed to attach \S+ to mybridge: it already has an interface named usr0; choose another --ifname$/,
    );
    assert.deepEqual(
      ((await ipJson(netnsPath, 'link', 'show')) as {ifname: string}[])
        .map((l) => l.ifname)
        .filter((n) => n.startsWith('usr'))
        .sort(),
      ['usr0', 'usr1'],
      "the namespace's own links are still there",
    );
    await sh('ip', '-n', SEED_NETNS, 'link', 'del', 'usr0');
    assert.equal(await hostSnapshot(), snap);
  });

  it('after detaching everything, no veth, rule, cache file or reservation of ours remains', async () => {
    const out = await cliJson<Outcome<Detached>>(['detach', c1.name, c2.name]);
    assert.equal(out.done.length, 2);
    await cliJson(['detach', '--netns', netnsPath]);
    for (const net of SEED_NETS) assert.deepEqual(reserved(net), [], `${net} reservations`);
    assert.deepEqual(await iptablesLines(/mybridge|customrktbridge|CNI-DOCKER-FORWARD/), []);
    const cache = existsSync(RESULTS_DIR)
      ? readdirSync(RESULTS_DIR).filter((f) => [c1.id, c2.id, c3.id, SEED_NETNS].some((id) => f.includes(id)))
      : [];
    assert.deepEqual(cache, []);
    const ports = (JSON.parse(await sh('ip', '-j', 'link')) as {ifname: string; master?: string}[]).filter(
      (l) => l.master && SEED_BRIDGES.includes(l.master),
    );
    assert.deepEqual(ports, []);
    assert.equal(await ipJson(netnsPath, 'addr', 'show', 'eth12').catch(() => 'gone'), 'gone');
  });
});
