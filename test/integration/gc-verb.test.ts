import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps, type Deps} from '../../src/deps.js';
import {attach} from '../../src/runtime/attach.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import {detach} from '../../src/runtime/detach.js';
import {gc} from '../../src/runtime/gc.js';
import {masqChainName} from '../../src/net/iptables-masq.js';
import {removeForward} from '../../src/net/iptables-forward.js';
import {makeHooks} from '../../src/util/hooks.js';
import {assertDockerTestBed, assertReferencePlugins, docker, TestContainers} from '../helpers/docker.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';
import {added, PORTMAP_SHARED, removePortmapSharedChains, saveRules} from '../helpers/rules.js';
import {closePublished, openPublished, publishComment, publishedComments, publishRules} from '../../src/runtime/forwarding/published.js';

/**
 * `gc` as libcni's GCNetworkList on a real kernel and Docker: on a cniVersion
 * 1.1.0 network it DELs the attachments of removed containers and sends the
 * GC verb with the valid attachments, freeing exactly what is not valid; an
 * attach that starts while gc runs waits for it and keeps its address; a
 * plugin that answers GC with an error is reported in one line. Reserved:
 * networks pubgc11 (pubgcbr0, 10.89.4.0/24), pubgc10 (pubgcbr1, 10.89.6.0/24),
 * pubgcerr (pubgcbr2, 10.89.5.0/24), pubgcpm (pubgcbr3, 10.89.7.0/24, with
 * the reference portmap), host port 18090, netns pub-gcns, containers pub-gc*.
 */
const NET = 'pubgc11';
const NET10 = 'pubgc10';
const BRIDGES = ['pubgcbr0', 'pubgcbr1', 'pubgcbr2', 'pubgcbr3'];
const NS = 'pub-gcns';

const bridge = (name: string, br: string, subnet: string, cniVersion = '1.1.0') =>
  JSON.stringify({
    cniVersion,
    name,
    plugins: [{type: 'bridge', bridge: br, isGateway: true, ipMasq: true, ipam: {type: 'host-local', subnet}}],
  });

