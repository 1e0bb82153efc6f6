import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {cli, cliJson} from '../helpers/cli.js';
import {assertDockerTestBed, TestContainers, type TestContainer} from '../helpers/docker.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';
import {masqChainName} from '../../src/net/iptables-masq.js';
import {makeDeps} from '../../src/deps.js';
import {removeForward} from '../../src/net/iptables-forward.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import type {Outcome} from '../../src/runtime/outcome.js';

/**
 * Many containers in one call, while another process works on the same
 * network: the paths where one process shares iptables-restore runs between
 * containers (src/net/iptables.ts) and takes the host-local lock once
 * for many (src/lock/flock.ts). Every container must end up with
 * its own address and masquerade chain, and one detach call must leave
 * nothing behind.
 */
const NET = 'tbulk1';
const BR = 'tbulkbr0';
const BULK = 12;
const OTHER = 4;

describe('bulk attach/detach in one call (integration)', function () {
  this.timeout(180_000);
  const containers = new TestContainers('tbulk-');
  let tmp: string;
  let conf: string;
  let bulk: TestContainer[];
  let other: TestContainer[];
  const store = (): string => path.join(tmp, 'ipam', NET);
  const reserved = (): string[] => (existsSync(store()) ? readdirSync(store()).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)) : []);
  const natLines = (): string[] => sh('iptables-save', '-t', 'nat').split('\n');

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/tbulk-');
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.215.10.0/24', dataDir: path.join(tmp, 'ipam')},
      }),
    );
    bulk = [];
    other = [];
    for (let i = 0; i < BULK; i++) bulk.push(await containers.run({suffix: `b${i}`}));
    for (let i = 0; i < OTHER; i++) other.push(await containers.run({suffix: `o${i}`}));
  });
  after(async () => {
    await cli(['detach', ...[...bulk, ...other].map((c) => c.name), '--conf', conf]);
    await containers.removeAll();
    quiet('ip', 'link', 'del', BR);
    await removeForward(makeDeps().runner, BR).catch(() => undefined);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it(`attaches ${BULK} containers in one call while another process attaches ${OTHER} more; one detach call frees everything`, async () => {
    const [a, b] = await Promise.all([
      cliJson<Outcome<Attachment>>(['attach', ...bulk.map((c) => c.name), '--conf', conf]),
      cliJson<Outcome<Attachment>>(['attach', ...other.map((c) => c.name), '--conf', conf]),
    ]);
    assert.deepEqual([...a.failures, ...b.failures], []);
    const done = [...a.done, ...b.done];
    assert.equal(done.length, BULK + OTHER);
    const ips = done.map((d) => d.addresses[0].split('/')[0]);
    assert.equal(new Set(ips).size, BULK + OTHER, `addresses not distinct: ${ips.join(' ')}`);
    assert.deepEqual(reserved().sort(), [...ips].sort(), 'the store holds exactly the reported addresses');

    // Each container: its address in its namespace, and its own chain with the reference's three rules.
    const nat = natLines();
    for (const d of done) {
      const ip = d.addresses[0].split('/')[0];
      const inNs = sh('nsenter', `--net=${d.netns}`, '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0');
      assert.ok(inNs.includes(`${ip}/24`), `${d.container}: ${inNs}`);
      const chain = masqChainName(NET, d.containerId);
      assert.ok(nat.includes(`:${chain} - [0:0]`), `${d.container}: no chain ${chain}`);
      assert.equal(nat.filter((l) => l.startsWith(`-A ${chain} `)).length, 2, `${d.container}: rules of ${chain}`);
      assert.equal(
        nat.filter((l) => l.startsWith(`-A POSTROUTING -s ${ip}/32 `) && l.endsWith(`-j ${chain}`)).length,
        1,
        `${d.container}: jump to ${chain}`,
      );
    }
    // A container on the bridge reaches another one (Docker's FORWARD DROP handled).
    assert.equal(
      sh('nsenter', `--net=${done[0].netns}`, '--', '/bin/busybox', 'ping', '-c', '1', '-W', '2', ips[ips.length - 1]).includes(
        '1 packets received',
      ),
      true,
    );

    const det = await cliJson<Outcome<{container: string}>>(['detach', ...[...bulk, ...other].map((c) => c.name), '--conf', conf]);
    assert.deepEqual(det.failures, []);
    assert.equal(det.done.length, BULK + OTHER);
    assert.deepEqual(reserved(), [], 'every address released');
    const after = natLines().join('\n');
    for (const d of done) {
      assert.ok(!after.includes(masqChainName(NET, d.containerId)), `${d.container}: chain left`);
      assert.ok(!after.includes(d.containerId), `${d.container}: a rule naming it is left`);
    }
    const cacheLeft = readdirSync('/var/lib/cni/results').filter((f) => f.startsWith(`${NET}-`));
    assert.deepEqual(cacheLeft, [], 'cache entries left');
    const locksDir = '/var/lib/cni-docker/locks';
    const locksLeft = existsSync(locksDir) ? readdirSync(locksDir).filter((f) => done.some((d) => f.startsWith(d.containerId))) : [];
    assert.deepEqual(locksLeft, [], 'per-container lock files made');
    assert.equal(readFileSync(path.join(store(), 'last_reserved_ip.0'), 'utf8').startsWith('10.215.10.'), true);
  });

  it('two detach processes emptying the bridge at once close its forwarding rules (whichever finishes last)', async () => {
    const forwardLines = (): string[] =>
      sh('iptables-save', '-t', 'filter')
        .split('\n')
        .filter((l) => l.includes(`cni-docker bridge ${BR}`));
    const [x, y] = [bulk.slice(0, 3).map((c) => c.name), bulk.slice(3, 6).map((c) => c.name)];
    // A race: a few rounds, each with the bridge's last attachments split over two processes.
    for (let round = 0; round < 4; round++) {
      const att = await cliJson<Outcome<Attachment>>(['attach', ...x, ...y, '--conf', conf]);
      assert.deepEqual(att.failures, []);
      assert.notDeepEqual(forwardLines(), [], 'no forwarding rules while attached');
      const [dx, dy] = await Promise.all([cli(['detach', ...x, '--conf', conf]), cli(['detach', ...y, '--conf', conf])]);
      assert.equal(dx.code, 0, dx.stderr);
      assert.equal(dy.code, 0, dy.stderr);
      assert.deepEqual(forwardLines(), [], `round ${round}: forwarding rules of ${BR} left with nothing attached`);
    }
  });

  it('attaches and detaches several plain namespaces in one call (repeatable --netns); --id with more than one is refused', async () => {
    const names = ['tbulkns-a', 'tbulkns-b', 'tbulkns-c'];
    for (const n of names) sh('ip', 'netns', 'add', n);
    try {
      const netns = names.flatMap((n) => ['--netns', `/var/run/netns/${n}`]);
      const refused = await cli(['attach', ...netns, '--id', 'x', '--conf', conf]);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr.trim(), 'Error: --id goes with a single --netns');
      assert.deepEqual(reserved(), [], 'the refused attach reserved an address');
      const a = await cliJson<Outcome<Attachment>>(['attach', ...netns, '--conf', conf]);
      assert.deepEqual(a.failures, []);
      assert.deepEqual(a.done.map((d) => d.containerId).sort(), names);
      for (const d of a.done)
        assert.match(
          sh('ip', 'netns', 'exec', d.containerId, 'ip', '-4', '-o', 'addr', 'show', 'dev', d.ifname),
          new RegExp(d.addresses[0].replace(/[./]/g, '\\$&')),
        );
      assert.equal(reserved().length, names.length);
      const d = await cliJson<Outcome<{containerId: string}>>(['detach', ...netns, '--conf', conf]);
      assert.deepEqual(d.done.map((x) => x.containerId).sort(), names);
      assert.deepEqual(reserved(), []);
    } finally {
      for (const n of names) quiet('ip', 'netns', 'del', n);
    }
  });
});
