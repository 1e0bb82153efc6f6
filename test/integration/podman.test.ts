import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import {cli} from '../helpers/cli.js';
import {assertDockerTestBed, assertReferencePlugins, REFERENCE_PLUGINS, TEST_IMAGE} from '../helpers/docker.js';
import {quietSync as quiet, rc, sh, shSync} from '../helpers/host.js';
import {assertPodman, checkCachedAttachment, PODMAN_IMAGE, PodmanBed, readCache} from '../helpers/podman.js';
import {added, normaliseRules, saveRules} from '../helpers/rules.js';

/**
 * podman 4.3 (Debian) with its CNI backend as a client of our plugins, side
 * by side with the same steps on the reference plugins alone. podman writes
 * 0.4.0 conflists that chain the reference portmap, firewall and tuning after
 * the bridge. Reserved: networks pd-ours and pd-ref (10.88.41.0/24,
 * 10.88.42.0/24; podman names their bridges cni-podmanN), podman's default
 * network pd-default (10.88.0.0/24, never started), netns pd-cli with links
 * pd-cli0/pd-cli1 (10.88.40.0/30), host ports 18441 and 18442, /tmp/pd-podman-*.
 */

/** The chains portmap and firewall set up once per host and never remove (with either plugin set). */
const SHARED = [
  'nat :CNI-HOSTPORT-DNAT',
  'nat :CNI-HOSTPORT-MASQ',
  'nat :CNI-HOSTPORT-SETMARK',
  'nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  'nat -A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  'nat -A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  'nat -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  'nat -A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
  'filter :CNI-ADMIN',
  'filter :CNI-FORWARD',
  'filter -A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
  'filter -A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
];

const CLIENT_NS = 'pd-cli';
const CLIENT_HOST_IP = '10.88.40.1';
const CONTAINER_PORT = 8080;

interface Side {
  label: 'ours' | 'reference';
  network: string;
  /** First three octets of the /24. */
  net: string;
  hostPort: number;
  dirs: () => string[];
  conf: string;
}

/** What one side ends up with, normalised so that both sides compare equal when they behave alike. */
interface Outcome {
  conflist?: unknown;
  addresses?: string[];
  store?: Record<string, string>;
  hostPings?: number[];
  containerPing?: number;
  staticRequest?: Record<string, boolean>;
  checks?: {type: string; exitCode: number}[];
  published?: Record<string, string | number>;
  rules?: string[];
  storeAfterRm?: string[];
  afterNetworkRm?: {leftovers: string[]; mentions: string[]; bridge: boolean};
}

/** One GET with busybox wget (1.35 crashes on -T, so `timeout` bounds it), optionally inside `prefix` (ip netns exec). */
const wget = (prefix: string[], url: string): Promise<{code: number; body: string}> =>
  sh('timeout', '5', ...prefix, '/bin/busybox', 'wget', '-q', '-O', '-', url).then(
    (body) => ({code: 0, body: body.trim()}),
    (err: {code?: number; message?: string}) => ({code: typeof err.code === 'number' ? err.code : -1, body: err.message ?? ''}),
  );