describe('gc through the GC verb (integration)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('pub-gc');
  let tmp: string;
  let deps: Deps;
  let natAtStart: string[];
  const store = (net = NET): string[] =>
    existsSync(`${tmp}/networks/${net}`)
      ? readdirSync(`${tmp}/networks/${net}`)
          .filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n))
          .sort()
      : [];
  const nat = (): string[] => saveRules('iptables-save', ['nat']);
  const paths = () => ({
    networksDir: `${tmp}/networks`,
    cacheDir: `${tmp}/cache`,
    stateDir: `${tmp}/state`,
    dhcpSocket: `${tmp}/dhcp.sock`,
  });

  before(async () => {
    await assertDockerTestBed();
    assertReferencePlugins();
    quiet('ip', 'netns', 'del', NS);
    natAtStart = saveRules('iptables-save', ['nat']);
    tmp = mkdtempSync('/tmp/pub-gc-');
    mkdirSync(`${tmp}/conf`);
    writeFileSync(`${tmp}/conf/${NET}.conflist`, bridge(NET, BRIDGES[0], '10.89.4.0/24'));
    writeFileSync(`${tmp}/conf/${NET10}.conflist`, bridge(NET10, BRIDGES[1], '10.89.6.0/24', '1.0.0'));
    deps = makeDeps({confDir: `${tmp}/conf`, paths: paths()});
  });

  after(async () => {
    await detach(deps, {containers: [], all: true}).catch(() => undefined);
    await containers.removeAll();
    quiet('ip', 'netns', 'del', NS);
    for (const b of BRIDGES) {
      quiet('ip', 'link', 'del', b);
      await removeForward(deps.runner, b).catch(() => undefined);
    }
    await closePublished(
      deps,
      [...(await publishedComments(deps.runner)).keys()].filter((c) => c.includes('pubgc')),
    ).catch(() => undefined);
    removePortmapSharedChains(natAtStart);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('two attachments on a 1.1.0 network, one container removed: gc frees exactly its address file and masquerade chain', async () => {
    const gone = await containers.run({suffix: 'gone'});
    const kept = await containers.run({suffix: 'kept'});
    const a = (await attach(deps, {containers: [gone.id], net: NET})).done[0] as Attachment;
    const b = (await attach(deps, {containers: [kept.id], net: NET})).done[0] as Attachment;
    const [addrA, addrB] = [a.addresses[0].split('/')[0], b.addresses[0].split('/')[0]];
    const [chainA, chainB] = [masqChainName(NET, gone.id), masqChainName(NET, kept.id)];
    await docker('rm', '-f', gone.name);
    const storeBefore = store();
    const natBefore = nat();
    assert.deepEqual(storeBefore, [addrA, addrB].sort());

    const dry = await gc(deps, {dryRun: true});
    assert.deepEqual(dry.gc, [{network: NET, cniVersion: '1.1.0', plugins: ['bridge']}], 'the GC verb goes to the 1.1.0 network only');
    assert.equal(dry.validAttachments, 1);
    assert.deepEqual(
      dry.freed
        .filter((i) => i.kind !== 'lock')
        .map((i) => `${i.kind} ${i.detail} ${i.containerId === gone.id ? 'gone' : i.containerId}`)
        .sort(),
      [`address ${addrA} gone`, `attachment ${NET}/eth0 gone`, `chain ${chainA} gone`],
    );
    assert.deepEqual(store(), storeBefore, 'a dry run changes nothing');

    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      r.gc.map((g) => g.network),
      [NET],
    );
    assert.deepEqual(store(), [addrB], "exactly the removed container's address file is freed");
    const removed = added(nat(), natBefore);
    assert.ok(
      removed.length > 0 && removed.every((l) => l.includes(chainA) || l.includes(gone.id)),
      `only the removed container's masquerade rules went:\n${removed.join('\n')}`,
    );
    assert.ok(removed.includes(`nat :${chainA}`), 'its chain went');
    assert.deepEqual(added(natBefore, nat()), [], 'nothing was added');
    assert.ok(nat().includes(`nat :${chainB}`), 'the other chain is kept');
    assert.ok(!readdirSync(`${tmp}/cache/results`).some((f) => f.includes(gone.id)));
    assert.ok(readdirSync(`${tmp}/cache/results`).some((f) => f.includes(kept.id)));
    assert.deepEqual(
      (await gc(deps, {dryRun: true})).freed.filter((i) => i.kind !== 'lock'),
      [],
      'nothing left to free',
    );
  });

  it('an attach that starts while gc runs waits for it, and keeps its address', async () => {
    const c = await containers.run({suffix: 'late'});
    const release = `${tmp}/release-gc`;
    let paused!: () => void;
    const reached = new Promise<void>((res) => (paused = res));
    const gcDeps = makeDeps({
      confDir: `${tmp}/conf`,
      paths: paths(),
      hooks: makeHooks({pauseAfter: `gc:planned=${release}`}, {say: () => paused(), kill: () => undefined}),
    });
    const running = gc(gcDeps);
    await reached;
    // gc has taken its snapshot of the valid attachments; this attach is not in it.
    let done = false;
    const attaching = attach(deps, {containers: [c.id], net: NET}).then((o) => ((done = true), o));
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(done, false, 'the attach waits for gc');
    writeFileSync(release, '');
    const r = await running;
    assert.deepEqual(r.failures, []);
    const out = await attaching;
    assert.deepEqual(out.failures, []);
    const addr = (out.done[0] as Attachment).addresses[0].split('/')[0];
    assert.ok(store().includes(addr), `${addr} is still reserved after gc: ${store().join(' ')}`);
    assert.ok(nat().includes(`nat :${masqChainName(NET, c.id)}`));
    assert.ok(!existsSync(`${tmp}/state/gc.lock`), 'gc removed its lock file');
  });

  it("frees, on a 1.1.0 network only, what no valid attachment holds even for an id that is not Docker's", async () => {
    sh('ip', 'netns', 'add', NS);
    const on11 = (await attach(deps, {containers: [], netns: [`/var/run/netns/${NS}`], net: NET, ifname: 'eth1'})).done[0] as Attachment;
    const on10 = (await attach(deps, {containers: [], netns: [`/var/run/netns/${NS}`], net: NET10, ifname: 'eth2'})).done[0] as Attachment;
    const [ip11, ip10] = [on11.addresses[0].split('/')[0], on10.addresses[0].split('/')[0]];
    const chain10 = masqChainName(NET10, NS);
    try {
      // Both records lost (another tool, a crash): nothing of ours names these attachments any more.
      for (const d of [`${tmp}/cache/results`, `${tmp}/state/attachments`])
        for (const f of readdirSync(d)) if (f.includes(`-${NS}-`)) rmSync(`${d}/${f}`);
      const r = await gc(deps);
      assert.deepEqual(r.failures, []);
      const freed = r.freed
        .filter((i) => i.containerId === NS && i.kind !== 'lock')
        .map((i) => `${i.kind} ${i.network} ${i.detail} ${i.reason}`)
        .sort();
      assert.deepEqual(freed, [
        `address ${NET} ${ip11} not a valid attachment`,
        `chain ${NET} ${masqChainName(NET, NS)} not a valid attachment`,
      ]);
      assert.ok(!store().includes(ip11));
      assert.ok(store(NET10).includes(ip10), 'a 1.0.0 network keeps what gc cannot tell is stale');
      assert.ok(nat().includes(`nat :${chain10}`));
    } finally {
      // Leave the 1.0.0 network as it was: the lost attachment's address and chain, removed by hand.
      rmSync(`${tmp}/networks/${NET10}/${ip10}`, {force: true});
      quiet(
        'iptables',
        '-t',
        'nat',
        '-D',
        'POSTROUTING',
        '-s',
        `${ip10}/32`,
        '-m',
        'comment',
        '--comment',
        `name: "${NET10}" id: "${NS}"`,
        '-j',
        chain10,
      );
      quiet('iptables', '-t', 'nat', '-F', chain10);
      quiet('iptables', '-t', 'nat', '-X', chain10);
      quiet('ip', 'netns', 'del', NS);
    }
  });

  it('a plugin that answers GC with an error is reported in one line, and the rest goes on', async () => {
    writeFileSync(
      `${tmp}/conf/pubgcerr.conflist`,
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'pubgcerr',
        plugins: [JSON.parse(bridge('x', BRIDGES[2], '10.89.5.0/24')).plugins[0], {type: 'portmap', capabilities: {portMappings: true}}],
      }),
    );
    try {
      const c = await containers.run({suffix: 'err'});
      const a = (await attach(deps, {containers: [c.id], net: NET})).done[0] as Attachment;
      const addr = a.addresses[0].split('/')[0];
      await docker('rm', '-f', c.name);
      const r = await gc(deps);
      // The reference portmap (1.1.1) predates the GC verb: it answers with an error.
      assert.deepEqual(
        r.failures.map((f) => f.message),
        ['GC of network pubgcerr failed in plugin type="portmap": missing containerID'],
      );
      assert.deepEqual(r.gc.map((g) => `${g.network} ${g.plugins.join('+')}`).sort(), [`${NET} bridge`, 'pubgcerr bridge+portmap']);
      assert.ok(!store().includes(addr), 'the removed container was still freed');
      assert.ok(r.freed.some((i) => i.containerId === c.id && i.kind === 'attachment'));
    } finally {
      rmSync(`${tmp}/conf/pubgcerr.conflist`);
    }
  });

  it("a removed container's published ports: its DNAT goes with the DEL (cached portMappings), its ACCEPT with it; an ACCEPT of no attachment goes too", async () => {
    const net = 'pubgcpm';
    writeFileSync(
      `${tmp}/conf/${net}.conflist`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: net,
        plugins: [JSON.parse(bridge('x', BRIDGES[3], '10.89.7.0/24')).plugins[0], {type: 'portmap', capabilities: {portMappings: true}}],
      }),
    );
    const natBefore = nat();
    const c = await containers.run({suffix: 'pm'});
    const a = (await attach(deps, {containers: [c.id], net, publish: ['18090:80']})).done[0] as Attachment;
    assert.deepEqual(a.ports, [{hostPort: 18090, containerPort: 80, protocol: 'tcp'}]);
    const dnat = nat().filter((l) => l.includes('CNI-DN-'));
    assert.ok(
      dnat.some((l) => l.includes('--dport 18090 -j DNAT')),
      dnat.join('\n'),
    );
    // An ACCEPT whose attachment is unknown to us (its state lost).
    const orphan = `${net}-${'e'.repeat(64)}-eth0`;
    await openPublished(
      deps,
      publishRules({
        key: orphan,
        bridge: BRIDGES[3],
        addresses: ['10.89.7.99'],
        mappings: [{hostPort: 18091, containerPort: 80, protocol: 'tcp'}],
      }),
    );
    const ours = [...(await publishedComments(deps.runner)).keys()];
    assert.ok(ours.includes(publishComment(`${net}-${c.id}-eth0`)) && ours.includes(publishComment(orphan)), ours.join('\n'));
    await docker('rm', '-f', c.name);
    const dry = await gc(deps, {dryRun: true});
    assert.deepEqual(
      dry.freed
        .filter((i) => i.kind === 'port')
        .map((i) => `${i.containerId === c.id ? 'gone' : i.containerId.slice(0, 4)} ${i.reason}`)
        .sort(),
      ['eeee no attachment', 'gone container removed'],
    );
    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      [...(await publishedComments(deps.runner)).keys()].filter((k) => k.includes(net)),
      [],
      'both ACCEPTs are gone',
    );
    assert.deepEqual(
      added(natBefore, nat()).filter((l) => !PORTMAP_SHARED.includes(l)),
      [],
      'the DNAT chain and rules are gone',
    );
    rmSync(`${tmp}/conf/${net}.conflist`);
  });
});
