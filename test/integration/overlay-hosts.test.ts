import {strict as assert} from 'node:assert';
import {existsSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {programmedPeers, readProgrammed} from '../../src/net/link-vxlan.js';
import {assertDockerReachable} from '../helpers/docker.js';
import {OverlayBed, addressIn, masqueradeCounters, natSave, ping} from '../helpers/overlay-bed.js';
import {REAL_HOST_IP, type OverlayHost} from '../helpers/sim-hosts.js';

const NAME = 'ovmesh';
const NET = '10.242.0.0/16';
const VNI = 19;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Attached {
  done: {addresses: string[]; gateways: string[]; netns: string}[];
  failures: unknown[];
}

interface Status {
  publicIP: string;
  overlay: {network: string; vni: number};
  leases: {subnet: string; publicIP: string; vtepMac: string; expiresAt: string; reservation: boolean; mine: boolean}[];
}

const inSubnet = (ip: string, subnet: string): boolean => ip.split('.').slice(0, 3).join('.') === subnet.split('.').slice(0, 3).join('.');

/** Wait for a line matching `re` in `lines` (a collected output), up to `ms`. */
async function lineMatching(lines: string[], re: RegExp, ms: number, what: string): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const l = lines.find((x) => re.test(x));
    if (l) return l;
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms; output so far:\n${lines.join('\n')}`);
    await sleep(50);
  }
}

describe('overlay: containers on three simulated hosts and a Docker container on the real host, leases in a 3-member etcd cluster', function () {
  this.timeout(300_000);
  const bed = new OverlayBed({sims: 3, name: NAME, prefix: `/ov-hosts/${process.pid}/network`, bridge: 'ov-br0', vni: VNI, network: NET});
  const [h1, h2, h3] = bed.hosts.sims;
  const real = bed.hosts.real;
  const web = `ov-web-${process.pid}`;
  /** Each host's container namespace path and address. */
  const box = new Map<OverlayHost, {netns: string; ip: string}>();
  let follow: ReturnType<OverlayBed['start']>;
  let watcher: ReturnType<OverlayBed['start']>;

  before(async () => {
    await bed.setup();
    await assertDockerReachable();
    bed.container(web);
  });

  after(async () => {
    await bed.cleanup();
  });

  it('overlay init writes the network config once, accepts the same again and refuses a different one', async () => {
    const init = (vni: number) =>
      bed.cli(real, [
        'overlay',
        'init',
        '--etcd',
        bed.cluster.endpoints.join(','),
        '--prefix',
        bed.opts.prefix,
        '--network',
        NET,
        '--vni',
        String(vni),
      ]);
    const first = await init(VNI);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout.trim(),
      `wrote ${bed.opts.prefix}/config {"Network":"${NET}","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":${VNI},"Port":8472}}`,
    );
    const again = await init(VNI);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^already there:/);
    const other = await init(VNI + 1);
    assert.equal(other.code, 1);
    assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);
    assert.match(other.stderr, /^Error: .*\/config already holds a different network config .*; not overwritten$/m);
    const s = await bed.ok<Status>(real, ['overlay', 'status', '--conf', bed.conf(real), '--json']);
    assert.deepEqual(
      [s.overlay.network, s.overlay.vni, s.leases.length],
      [NET, VNI, 0],
      'the stored config is unchanged and nothing is leased yet',
    );
  });

  it('h1 runs overlay sync --follow and h2 runs cni-docker watch, each taking its lease', async () => {
    follow = bed.start(h1, ['overlay', 'sync', '--conf', bed.conf(h1), '--follow']);
    watcher = bed.start(h2, ['watch', '--conf-dir', bed.confDir(h2)]);
    await lineMatching(follow.out, / synced ovmesh: 10\.242\.\d+\.0\/24 on 10\.199\.0\.11 /, 15_000, "first sync of h1's follower");
    await lineMatching(watcher.err, / overlay ovmesh: 10\.242\.\d+\.0\/24 on 10\.199\.0\.12 /, 15_000, "first overlay sync of h2's watch");
  });

  it("attach on h1, h2 and the real host's Docker container: addresses from three distinct leased subnets", async () => {
    for (const [h, i] of [
      [h1, 1],
      [h2, 2],
    ] as const) {
      const netns = bed.netns(`ov-c${i}`);
      const a = await bed.ok<Attached>(h, ['attach', '--netns', netns, '--conf', bed.conf(h), '--json']);
      box.set(h, {netns, ip: a.done[0].addresses[0].split('/')[0]});
    }
    const a = await bed.ok<Attached>(real, ['attach', web, '--conf', bed.conf(real), '--json']);
    bed.markRealDevice();
    box.set(real, {netns: a.done[0].netns, ip: a.done[0].addresses[0].split('/')[0]});
    const s = await bed.ok<Status>(real, ['overlay', 'status', '--conf', bed.conf(real), '--json']);
    assert.equal(new Set(s.leases.map((l) => l.subnet)).size, 3, JSON.stringify(s.leases));
    for (const h of [h1, h2, real]) {
      const lease = s.leases.find((l) => l.publicIP === h.publicIP);
      assert.ok(lease, `${h.name} has a lease`);
      assert.ok(inSubnet(box.get(h)!.ip, lease.subnet), `${h.name}'s container ${box.get(h)!.ip} is in its lease ${lease.subnet}`);
      assert.equal(addressIn(box.get(h)!.netns), box.get(h)!.ip);
    }
    // The overlay's bridge has its users in the bridge users index (state/bridge-users.ts), as a plain bridge has, under each host's root.
    for (const h of [h1, h2, real]) {
      const users = readdirSync(join(bed.root(h), 'var/lib/cni-docker/bridges', bed.opts.bridge));
      assert.equal(users.length, 1, `${h.name}: ${users.join(' ')}`);
      assert.ok(users[0].startsWith(`${NAME}-`), users[0]);
    }
    assert.equal(existsSync(join('/var/lib/cni-docker/bridges', bed.opts.bridge)), false, 'nothing in the default state root');
    const route = spawnSync('nsenter', [`--net=${box.get(h1)!.netns}`, 'ip', '-j', 'route', 'show', NET], {encoding: 'utf8'});
    const gw = box.get(h1)!.ip.replace(/\.\d+$/, '.1');
    assert.deepEqual(
      (JSON.parse(route.stdout) as {dst: string; gateway: string}[]).map((r) => [r.dst, r.gateway]),
      [[NET, gw]],
      "the whole overlay network through the bridge's gateway",
    );
  });

  it("check finds the attachments as made (interface, addresses, routes, masquerade chain, the plugin's CHECK)", async () => {
    const r = await bed.cli(h1, ['check', 'ov-c1', '--json']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const reports = JSON.parse(r.stdout) as {ok: boolean; problems: string[]}[];
    assert.deepEqual(
      reports.map((x) => [x.ok, x.problems]),
      [[true, []]],
    );
  });

  it('a host that joins later (h3) is reachable within 5 s from h1 (sync --follow) and h2 (watch), without touching either', async () => {
    const netns = bed.netns('ov-c3');
    const a = await bed.ok<Attached>(h3, ['attach', '--netns', netns, '--conf', bed.conf(h3), '--json']);
    const joined = Date.now();
    box.set(h3, {netns, ip: a.done[0].addresses[0].split('/')[0]});
    // Every ADD syncs peers once: h3 knows the three hosts that were there before it.
    const peers = programmedPeers(await readProgrammed(h3.runner, VNI));
    assert.deepEqual(peers.map((p) => p.publicIP).sort(), [h1.publicIP, h2.publicIP, REAL_HOST_IP].sort());
    const took: Record<string, number> = {};
    for (const from of [h1, h2]) {
      for (;;) {
        if (ping(box.get(from)!.netns, box.get(h3)!.ip, 1)) break;
        if (Date.now() - joined > 5000)
          assert.fail(`${from.name}'s container cannot reach ${box.get(h3)!.ip} on h3 ${Date.now() - joined} ms after h3 joined`);
        await sleep(100);
      }
      took[from.name] = Date.now() - joined;
    }
    console.log(`      (reached from h1 after ${took[h1.name]} ms, from h2 after ${took[h2.name]} ms)`);
    await lineMatching(
      follow.out,
      new RegExp(` peers ovmesh: 3 peer\\(s\\) \\(\\+${a.done[0].addresses[0].replace(/\.\d+\/24$/, '\\.0\\/24')}\\)`),
      1000,
      "h1 follower's peer line for h3",
    );
  });

  it("all four containers ping each other across hosts; the MASQUERADE counters do not move; receivers see the senders' own addresses", async () => {
    // The real host synced only at its ADD: it learns h3 now (h1 and h2 follow, h3 synced at its ADD).
    await bed.ok(real, ['overlay', 'sync', '--conf', bed.conf(real)]);
    const hosts = [h1, h2, h3, real];
    // In each receiving container a counting rule per sender: packets that arrive with that exact source address.
    for (const to of hosts) {
      for (const from of hosts.filter((x) => x !== to)) {
        const r = spawnSync(
          'nsenter',
          [`--net=${box.get(to)!.netns}`, 'iptables', '-w', '-I', 'INPUT', '-s', `${box.get(from)!.ip}/32`, '-p', 'icmp', '-j', 'ACCEPT'],
          {encoding: 'utf8'},
        );
        assert.equal(r.status, 0, r.stderr);
      }
    }
    const before = new Map(hosts.map((h) => [h, masqueradeCounters(natSave(h), NET)]));
    for (const h of hosts) assert.ok(before.get(h)!.size >= 1, `${h.name}: our masquerade rule is in the nat table`);
    for (const from of hosts) {
      for (const to of hosts.filter((x) => x !== from)) {
        assert.ok(ping(box.get(from)!.netns, box.get(to)!.ip), `${from.name} ${box.get(from)!.ip} -> ${to.name} ${box.get(to)!.ip}`);
      }
    }
    for (const h of hosts) assert.deepEqual(masqueradeCounters(natSave(h), NET), before.get(h), `${h.name}: MASQUERADE counters moved`);
    for (const to of hosts) {
      const save = spawnSync('nsenter', [`--net=${box.get(to)!.netns}`, 'iptables-save', '-c', '-t', 'filter'], {encoding: 'utf8'}).stdout;
      for (const from of hosts.filter((x) => x !== to)) {
        const m = new RegExp(`^\\[(\\d+):\\d+\\] -A INPUT -s ${box.get(from)!.ip.replace(/\./g, '\\.')}/32 -p icmp -j ACCEPT$`, 'm').exec(
          save,
        );
        assert.ok(m && Number(m[1]) >= 1, `${to.name} saw ${from.name}'s own address ${box.get(from)!.ip} as the source`);
      }
    }
    // The control: traffic leaving the overlay network is masqueraded (so the counters above can move).
    const c1 = box.get(h1)!;
    spawnSync('nsenter', [`--net=${c1.netns}`, 'ip', 'route', 'add', 'default', 'via', c1.ip.replace(/\.\d+$/, '.1')]);
    try {
      assert.ok(ping(c1.netns, REAL_HOST_IP), "h1's container reaches the underlay");
    } finally {
      spawnSync('nsenter', [`--net=${c1.netns}`, 'ip', 'route', 'del', 'default']);
    }
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    assert.ok(sum(masqueradeCounters(natSave(h1), NET)) > sum(before.get(h1)!), "a ping out of the overlay moved h1's MASQUERADE counter");
  });

  it("detach removes only the container's state: the lease and the vxlan device stay", async () => {
    const c2 = box.get(h2)!;
    await bed.ok(h2, ['detach', '--netns', c2.netns]);
    const links = JSON.parse(spawnSync('ip', ['-n', 'ov-c2', '-j', 'link', 'show'], {encoding: 'utf8'}).stdout) as {ifname: string}[];
    assert.deepEqual(
      links.map((l) => l.ifname),
      ['lo'],
      'the container link is gone',
    );
    const root = bed.root(h2);
    assert.deepEqual(
      readdirSync(join(root, 'var/lib/cni/networks', NAME)).filter((f) => /^\d/.test(f)),
      [],
      'no address reservation',
    );
    assert.deepEqual(readdirSync(join(root, 'var/lib/cni/results')), [], 'no cache entry');
    assert.equal(existsSync(join(root, 'var/lib/cni-docker/overlay', `${NAME}-ov-c2-eth0.json`)), false, 'no kept delegate config');
    assert.equal(existsSync(join(root, 'var/lib/cni-docker/bridges', bed.opts.bridge)), false, 'no user of the bridge left in the index');
    const nat = natSave(h2);
    assert.doesNotMatch(nat, /CNI-/, 'no masquerade chain');
    const filter = await h2.exec(['iptables-save', '-t', 'filter']);
    assert.doesNotMatch(filter, /CNI-DOCKER-FORWARD/, "forwarding closed with the bridge's last attachment");
    const s = await bed.ok<Status>(h1, ['overlay', 'status', '--conf', bed.conf(h1), '--json']);
    const lease = s.leases.find((l) => l.publicIP === h2.publicIP);
    assert.ok(lease, "h2's lease stays");
    const dev = JSON.parse(await h2.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', `flannel.${VNI}`])) as {addr_info: {local: string}[]}[];
    assert.deepEqual(
      dev[0].addr_info.map((x) => x.local),
      [lease.subnet.split('/')[0]],
      "h2's vxlan device keeps its VTEP address",
    );
  });

  it("overlay status --json shows every lease with its expiry, this host's marked", async () => {
    const s = await bed.ok<Status>(h1, ['overlay', 'status', '--conf', bed.conf(h1), '--json']);
    assert.equal(s.publicIP, h1.publicIP);
    assert.deepEqual(s.leases.map((l) => l.publicIP).sort(), [h1.publicIP, h2.publicIP, h3.publicIP, REAL_HOST_IP].sort());
    for (const l of s.leases) {
      const left = Date.parse(l.expiresAt) - Date.now();
      assert.ok(left > 23.9 * 3600_000 && left <= 24 * 3600_000, `${l.subnet} expires in ${left} ms`);
      assert.equal(l.reservation, false);
      assert.match(l.vtepMac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      assert.equal(l.mine, l.publicIP === h1.publicIP);
    }
    const text = await bed.ok(h1, ['overlay', 'status', '--conf', bed.conf(h1)]);
    const mine = s.leases.find((l) => l.mine)!;
    assert.match(text.stdout, new RegExp(`^\\*\\t${mine.subnet.replace(/\./g, '\\.')}\\t${h1.publicIP.replace(/\./g, '\\.')}\\t`, 'm'));
    // The follower and the watch are still running.
    assert.equal(follow.proc.exitCode, null, follow.err.join('\n'));
    assert.equal(watcher.proc.exitCode, null, watcher.err.join('\n'));
  });

  it('overlay sync --follow --json prints one JSON line per event and stops on SIGTERM', async () => {
    const f = bed.start(h3, ['overlay', 'sync', '--conf', bed.conf(h3), '--follow', '--json']);
    const synced = JSON.parse(await lineMatching(f.out, /^\{"event":"synced"/, 15_000, "h3 JSON follower's first sync")) as {
      network: string;
      publicIP: string;
      peers: unknown[];
    };
    assert.deepEqual([synced.network, synced.publicIP, synced.peers.length], [NAME, h3.publicIP, 3]);
    f.proc.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => (f.proc.exitCode !== null ? res(f.proc.exitCode) : f.proc.once('exit', res)));
    assert.equal(code, 0, f.err.join('\n'));
    assert.ok(f.err.includes('SIGTERM: stopping'), f.err.join('\n'));
    assert.ok(
      f.out.every((l) => l.startsWith('{')),
      f.out.join('\n'),
    );
  });
});