describe('podman (CNI backend) on our plugins and on the reference plugins', function () {
  this.timeout(300_000);
  let dir = '';
  let bed: PodmanBed;
  let rulesAtStart: string[] = [];
  const ids: Record<string, {a: string; b: string}> = {};
  const ips: Record<string, {a: string; b: string}> = {};
  const bridges: Record<string, string> = {};
  const outcomes: Record<string, Outcome> = {ours: {}, reference: {}};
  const sides: Side[] = [
    {
      label: 'ours',
      network: 'pd-ours',
      net: '10.88.41',
      hostPort: 18441,
      dirs: () => [path.join(dir, 'plugins'), REFERENCE_PLUGINS],
      conf: '',
    },
    {label: 'reference', network: 'pd-ref', net: '10.88.42', hostPort: 18442, dirs: () => [REFERENCE_PLUGINS], conf: ''},
  ];
  const storeDir = (s: Side): string => `/var/lib/cni/networks/${s.network}`;
  const forgetNetworkState = (s: Side): void => {
    rmSync(storeDir(s), {recursive: true, force: true});
    if (existsSync('/var/lib/cni/results')) {
      for (const f of readdirSync('/var/lib/cni/results'))
        if (f.startsWith(`${s.network}-`)) rmSync(`/var/lib/cni/results/${f}`, {force: true});
    }
  };

  before(async () => {
    await assertDockerTestBed();
    assertReferencePlugins();
    for (const p of ['portmap', 'firewall', 'tuning']) {
      if (!existsSync(`${REFERENCE_PLUGINS}/${p}`))
        throw new Error(
          `reference plugin ${REFERENCE_PLUGINS}/${p} is missing (package containernetworking-plugins): run \`sudo bin/setup\``,
        );
    }
    await assertPodman();
    dir = mkdtempSync('/tmp/pd-podman-');
    const installed = await cli(['install-plugins', '--dir', path.join(dir, 'plugins')]);
    assert.equal(installed.code, 0, installed.stderr);
    bed = new PodmanBed(path.join(dir, 'podman'));
    for (const s of sides) {
      s.conf = bed.conf(s.label, s.dirs());
      forgetNetworkState(s);
    }
    rulesAtStart = saveRules('iptables-save', ['nat', 'filter']);
    await bed.loadImage(sides[0].conf, TEST_IMAGE);
    assert.match(await bed.run(sides[0].conf, 'images', '--format', '{{.Repository}}:{{.Tag}}'), new RegExp(PODMAN_IMAGE));

    // A client namespace that reaches the host over a veth, as a machine on the host's network would.
    quiet('ip', 'netns', 'del', CLIENT_NS);
    quiet('ip', 'link', 'del', 'pd-cli0');
    shSync('ip', 'netns', 'add', CLIENT_NS);
    shSync('ip', 'link', 'add', 'pd-cli0', 'type', 'veth', 'peer', 'name', 'pd-cli1', 'netns', CLIENT_NS);
    shSync('ip', 'addr', 'add', `${CLIENT_HOST_IP}/30`, 'dev', 'pd-cli0');
    shSync('ip', 'link', 'set', 'pd-cli0', 'up');
    shSync('ip', '-n', CLIENT_NS, 'addr', 'add', '10.88.40.2/30', 'dev', 'pd-cli1');
    shSync('ip', '-n', CLIENT_NS, 'link', 'set', 'pd-cli1', 'up');
    shSync('ip', '-n', CLIENT_NS, 'route', 'add', 'default', 'via', CLIENT_HOST_IP);
  });

  after(async () => {
    if (bed) await bed.cleanup(sides.map((s) => s.network));
    if (dir) rmSync(dir, {recursive: true, force: true});
    for (const s of sides) forgetNetworkState(s);
    quiet('ip', 'netns', 'del', CLIENT_NS);
    quiet('ip', 'link', 'del', 'pd-cli0');
    removeSharedChainsMadeHere(rulesAtStart);
  });

  for (const s of sides) {
    describe(`with ${s.label === 'ours' ? 'our install-plugins dir first, then /usr/lib/cni' : '/usr/lib/cni only'}`, () => {
      const o = outcomes[s.label];
      const callsOf = (id: string): string[] =>
        bed
          .pluginCalls()
          .filter((l) => l.endsWith(` ${id}`))
          .map((l) => l.split(' ').slice(0, 2).join(' '));
      const normalised = (lines: string[]): string[] =>
        normaliseRules(
          lines,
          [
            [`${s.net}.`, '<net>.'],
            [s.network, '<network>'],
            [bridges[s.label], '<bridge>'],
            [String(s.hostPort), '<hostport>'],
          ],
          [
            [ids[s.label].a, 'a'],
            [ids[s.label].b, 'b'],
          ],
        );
      let rulesBefore: string[] = [];

      it('podman network create --subnet writes a 0.4.0 conflist: bridge + host-local, portmap, firewall, tuning', async () => {
        rulesBefore = saveRules('iptables-save', ['nat', 'filter']);
        await bed.run(s.conf, 'network', 'create', '--subnet', `${s.net}.0/24`, s.network);
        const list = JSON.parse(readFileSync(path.join(bed.networkConfigDir, `${s.network}.conflist`), 'utf8')) as {
          cniVersion: string;
          plugins: {type: string; bridge?: string; ipam?: {type: string}}[];
        };
        bridges[s.label] = list.plugins[0].bridge ?? '';
        assert.match(bridges[s.label], /^cni-podman\d+$/);
        o.conflist = {cniVersion: list.cniVersion, plugins: list.plugins.map((p) => p.type), ipam: list.plugins[0].ipam?.type};
        assert.deepEqual(o.conflist, {cniVersion: '0.4.0', plugins: ['bridge', 'portmap', 'firewall', 'tuning'], ipam: 'host-local'});
      });

      it('two podman run -d containers get distinct addresses, recorded in the host-local store', async () => {
        const a = await bed.run(s.conf, 'run', '-d', '--name', `${s.network}-a`, '--network', s.network, PODMAN_IMAGE, 'sleep', '3600');
        const b = await bed.run(
          s.conf,
          'run',
          '-d',
          '--name',
          `${s.network}-b`,
          '--network',
          s.network,
          '-p',
          `${s.hostPort}:${CONTAINER_PORT}`,
          PODMAN_IMAGE,
          'httpd',
          '-f',
          '-p',
          String(CONTAINER_PORT),
          '-h',
          '/etc',
        );
        ids[s.label] = {a, b};
        const ipOf = async (id: string): Promise<string> =>
          bed.run(s.conf, 'inspect', '--format', `{{(index .NetworkSettings.Networks "${s.network}").IPAddress}}`, id);
        ips[s.label] = {a: await ipOf(a), b: await ipOf(b)};
        const {a: ipA, b: ipB} = ips[s.label];
        assert.notEqual(ipA, ipB);
        for (const ip of [ipA, ipB]) assert.ok(ip.startsWith(`${s.net}.`), `${ip} is not in ${s.net}.0/24`);
        o.addresses = [ipA, ipB].map((ip) => ip.replace(`${s.net}.`, '<net>.'));
        o.store = {};
        for (const [label, ip, id] of [
          ['a', ipA, a],
          ['b', ipB, b],
        ]) {
          const [owner, ifname] = readFileSync(`${storeDir(s)}/${ip}`, 'utf8').split(/\r?\n/);
          assert.equal(owner, id, `${storeDir(s)}/${ip} names another container`);
          o.store[ip.replace(`${s.net}.`, '<net>.')] = `${owner === id ? label : owner} ${ifname}`;
        }
        // Which bridge and host-local served the ADDs: ours log their starts, the reference's do not.
        if (s.label === 'ours') {
          for (const id of [a, b])
            assert.ok(callsOf(id).includes('ADD bridge'), `our bridge was not run for ${id}: ${bed.pluginCalls().join('; ')}`);
        } else {
          assert.deepEqual([...callsOf(a), ...callsOf(b)], [], 'one of our plugins ran on the reference side');
        }
      });

      it('the host pings both containers, and one container the other', async () => {
        const {a: ipA, b: ipB} = ips[s.label];
        o.hostPings = [
          await rc('/bin/busybox', 'ping', '-c', '1', '-W', '2', ipA),
          await rc('/bin/busybox', 'ping', '-c', '1', '-W', '2', ipB),
        ];
        assert.deepEqual(o.hostPings, [0, 0]);
        // The firewall plugin accepts traffic from each container address ahead of Docker's FORWARD DROP.
        o.containerPing = await bed.run(s.conf, 'exec', ids[s.label].a, 'ping', '-c', '1', '-W', '2', ipB).then(
          () => 0,
          () => 1,
        );
        assert.equal(o.containerPing, 0);
      });

      it('--ip and --mac-address reach the plugins (podman 4.3 sends them as IP= and MAC= in CNI_ARGS)', async () => {
        const ip = `${s.net}.50`;
        const mac = '02:88:00:00:00:50';
        const c = await bed.run(
          s.conf,
          'run',
          '-d',
          '--name',
          `${s.network}-c`,
          '--network',
          s.network,
          '--ip',
          ip,
          '--mac-address',
          mac,
          PODMAN_IMAGE,
          'sleep',
          '3600',
        );
        try {
          const inside = await bed.run(s.conf, 'exec', c, 'ip', '-o', 'addr', 'show', 'dev', 'eth0');
          const link = await bed.run(s.conf, 'exec', c, 'cat', '/sys/class/net/eth0/address');
          o.staticRequest = {
            address: inside.includes(`inet ${ip}/24`),
            mac: link === mac,
            store: readFileSync(`${storeDir(s)}/${ip}`, 'utf8').split(/\r?\n/)[0] === c,
          };
        } finally {
          await bed.run(s.conf, 'rm', '-f', '-t', '0', c);
        }
        assert.deepEqual(o.staticRequest, {address: true, mac: true, store: true});
        assert.equal(existsSync(`${storeDir(s)}/${ip}`), false, 'podman rm left the static address reserved');
      });

      it("CHECK of bridge, firewall and tuning passes on podman's cached result (libcni's CheckNetworkList)", async () => {
        o.checks = [];
        for (const id of [ids[s.label].a, ids[s.label].b]) {
          const netns = await bed.run(s.conf, 'inspect', '--format', '{{.NetworkSettings.SandboxKey}}', id);
          const results = await checkCachedAttachment(readCache(s.network, id), netns, s.dirs(), bed.traceEnv());
          // The reference portmap 1.1.1 fails CHECK for a published port of a container without IPv6
          // ("could not check ipv6 dnat: chain … not found"), whichever bridge ran before it; its exit
          // codes are compared across the sides below.
          for (const r of results) if (r.type !== 'portmap') assert.equal(r.exitCode, 0, `CHECK ${r.type}: ${r.output}`);
          o.checks.push(...results.map((r) => ({type: r.type, exitCode: r.exitCode})));
          if (s.label === 'ours') assert.ok(callsOf(id).includes('CHECK bridge'), 'the CHECK did not reach our bridge');
        }
        assert.deepEqual(
          o.checks.map((c) => c.type),
          ['bridge', 'portmap', 'firewall', 'tuning', 'bridge', 'portmap', 'firewall', 'tuning'],
        );
      });

      it('-p publishes the port through the reference portmap: from the host, and from a client namespace once forwarding is accepted', async () => {
        const {b: ipB} = ips[s.label];
        const hostname = ids[s.label].b.slice(0, 12);
        // httpd may still be starting: the host's own path is tried until it answers.
        let fromHost = await wget([], `http://127.0.0.1:${s.hostPort}/hostname`);
        for (let i = 0; i < 20 && fromHost.code !== 0; i++) {
          await new Promise((r) => setTimeout(r, 250));
          fromHost = await wget([], `http://127.0.0.1:${s.hostPort}/hostname`);
        }
        assert.equal(fromHost.body, hostname, `host -> 127.0.0.1:${s.hostPort} exited ${fromHost.code}`);
        // A client beyond the host: DNAT in PREROUTING, then FORWARD, where Docker's policy is DROP and
        // the firewall plugin accepts only replies to the container. It needs an ACCEPT of its own;
        // the firewall plugin's CNI-ADMIN chain is the place it provides for that.
        const inNs = ['ip', 'netns', 'exec', CLIENT_NS];
        const blocked = await wget(inNs, `http://${CLIENT_HOST_IP}:${s.hostPort}/hostname`);
        // 124: `timeout` ended it, the SYN was dropped rather than refused.
        assert.equal(blocked.code, 124, `without an ACCEPT the client namespace got exit ${blocked.code} (${blocked.body}), not a timeout`);
        const accept = ['-d', `${ipB}/32`, '-p', 'tcp', '--dport', String(CONTAINER_PORT), '-j', 'ACCEPT'];
        shSync('iptables', '-A', 'CNI-ADMIN', ...accept);
        let open: {code: number; body: string};
        try {
          open = await wget(inNs, `http://${CLIENT_HOST_IP}:${s.hostPort}/hostname`);
        } finally {
          shSync('iptables', '-D', 'CNI-ADMIN', ...accept);
        }
        assert.equal(open.body, hostname, `client namespace -> ${CLIENT_HOST_IP}:${s.hostPort} exited ${open.code}`);
        o.published = {
          fromHost: fromHost.body === hostname ? 'hostname' : fromHost.body,
          clientWithoutAccept: blocked.code,
          clientWithAccept: open.body === hostname ? 'hostname' : open.body,
        };
      });

      it('the rules of the network match the other plugin set (normalised)', () => {
        const now = saveRules('iptables-save', ['nat', 'filter']);
        for (const l of SHARED) assert.ok(now.includes(l), `missing ${l}`);
        o.rules = normalised(added(rulesBefore, now).filter((l) => !SHARED.includes(l)));
        // The bridge's masquerade chain per container, portmap's DNAT chain for b, the firewall's accepts.
        assert.ok(o.rules.some((l) => l.includes('-j CNI-<a>')) && o.rules.some((l) => l.includes('-j CNI-<b>')), o.rules.join('\n'));
        assert.ok(
          o.rules.some((l) => l.includes('--to-destination <net>.')),
          o.rules.join('\n'),
        );
        assert.ok(
          o.rules.some((l) => l.startsWith('filter -A CNI-FORWARD -s <net>.')),
          o.rules.join('\n'),
        );
      });

      it('podman rm frees both addresses', async () => {
        await bed.run(s.conf, 'rm', '-f', '-t', '0', ids[s.label].a, ids[s.label].b);
        o.storeAfterRm = existsSync(storeDir(s)) ? readdirSync(storeDir(s)).sort() : [];
        assert.deepEqual(
          o.storeAfterRm.filter((f) => f.startsWith(`${s.net}.`)),
          [],
        );
      });

      it('after podman network rm no rule, chain or bridge of the network is left', async () => {
        await bed.run(s.conf, 'network', 'rm', s.network);
        const now = saveRules('iptables-save', ['nat', 'filter']);
        const {a, b} = ids[s.label];
        const words = [s.network, `${s.net}.`, bridges[s.label], a, b, String(s.hostPort)];
        o.afterNetworkRm = {
          leftovers: added(rulesBefore, now).filter((l) => !SHARED.includes(l)),
          mentions: now.filter((l) => words.some((w) => l.includes(w))),
          bridge: (await rc('ip', 'link', 'show', bridges[s.label])) === 0,
        };
        assert.deepEqual(o.afterNetworkRm, {leftovers: [], mentions: [], bridge: false});
      });
    });
  }

  // In a describe of its own: mocha runs a suite's own tests before its child suites.
  describe('both plugin sets', () => {
    it('our plugins give podman the same outcomes as the reference plugins', () => {
      assert.ok(outcomes.ours.afterNetworkRm && outcomes.reference.afterNetworkRm, 'a side did not run to the end');
      assert.deepEqual(outcomes.ours, outcomes.reference);
    });
  });
});

