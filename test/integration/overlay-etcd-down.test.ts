import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {readFileSync, readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {CLI_BIN} from '../helpers/cli.js';
import {OverlayBed, addressIn} from '../helpers/overlay-bed.js';
import type {OverlayHost} from '../helpers/sim-hosts.js';

const NAME = 'ovfault';
const NET = '10.243.0.0/16';
const VNI = 23;
const BUILTIN = /^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /;

interface DoctorReport {
  ok: boolean;
  checks: {check: string; status: string; message: string; fix?: string}[];
}

/** Every file under a directory, relative to it. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('overlay with etcd members down: attach on 2 of 3, a clean one-line failure with none, and doctor', function () {
  this.timeout(300_000);
  const bed = new OverlayBed({sims: 2, name: NAME, prefix: `/ov-down/${process.pid}/network`, bridge: 'ov-br1', vni: VNI, network: NET});
  const [h1, h2] = bed.hosts.sims;
  const real = bed.hosts.real;
  const second = {name: 'ovfault2', prefix: `/ov-down/${process.pid}/second`};
  /** The host's view of the system: its links and its iptables rules (nat and filter). */
  const snapshot = async (h: OverlayHost): Promise<{links: string[]; rules: string}> => ({
    links: (JSON.parse(await h.exec(['ip', '-j', 'link', 'show'])) as {ifname: string}[]).map((l) => l.ifname).sort(),
    // Rules and chains of our own; a table that iptables merely loaded (built-in chains only) is not a change.
    rules: (await h.exec(['iptables-save']))
      .split('\n')
      .filter((l) => l.startsWith('-') || (l.startsWith(':') && !BUILTIN.test(l)))
      .join('\n'),
  });

  before(async () => {
    await bed.setup();
    for (const [prefix, network] of [
      [bed.opts.prefix, NET],
      [second.prefix, '10.245.0.0/16'],
    ]) {
      await bed.ok(real, [
        'overlay',
        'init',
        '--etcd',
        bed.cluster.endpoints.join(','),
        '--prefix',
        prefix,
        '--network',
        network,
        '--vni',
        String(VNI),
      ]);
    }
    // The real host's conf dir holds two overlay networks (for doctor).
    bed.writeConf(real, {name: second.name, etcdPrefix: second.prefix}, join(bed.confDir(real), `${second.name}.conf`));
  });

  after(async () => {
    await bed.cleanup();
  });

  const overlayLines = (r: DoctorReport) => r.checks.filter((c) => c.check === 'overlay');

  /** CNI STATUS (1.1) of the overlay plugin through the exec protocol: the error JSON, or undefined when ready. */
  const cniStatus = async (): Promise<{code: number; msg: string} | undefined> => {
    const stdin = readFileSync(bed.conf(h1), 'utf8').replace('"cniVersion": "1.0.0"', '"cniVersion": "1.1.0"');
    const argv = h1.argv([CLI_BIN, 'plugin']);
    const r = spawnSync(argv[0], argv.slice(1), {
      input: stdin,
      encoding: 'utf8',
      env: {...process.env, CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni', CNI_DOCKER_STATE_ROOT: bed.root(h1)},
    });
    return r.status === 0 ? undefined : (JSON.parse(r.stdout) as {code: number; msg: string});
  };

  it("doctor says each overlay network's etcd answers while the cluster is up", async () => {
    const r = await bed.cli(real, ['doctor', '--conf-dir', bed.confDir(real), '--json']);
    const lines = overlayLines(JSON.parse(r.stdout) as DoctorReport);
    assert.deepEqual(
      lines.map((c) => [c.status, /^network (\S+): etcd answers at /.exec(c.message)?.[1]]).sort(),
      [
        ['ok', NAME],
        ['ok', second.name],
      ],
      r.stdout,
    );
    assert.equal(await cniStatus(), undefined, 'CNI STATUS: ready');
  });

  it("an ADD that fails after taking the host's first lease gives the lease up and removes the device it made", async () => {
    // A link that is not a bridge where the bridge should be: the delegated bridge ADD fails after the sync.
    await h2.exec(['ip', 'link', 'add', bed.opts.bridge, 'type', 'veth', 'peer', 'name', 'ov-br1p']);
    try {
      const before = await snapshot(h2);
      const r = await bed.cli(h2, ['attach', '--netns', bed.netns('ov-c9'), '--conf', bed.conf(h2)]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^Error: failed to attach ov-c9 to ${NAME}: .*${bed.opts.bridge}`));
      assert.deepEqual(await snapshot(h2), before, 'no vxlan device, link or rule left');
      const s = await bed.ok<{leases: {publicIP: string}[]}>(h1, ['overlay', 'status', '--conf', bed.conf(h1), '--json']);
      assert.ok(!s.leases.some((l) => l.publicIP === h2.publicIP), `h2's new lease was given up: ${JSON.stringify(s.leases)}`);
      assert.ok(!files(bed.root(h2)).some((f) => f.includes('ov-c9')), files(bed.root(h2)).join(', '));
    } finally {
      await h2.exec(['ip', 'link', 'del', bed.opts.bridge]);
    }
  });

  it('with one of the three members killed (the leader), attach still works', async () => {
    const leader = await bed.cluster.leaderIndex();
    await bed.cluster.kill(leader);
    const netns = bed.netns('ov-c1');
    const r = await bed.cli(h1, ['attach', '--netns', netns, '--conf', bed.conf(h1), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const ip = (JSON.parse(r.stdout) as {done: {addresses: string[]}[]}).done[0].addresses[0];
    assert.match(ip, /^10\.243\.\d+\.\d+\/24$/);
    assert.equal(addressIn(netns), ip.split('/')[0]);
    const s = await bed.ok<{leases: {publicIP: string; subnet: string}[]}>(h1, ['overlay', 'status', '--conf', bed.conf(h1), '--json']);
    assert.deepEqual(
      s.leases.map((l) => l.publicIP),
      [h1.publicIP],
    );
    console.log(`      (attach took ${r.ms} ms with member ${leader + 1} of 3 killed)`);
  });

  it('with every member stopped, attach fails within 10 s with one line naming etcd, exit 1, and leaves nothing', async () => {
    await bed.cluster.stopAll();
    // h2 has never joined (a first ADD would make the device and the lease); h1 has (its device stays as it is).
    for (const [h, ns] of [
      [h2, 'ov-c2'],
      [h1, 'ov-c3'],
    ] as const) {
      const netns = bed.netns(ns);
      const before = {system: await snapshot(h), files: files(bed.root(h))};
      const r = await bed.cli(h, ['attach', '--netns', netns, '--conf', bed.conf(h)]);
      assert.equal(r.code, 1, `${h.name}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      assert.ok(r.ms < 10_000, `${h.name}: failing took ${r.ms} ms`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^Error: failed to attach ${ns} to ${NAME}: .*etcd unreachable at ${bed.cluster.endpoints.join(', ').replace(/\./g, '\\.')}: connection refused$`,
        ),
      );
      console.log(`      (${h.name}: failed after ${r.ms} ms)`);
      // Nothing left: no link in the container or on the host, no rule, and no file but the lock files.
      const links = (JSON.parse(await h.exec(['ip', '-n', ns, '-j', 'link', 'show'])) as {ifname: string}[]).map((l) => l.ifname);
      assert.deepEqual(links, ['lo'], `${h.name}: container links`);
      assert.deepEqual(await snapshot(h), before.system, `${h.name}: links and iptables rules unchanged`);
      const added = files(bed.root(h)).filter((f) => !before.files.includes(f));
      assert.deepEqual(
        added.filter((f) => !/(^|\/)(overlay|forward)\.lock$/.test(f)),
        [],
        `${h.name}: files left: ${added.join(', ')}`,
      );
      assert.ok(!files(bed.root(h)).some((f) => f.includes(ns)), `${h.name}: no cache entry, address file, record or kept config of ${ns}`);
    }
  });

  it('doctor reports an unreachable etcd for each overlay network in the conf dir', async () => {
    const r = await bed.cli(real, ['doctor', '--conf-dir', bed.confDir(real)]);
    assert.equal(r.code, 1);
    const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL overlay: '));
    assert.deepEqual(
      fails.map((l) => /^FAIL overlay: network (\S+): etcd unreachable at /.exec(l)?.[1]).sort(),
      [NAME, second.name],
      r.stdout,
    );
    for (const l of fails) assert.match(l, / — fix: start etcd, or correct etcdEndpoints\/etcdPrefix in /);
    const st = await cniStatus();
    assert.equal(st?.code, 50, 'CNI STATUS: plugin not available');
    assert.match(st?.msg ?? '', /^etcd unreachable at /);
  });

  it('detach needs no etcd: the attachment made with 2 of 3 members goes while all are down', async () => {
    const r = await bed.cli(h1, ['detach', '--netns', '/var/run/netns/ov-c1']);
    assert.equal(r.code, 0, r.stderr);
    const links = (JSON.parse(await h1.exec(['ip', '-n', 'ov-c1', '-j', 'link', 'show'])) as {ifname: string}[]).map((l) => l.ifname);
    assert.deepEqual(links, ['lo']);
    assert.ok(!files(bed.root(h1)).some((f) => f.includes('ov-c1')), files(bed.root(h1)).join(', '));
  });
});
