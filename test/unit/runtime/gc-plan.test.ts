import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {masqChainName} from '../../../src/net/iptables-masq.js';
import {haveTool} from '../../../src/net/nft-masq.js';
import {makeDeps, type Deps} from '../../../src/deps.js';
import {writeCache} from '../../../src/runtime/state/result-cache.js';
import {writeMeta, type PendingAttach} from '../../../src/runtime/state/attachment-meta.js';
import {plan} from '../../../src/runtime/gc-plan.js';
import {FakeRunner, type Expectation} from '../../helpers/fake-runner.js';
import {FakeDocker, hexId, type FakeContainer} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

/**
 * The reads plan makes, in order: the filter table (published ports), both
 * nat tables (masquerade chains) and, where nft is installed, the nftables
 * masquerade chain (answered "no such table" here, so it owns nothing).
 */
function reads(filter: string, nat4: string): Expectation[] {
  const out: Expectation[] = [
    {argv: ['iptables', '-w', '-S'], reply: {stdout: filter}},
    {argv: ['iptables-save', '-t', 'nat'], reply: {stdout: nat4}},
    {argv: ['ip6tables-save', '-t', 'nat'], reply: {stdout: ''}},
  ];
  // haveTool looks at the host's sbin dirs: plan only asks nft where it exists.
  if (haveTool('nft'))
    out.push({
      argv: ['nft', '-j', 'list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks'],
      reply: {exitCode: 1, stderr: 'Error: No such file or directory'},
    });
  return out;
}

