import {strict as assert} from 'node:assert';
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {masqChainName, masqComment, teardownIpMasq} from '../../src/net/iptables-masq.js';
import {makeDeps} from '../../src/deps.js';
import {callDaemon} from '../../src/ipam/dhcp/index.js';
import {CLI_BIN, cli} from '../helpers/cli.js';
import {DhcpBed, hexId, nsPath, waitFor} from '../helpers/dhcp-bed.js';
import {assertRoot} from '../helpers/docker.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';

/**
 * CNI 1.1's GC and STATUS, and VERSION, through the exec protocol: the
 * executables `cni-docker install-plugins --dir` writes, run as a runtime
 * runs them (CNI_* environment, config on stdin), on the real kernel.
 * Reserved: netns tgs-*, tgd-*, links tgs*, tgd*, networks tgs*, tgd*,
 * 10.226.0.0/24 (bridge), 10.227.0.0/24 (dhcp bed), /tmp/tgs-*, /tmp/tgd-*.
 */
const TYPES = ['bridge', 'macvlan', 'host-local', 'dhcp'];

interface Exec {
  code: number;
  out: {code?: number; msg?: string; cniVersion?: string; supportedVersions?: string[]; ips?: {address: string}[]};
  stdout: string;
}

describe('CNI 1.1 GC, STATUS and VERSION of the installed plugins (exec protocol, real kernel)', function () {
  this.timeout(180_000);
  let bin = '';
  let tmp = '';

  /** One plugin run by the exec protocol: only the CNI_* environment (and PATH), the config on stdin. */
  const run = (type: string, cmd: string, stdin: string, env: {id?: string; netns?: string; ifname?: string} = {}): Exec => {
    const vars: Record<string, string> = {CNI_COMMAND: cmd, CNI_PATH: bin, PATH: process.env.PATH ?? ''};
    if (env.id) vars.CNI_CONTAINERID = env.id;
    if (env.netns) vars.CNI_NETNS = env.netns;
    if (env.ifname) vars.CNI_IFNAME = env.ifname;
    const r = spawnSync(join(bin, type), [], {input: stdin, env: vars, encoding: 'utf8'});
    const stdout = r.stdout ?? '';
    return {code: r.status ?? -1, out: stdout.trim() ? (JSON.parse(stdout) as Exec['out']) : {}, stdout};
  };
  const ok = (r: Exec, what: string): Exec => {
    assert.equal(r.code, 0, `${what}: ${r.stdout}`);
    return r;
  };

  before(async () => {
    assertRoot();
    tmp = mkdtempSync(join(tmpdir(), 'tgs-'));
    bin = join(tmp, 'bin');
    const installed = await cli(['install-plugins', '--dir', bin]);
    assert.equal(installed.code, 0, installed.stderr);
  });

  after(() => {
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it("the installed host-local keeps no reservation index: its only state is the reference's store", () => {
    const root = mkdtempSync(join(tmpdir(), 'tgs-root-'));
    try {
      const dataDir = join(root, 'data');
      const conf = JSON.stringify({cniVersion: '1.1.0', name: 'tgsidx', ipam: {type: 'host-local', subnet: '10.226.9.0/24', dataDir}});
      for (const id of ['tgsidx1', 'tgsidx2']) {
        const r = spawnSync(join(bin, 'host-local'), [], {
          input: conf,
          encoding: 'utf8',
          env: {
            CNI_COMMAND: 'ADD',
            CNI_CONTAINERID: id,
            CNI_NETNS: '/proc/self/ns/net',
            CNI_IFNAME: 'eth0',
            CNI_PATH: bin,
            CNI_DOCKER_STATE_ROOT: root,
            PATH: process.env.PATH ?? '',
          },
        });
        assert.equal(r.status, 0, r.stdout);
      }
      assert.deepEqual(readdirSync(join(dataDir, 'tgsidx')).sort(), ['10.226.9.2', '10.226.9.3', 'last_reserved_ip.0', 'lock']);
      assert.deepEqual(readdirSync(root).sort(), ['data'], 'nothing but the store under the state root');
    } finally {
      rmSync(root, {recursive: true, force: true});
    }
  });

  it('VERSION of every installed plugin lists 1.1.0', () => {
    for (const type of TYPES) {
      const r = ok(run(type, 'VERSION', ''), type);
      assert.equal(r.out.cniVersion, '1.1.0', type);
      assert.ok(r.out.supportedVersions?.includes('1.1.0'), `${type}: ${r.stdout}`);
    }
  });

  describe('bridge + host-local', () => {
    const NET = 'tgsnet';
    const BR = 'tgsbr0';
    const NS = ['tgs-a', 'tgs-b'];
    const IDS = ['tgsctra', 'tgsctrb'];
    let dataDir = '';
    const conf = (extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        cniVersion: '1.1.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.226.0.0/24', dataDir},
        ...extra,
      });
    const reserved = (): string[] =>
      existsSync(join(dataDir, NET))
        ? readdirSync(join(dataDir, NET))
            .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
            .sort()
        : [];
    const nat = (): string => sh('iptables-save', '-t', 'nat');
    const clean = async (): Promise<void> => {
      for (const ns of NS) quiet('ip', 'netns', 'del', ns);
      quiet('ip', 'link', 'del', BR);
      const {runner} = makeDeps();
      for (const id of IDS) await teardownIpMasq(runner, {chain: masqChainName(NET, id), comment: masqComment(NET, id)}, {kind: 'all'});
    };

    before(async () => {
      await clean();
      dataDir = join(tmp, 'networks');
      for (const ns of NS) sh('ip', 'netns', 'add', ns);
    });
    after(() => clean());

    it("GC with a valid list holding one of two attachments frees exactly the other's address file and masquerade chain", () => {
      const addrs = IDS.map(
        (id, i) =>
          ok(run('bridge', 'ADD', conf(), {id, netns: nsPath(NS[i]), ifname: 'eth0'}), `ADD ${id}`).out.ips![0].address.split('/')[0],
      );
      assert.deepEqual(reserved(), [...addrs].sort());
      const chains = IDS.map((id) => masqChainName(NET, id));
      for (const chain of chains) assert.ok(nat().includes(`:${chain} `), `${chain} made by ADD`);

      const before = nat()
        .split('\n')
        .filter((l) => !l.startsWith('#') && !l.includes(chains[1]))
        .join('\n');
      ok(run('bridge', 'GC', conf({'cni.dev/valid-attachments': [{containerID: IDS[0], ifname: 'eth0'}]})), 'GC');
      assert.deepEqual(reserved(), [addrs[0]], "the invalid attachment's address file is gone, the valid one's kept");
      assert.ok(!nat().includes(chains[1]), "the invalid attachment's chain and its jump are gone");
      assert.equal(
        nat()
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n'),
        before,
        'the rest of the nat table is as it was (the valid chain included)',
      );

      ok(run('bridge', 'GC', conf({'cni.dev/valid-attachments': [{containerID: IDS[0], ifname: 'eth0'}]})), 'GC again');
      assert.deepEqual(reserved(), [addrs[0]], 'GC is idempotent');
      ok(run('bridge', 'DEL', conf(), {id: IDS[0], netns: nsPath(NS[0]), ifname: 'eth0'}), 'DEL');
      assert.deepEqual(reserved(), []);
      assert.ok(!nat().includes(chains[0]));
    });

    it("GC and STATUS below cniVersion 1.1.0 are refused with the spec's error (code 1)", () => {
      for (const cmd of ['GC', 'STATUS']) {
        const r = run('bridge', cmd, conf({cniVersion: '1.0.0'}));
        assert.equal(r.code, 1, r.stdout);
        assert.deepEqual([r.out.code, r.out.msg], [1, `config version does not allow ${cmd}`]);
      }
    });

    it("STATUS exits 0 on a healthy network and 50 once a link that is not a bridge holds the bridge's name", () => {
      ok(run('bridge', 'STATUS', conf()), 'STATUS with no bridge yet');
      ok(run('bridge', 'ADD', conf(), {id: IDS[0], netns: nsPath(NS[0]), ifname: 'eth0'}), 'ADD');
      ok(run('bridge', 'STATUS', conf()), 'STATUS with the bridge there');
      ok(run('bridge', 'DEL', conf(), {id: IDS[0], netns: nsPath(NS[0]), ifname: 'eth0'}), 'DEL');
      sh('ip', 'link', 'del', BR);

      sh('ip', 'link', 'add', BR, 'type', 'veth', 'peer', 'name', `${BR}p`);
      try {
        const r = run('bridge', 'STATUS', conf());
        assert.equal(r.code, 1, r.stdout);
        assert.deepEqual([r.out.code, r.out.msg], [50, `"${BR}" already exists but is not a bridge`]);
        const add = run('bridge', 'ADD', conf(), {id: IDS[1], netns: nsPath(NS[1]), ifname: 'eth0'});
        assert.equal(add.code, 1, 'ADD fails as STATUS said');
        assert.match(add.out.msg ?? '', /already exists but is not a bridge/);
        assert.deepEqual(reserved(), [], 'and leaves no address behind');
      } finally {
        quiet('ip', 'link', 'del', BR);
      }
    });
  });

  describe('macvlan + dhcp (dnsmasq test bed, our daemon on its own socket and state dir)', () => {
    const bed = new DhcpBed('tgd', '10.227.0', 'tgd.test', false);
    const C2 = 'tgd-c2';
    const IDS = ['tgdctra', 'tgdctrb'];
    let daemon: ChildProcess | undefined;
    let socket = '';
    let state = '';
    const conf = (extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'tgdnet',
        type: 'macvlan',
        master: bed.master,
        ipam: {type: 'dhcp', daemonSocketPath: socket},
        ...extra,
      });
    const held = (): string[] => {
      const file = join(state, 'dhcp', 'leases.json');
      return existsSync(file)
        ? Object.keys((JSON.parse(readFileSync(file, 'utf8')) as {leases: Record<string, unknown>}).leases).sort()
        : [];
    };

    before(async () => {
      await bed.setup();
      quiet('ip', 'netns', 'del', C2);
      sh('ip', 'netns', 'add', C2);
      socket = join(bed.dir, 'run', 'dhcp.sock');
      state = join(bed.dir, 'state');
      mkdirSync(join(bed.dir, 'run'));
      daemon = spawn(CLI_BIN, ['dhcp', 'daemon', '--socket', socket, '--state-dir', state], {
        stdio: ['ignore', 'ignore', openSync(join(bed.dir, 'daemon.log'), 'w')],
      });
      await waitFor('the DHCP daemon', 10_000, () => existsSync(socket));
      await callDaemon(socket, 'leases');
    });

    after(() => {
      daemon?.kill('SIGKILL');
      quiet('ip', 'netns', 'del', C2);
      bed.teardown();
    });

    it('STATUS exits 0 while the daemon answers and the master is there; 50 for a master that is not', () => {
      ok(run('macvlan', 'STATUS', conf()), 'STATUS');
      const r = run('macvlan', 'STATUS', conf({master: 'tgdnone0'}));
      assert.deepEqual([r.code, r.out.code, r.out.msg], [1, 50, 'failed to lookup master "tgdnone0": Link not found']);
    });

    it("GC with a valid list holding one of two attachments releases exactly the other's lease", async () => {
      const where = [nsPath(bed.c1), nsPath(C2)];
      const addrs = IDS.map(
        (id, i) => ok(run('macvlan', 'ADD', conf(), {id, netns: where[i], ifname: 'net1'}), `ADD ${id}`).out.ips![0].address.split('/')[0],
      );
      const keys = IDS.map((id) => `${id}/tgdnet/net1`);
      assert.deepEqual(held(), [...keys].sort());
      for (const [i, key] of keys.entries())
        assert.ok(
          bed.serverLeases().some((l) => l.ip === addrs[i] && l.clientId === hexId(key)),
          JSON.stringify(bed.serverLeases()),
        );

      ok(run('macvlan', 'GC', conf({'cni.dev/valid-attachments': [{containerID: IDS[0], ifname: 'net1'}]})), 'GC');
      assert.deepEqual(held(), [keys[0]], "the daemon holds only the valid attachment's lease");
      await waitFor('the server to drop the released lease', 5000, () => !bed.serverLeases().some((l) => l.ip === addrs[1]));
      assert.ok(
        bed.serverLeases().some((l) => l.ip === addrs[0]),
        'the valid attachment keeps its lease at the server',
      );
      const daemonLeases = (await callDaemon<{leases: {key: string}[]}>(socket, 'leases')).leases.map((l) => l.key);
      assert.deepEqual(daemonLeases, [keys[0]]);

      ok(run('macvlan', 'DEL', conf(), {id: IDS[0], netns: where[0], ifname: 'net1'}), 'DEL');
      ok(run('macvlan', 'DEL', conf(), {id: IDS[1], netns: where[1], ifname: 'net1'}), 'DEL of the collected one');
      assert.deepEqual(held(), []);
    });

    it('STATUS of dhcp is not 0 once its daemon is gone', async () => {
      ok(run('dhcp', 'STATUS', conf()), 'STATUS with the daemon');
      daemon?.kill('SIGKILL');
      await waitFor('the daemon to exit', 5000, () => daemon?.exitCode !== null || daemon?.signalCode !== null);
      const r = run('dhcp', 'STATUS', conf());
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.out.code, 50, r.stdout);
      assert.match(r.out.msg ?? '', /^DHCP daemon not reachable on /);
      const viaMacvlan = run('macvlan', 'STATUS', conf());
      assert.deepEqual([viaMacvlan.code, viaMacvlan.out.code], [1, 50], "macvlan passes on its IPAM's STATUS");
    });
  });
});