/**
 * portmap and firewall leave their host-wide chains behind with either
 * plugin set; remove them when this file made them and they hold nothing else.
 */
function removeSharedChainsMadeHere(atStart: string[]): void {
  const now = saveRules('iptables-save', ['nat', 'filter']);
  const own = (table: string, chain: string): string[] => now.filter((l) => l.startsWith(`${table} -A ${chain} `));
  const made = (table: string, chain: string): boolean => !atStart.includes(`${table} :${chain}`) && now.includes(`${table} :${chain}`);
  if (made('nat', 'CNI-HOSTPORT-DNAT') && own('nat', 'CNI-HOSTPORT-DNAT').length === 0) {
    quiet('iptables', '-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
    quiet('iptables', '-t', 'nat', '-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
    quiet(
      'iptables',
      '-t',
      'nat',
      '-D',
      'POSTROUTING',
      '-m',
      'comment',
      '--comment',
      'CNI portfwd requiring masquerade',
      '-j',
      'CNI-HOSTPORT-MASQ',
    );
    for (const c of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK']) {
      quiet('iptables', '-t', 'nat', '-F', c);
      quiet('iptables', '-t', 'nat', '-X', c);
    }
  }
  if (made('filter', 'CNI-FORWARD') && own('filter', 'CNI-FORWARD').length === 1 && own('filter', 'CNI-ADMIN').length === 0) {
    quiet('iptables', '-D', 'FORWARD', '-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD');
    for (const c of ['CNI-FORWARD', 'CNI-ADMIN']) {
      quiet('iptables', '-F', c);
      quiet('iptables', '-X', c);
    }
  }
}