describe('runtime/gc-plan', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tgcp-unit-');
    mkdirSync(`${tmp}/conf`);
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const depsWith = (runner: FakeRunner, containers: FakeContainer[]): Deps =>
    makeDeps({
      runner,
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker(containers),
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/none.sock`},
    });

  it('plans the attachment, address and chain of a removed container, nothing of a live one or of foreign ids', async () => {
    const gone = hexId('dead');
    const live = hexId('beef');
    const conf = {
      cniVersion: '1.0.0',
      name: 'tgc1',
      type: 'bridge',
      bridge: 'tgcbr0',
      ipMasq: true,
      ipam: {type: 'host-local', subnet: '10.215.0.0/24'},
    };
    writeFileSync(`${tmp}/conf/tgc1.conf`, JSON.stringify(conf));
    const bytes = JSON.stringify({cniVersion: '1.0.0', name: 'tgc1', plugins: [conf]});
    for (const id of [gone, live])
      await writeCache(`${tmp}/cache`, {
        containerId: id,
        ifName: 'eth0',
        networkName: 'tgc1',
        config: bytes,
        netns: `/nonexistent/${id.slice(0, 4)}`,
      });
    mkdirSync(`${tmp}/networks/tgc1`, {recursive: true});
    writeFileSync(`${tmp}/networks/tgc1/10.215.0.2`, `${gone}\r\neth0`);
    writeFileSync(`${tmp}/networks/tgc1/10.215.0.3`, `${live}\r\neth0`);
    writeFileSync(`${tmp}/networks/tgc1/10.215.0.4`, 'someone-else\r\neth0');
    const chain = masqChainName('tgc1', gone);
    const save = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.215.0.2/32 -m comment --comment "name: \\"tgc1\\" id: \\"${gone}\\"" -j ${chain}\nCOMMIT\n`;
    const runner = new FakeRunner(reads('-P FORWARD DROP\n', save));
    const p = await plan(depsWith(runner, [{id: live, name: 'tgc-live', running: false}]));
    runner.assertDone();
    assert.deepEqual(
      p.items.map((i) => `${i.kind} ${i.detail} ${i.containerId === gone ? 'gone' : i.containerId}`),
      ['attachment tgc1/eth0 gone', 'address 10.215.0.2 gone', `chain ${chain} gone`],
    );
    // A stopped container Docker still has stays valid; the removed one is the entry gc will DEL.
    assert.deepEqual(p.valid, [{containerID: live, ifname: 'eth0'}]);
    assert.deepEqual(
      p.entries.map((e) => e.containerId),
      [gone],
    );
    assert.ok(existsSync(`${tmp}/networks/tgc1/10.215.0.2`), 'planning changes nothing');
  });

  it('goes to the distinct 1.1.0 lists without disableGC only', async () => {
    const l = (name: string, v: string, extra: object = {}) => JSON.stringify({cniVersion: v, name, ...extra, plugins: [{type: 'tfake'}]});
    writeFileSync(`${tmp}/conf/10-a.conflist`, l('ta', '1.1.0'));
    writeFileSync(`${tmp}/conf/20-b.conflist`, l('tb', '1.1.0', {disableGC: true}));
    writeFileSync(`${tmp}/conf/30-c.conflist`, l('tc', '1.0.0'));
    // The same bytes again (a copy under another file name) is one list to GC.
    writeFileSync(`${tmp}/conf/40-a-copy.conflist`, l('ta', '1.1.0'));
    const runner = new FakeRunner(reads('', ''));
    const p = await plan(depsWith(runner, []));
    runner.assertDone();
    assert.deepEqual(
      p.gcLists.map((x) => x.name),
      ['ta'],
    );
    assert.deepEqual(p.items, []);
  });

  it("plans published-port rules with no attachment, reading network, id and ifname from the comment; keeps a live attachment's", async () => {
    const live = hexId('beef');
    const orphan = hexId('abcd');
    const bytes = JSON.stringify({cniVersion: '1.0.0', name: 'tp', plugins: [{type: 'tfake'}]});
    await writeCache(`${tmp}/cache`, {
      containerId: live,
      ifName: 'eth0',
      networkName: 'tp',
      config: bytes,
      netns: '/nonexistent',
      capabilityArgs: {portMappings: [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}]},
    });
    const rule = (key: string) => `-A CNI-DOCKER-FORWARD -o tpbr -m comment --comment "cni-docker port ${key}" -j ACCEPT`;
    const filter =
      ['-N CNI-DOCKER-FORWARD', rule(`tp-${live}-eth0`), rule(`tp-${orphan}-eth1`), rule(`tp-${orphan}-eth1`)].join('\n') + '\n';
    const runner = new FakeRunner(reads(filter, ''));
    const p = await plan(depsWith(runner, [{id: live, name: 'tp-live'}]));
    runner.assertDone();
    assert.equal(p.items.length, 1);
    const [it] = p.items;
    assert.deepEqual(
      {kind: it.kind, network: it.network, containerId: it.containerId, ifname: it.ifname, reason: it.reason, name: it.name},
      {kind: 'port', network: 'tp', containerId: orphan, ifname: 'eth1', reason: 'no attachment', name: orphan.slice(0, 12)},
    );
    assert.match(it.detail, /\(2 rules in CNI-DOCKER-FORWARD\)$/);
    assert.equal(p.portComments.get(it), `cni-docker port tp-${orphan}-eth1`);
  });

  it('plans a half-made attach of a removed container by its pending record, and an orphaned record of one Docker no longer has', async () => {
    const pendingId = hexId('aaaa');
    const orphanId = hexId('bbbb');
    const liveId = hexId('cccc');
    const bytes = JSON.stringify({cniVersion: '1.0.0', name: 'tm', plugins: [{type: 'tfake'}]});
    const meta = (name: string, pending?: PendingAttach) => ({
      name,
      kind: 'container' as const,
      createdAt: '2024-01-01T00:00:00Z',
      ...(pending ? {pending} : {}),
    });
    await writeMeta(
      `${tmp}/state`,
      'tm',
      pendingId,
      'eth0',
      meta('half-made', {network: 'tm', containerId: pendingId, ifname: 'eth0', config: bytes, netns: '/nonexistent'}),
    );
    await writeMeta(`${tmp}/state`, 'tm', orphanId, 'eth0', meta('orphan'));
    await writeMeta(`${tmp}/state`, 'tm', liveId, 'eth0', meta('still-here'));
    const runner = new FakeRunner(reads('', ''));
    const p = await plan(depsWith(runner, [{id: liveId, name: 'still-here'}]));
    runner.assertDone();
    // tm is one of ours (the pending record's config names it), so a Docker-shaped id Docker lacks is stale there.
    assert.deepEqual(
      p.items.map((i) => `${i.kind} ${i.name} ${i.reason}`),
      ['attachment half-made container removed', `meta ${orphanId.slice(0, 12)} container unknown to Docker`],
    );
    assert.equal(p.items[1].detail, `tm-${orphanId}-eth0`);
  });
});
