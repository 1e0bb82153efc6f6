import {strict as assert} from 'node:assert';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {makeDeps, type Deps} from '../../src/deps.js';
import {attach} from '../../src/runtime/attach.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import {detach} from '../../src/runtime/detach.js';
import {gc} from '../../src/runtime/gc.js';
import {masqChainName} from '../../src/net/iptables-masq.js';
import {removeForward} from '../../src/net/iptables-forward.js';
import {assertDockerTestBed, docker, TestContainers} from '../helpers/docker.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';

/**
 * gc on a real kernel and Docker: a removed container's address, masquerade
 * chain, cache and meta files are freed (and the address can be taken again);
 * --dry-run changes nothing; live containers and plain namespaces that still
 * exist are untouched.
 */
const NET = 'tgc1';
const BR = 'tgcbr0';
const NFT_NET = 'tgcnft1';
const NFT_BR = 'tgcbr1';
const NS = 'tgc-ns1';
const IDX_NET = 'tgcidx';
const IDX_BR = 'tgcbr2';
const IDX_NS = 'tgc-ns2';

describe('gc (integration)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('tgc-');
  let tmp: string;
  let deps: Deps;
  const storeDir = (): string => `${tmp}/networks/${NET}`;
  const reserved = (): string[] => (existsSync(storeDir()) ? readdirSync(storeDir()).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)) : []);
  const cacheFiles = (): string[] => (existsSync(`${tmp}/cache/results`) ? readdirSync(`${tmp}/cache/results`) : []);
  const natHas = (s: string): boolean => sh('iptables-save', '-t', 'nat').includes(s);
  const lockOf = (id: string): string => `${tmp}/state/locks/${id}.lock`;
  /** Handles of nftables masquerade rules whose comment contains `s`. */
  const nftMasqHandles = (s: string): number[] => {
    let text: string;
    try {
      text = sh('nft', '-j', 'list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks');
    } catch {
      return [];
    }
    const j = JSON.parse(text) as {nftables: {rule?: {handle: number; comment?: string}}[]};
    return j.nftables.filter((o) => o.rule?.comment?.includes(s)).map((o) => o.rule!.handle);
  };

  before(async () => {
    await assertDockerTestBed();
    quiet('ip', 'netns', 'del', NS);
    quiet('ip', 'link', 'del', BR);
    tmp = mkdtempSync('/tmp/tgc-');
    mkdirSync(`${tmp}/conf`);
    writeFileSync(
      `${tmp}/conf/${NET}.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.215.1.0/24'},
      }),
    );
    writeFileSync(
      `${tmp}/conf/${NFT_NET}.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NFT_NET,
        type: 'bridge',
        bridge: NFT_BR,
        isGateway: true,
        ipMasq: true,
        ipMasqBackend: 'nftables',
        ipam: {type: 'host-local', subnet: '10.215.2.0/24'},
      }),
    );
    deps = makeDeps({
      confDir: `${tmp}/conf`,
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/dhcp.sock`},
    });
  });
  after(async () => {
    await detach(deps, {containers: [], all: true}).catch(() => undefined);
    await containers.removeAll();
    quiet('ip', 'netns', 'del', NS);
    quiet('ip', 'link', 'del', BR);
    quiet('ip', 'link', 'del', NFT_BR);
    quiet('ip', 'netns', 'del', IDX_NS);
    quiet('ip', 'link', 'del', IDX_BR);
    await removeForward(deps.runner, IDX_BR).catch(() => undefined);
    await removeForward(deps.runner, BR).catch(() => undefined);
    await removeForward(deps.runner, NFT_BR).catch(() => undefined);
    for (const h of nftMasqHandles(`net: ${NFT_NET},`))
      quiet('nft', 'delete', 'rule', 'inet', 'cni_plugins_masquerade', 'masq_checks', 'handle', String(h));
    // The table stays after DEL (as with the reference): drop it when no masquerade rule is left in it.
    if (nftMasqHandles('').length === 0) quiet('nft', 'delete', 'table', 'inet', 'cni_plugins_masquerade');
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('frees everything of a removed container and nothing of a live one; --dry-run changes nothing', async () => {
    const dead = await containers.run({suffix: 'dead'});
    const live = await containers.run({suffix: 'live'});
    const a = (await attach(deps, {containers: [dead.id], net: NET})).done[0] as Attachment;
    const b = (await attach(deps, {containers: [live.id], net: NET})).done[0] as Attachment;
    const addrA = a.addresses[0].split('/')[0];
    const chainA = masqChainName(NET, dead.id);
    assert.ok(natHas(chainA), 'masquerade chain of the attachment exists');
    await docker('rm', '-f', dead.name);

    const before = {
      reserved: reserved(),
      cache: cacheFiles(),
      nat: sh('iptables-save', '-t', 'nat')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
    };
    const plan = await gc(deps, {dryRun: true});
    assert.equal(plan.dryRun, true);
    const kinds = plan.freed
      .filter((i) => i.containerId === dead.id)
      .map((i) => `${i.kind} ${i.detail}`)
      .sort();
    assert.deepEqual(kinds, [`address ${addrA}`, `attachment ${NET}/eth0`, `chain ${chainA}`]);
    assert.ok(!plan.freed.some((i) => i.containerId === live.id), 'a live container is never in the plan');
    assert.deepEqual(reserved(), before.reserved, 'dry-run left the store alone');
    assert.deepEqual(cacheFiles(), before.cache, 'dry-run left the cache alone');
    assert.equal(
      sh('iptables-save', '-t', 'nat')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
      before.nat,
      'dry-run left iptables alone',
    );

    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.ok(!reserved().includes(addrA), 'address released');
    assert.ok(reserved().includes(b.addresses[0].split('/')[0]), 'live address kept');
    assert.ok(!cacheFiles().some((f) => f.includes(dead.id)), 'cache file removed');
    assert.ok(
      cacheFiles().some((f) => f.includes(live.id)),
      'live cache kept',
    );
    assert.ok(!natHas(chainA) && !natHas(`id: \\"${dead.id}\\"`), 'chain and rules removed');
    assert.ok(natHas(masqChainName(NET, live.id)), 'live chain kept');
    assert.ok(!readdirSync(`${tmp}/state/attachments`).some((f) => f.includes(dead.id)), 'meta removed');
    assert.deepEqual((await gc(deps, {dryRun: true})).freed, [], 'nothing left to free');

    const again = await containers.run({suffix: 'new'});
    const c = (await attach(deps, {containers: [again.id], net: NET, ip: addrA})).done[0] as Attachment;
    assert.equal(c.addresses[0].split('/')[0], addrA, 'a new container gets the freed address');
  });

  it('keeps no lock file per container (one shared container lock); gc removes the ones older versions left', async () => {
    const c = await containers.run({suffix: 'lk'});
    await attach(deps, {containers: [c.id], net: NET});
    assert.ok(existsSync(`${tmp}/state/containers.lock`), 'attach took the shared container lock');
    assert.ok(!existsSync(lockOf(c.id)), 'attached: no per-container lock file');
    assert.equal((await detach(deps, {containers: [c.id], net: NET})).failures.length, 0);
    const failed = await attach(deps, {containers: [c.id], net: NET, ip: '10.99.99.5'});
    assert.equal(failed.failures.length, 1, 'an address outside the subnet fails');
    assert.ok(!existsSync(lockOf(c.id)), 'no per-container lock file after detach or a failed attach');
    // A lock file an older version left behind.
    mkdirSync(path.dirname(lockOf(c.id)), {recursive: true});
    const stale = 'e'.repeat(64);
    writeFileSync(lockOf(stale), '');
    const dry = await gc(deps, {dryRun: true});
    assert.deepEqual(
      dry.freed.filter((i) => i.kind === 'lock').map((i) => i.containerId),
      [stale],
    );
    assert.ok(existsSync(lockOf(stale)), 'dry-run keeps it');
    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.ok(!existsSync(lockOf(stale)), 'gc removes it');
  });

  it('indexes a host-local store in the state dir, not in the store; gc removes the index once the store is gone', async () => {
    const dataDir = `${tmp}/idxdata`;
    writeFileSync(
      `${tmp}/conf/${IDX_NET}.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: IDX_NET,
        type: 'bridge',
        bridge: IDX_BR,
        ipam: {type: 'host-local', subnet: '10.215.3.0/24', dataDir},
      }),
    );
    sh('ip', 'netns', 'add', IDX_NS);
    const target = {containers: [], netns: [`/var/run/netns/${IDX_NS}`], net: IDX_NET};
    const a = (await attach(deps, target)).done[0] as Attachment;
    const ip = a.addresses[0].split('/')[0];
    assert.deepEqual(readdirSync(`${dataDir}/${IDX_NET}`).sort(), [ip, 'last_reserved_ip.0', 'lock'], "the store is the reference's");
    const indexes = readdirSync(`${tmp}/state/ipam-index`).filter((n) =>
      readFileSync(`${tmp}/state/ipam-index/${n}`, 'utf8').includes(dataDir),
    );
    assert.equal(indexes.length, 1, 'one index describes the store');
    const idx = JSON.parse(readFileSync(`${tmp}/state/ipam-index/${indexes[0]}`, 'utf8')) as {dir: string; files: [string, string][]};
    assert.equal(idx.dir, `${dataDir}/${IDX_NET}`);
    assert.deepEqual(idx.files, [[ip, `${IDX_NS}\r\n${a.ifname}`]]);
    assert.equal((await detach(deps, target)).failures.length, 0);
    sh('ip', 'netns', 'del', IDX_NS);
    assert.deepEqual(
      (await gc(deps, {dryRun: true})).freed.filter((i) => i.kind === 'index'),
      [],
      'the store is still there',
    );
    rmSync(dataDir, {recursive: true});
    const dry = (await gc(deps, {dryRun: true})).freed.filter((i) => i.kind === 'index');
    assert.deepEqual(
      dry.map((i) => i.detail),
      [`ipam-index/${indexes[0]}`],
    );
    assert.ok(existsSync(`${tmp}/state/ipam-index/${indexes[0]}`), 'dry-run keeps it');
    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      r.freed.filter((i) => i.kind === 'index'),
      dry,
    );
    assert.ok(!existsSync(`${tmp}/state/ipam-index/${indexes[0]}`), 'gc removes it');
  });

  it('frees nftables masquerade rules whose attachment left no cache behind', async () => {
    const c = await containers.run({suffix: 'nft'});
    const a = (await attach(deps, {containers: [c.id], net: NFT_NET})).done[0] as Attachment;
    assert.equal(nftMasqHandles(`id: ${c.id}`).length, 1, 'the attachment has its nftables masquerade rule');
    // Its cache and record lost (another tool, a crash), then the container removed.
    for (const d of [`${tmp}/cache/results`, `${tmp}/state/attachments`])
      for (const f of readdirSync(d)) if (f.includes(c.id)) rmSync(`${d}/${f}`);
    await docker('rm', '-f', c.name);
    const dry = await gc(deps, {dryRun: true});
    const mine = dry.freed
      .filter((i) => i.containerId === c.id)
      .map((i) => `${i.kind} ${i.detail}`)
      .sort();
    assert.deepEqual(mine, [`address ${a.addresses[0].split('/')[0]}`, 'rule nftables masquerade (1 rule)']);
    assert.equal(nftMasqHandles(`id: ${c.id}`).length, 1, 'dry-run keeps the rule');
    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(nftMasqHandles(`id: ${c.id}`), [], 'gc removed the rule');
  });

  it('frees a plain netns attachment whose namespace is gone, and a leftover store file of an id Docker does not know', async () => {
    sh('ip', 'netns', 'add', NS);
    const n = (await attach(deps, {containers: [], netns: [`/var/run/netns/${NS}`], net: NET})).done[0] as Attachment;
    sh('ip', 'netns', 'del', NS);
    const orphanId = 'f'.repeat(64);
    writeFileSync(`${storeDir()}/10.215.1.250`, `${orphanId}\r\neth0`);
    const foreign = 'not-a-docker-id';
    writeFileSync(`${storeDir()}/10.215.1.251`, `${foreign}\r\neth0`);
    const r = await gc(deps);
    assert.deepEqual(r.failures, []);
    const freed = r.freed.map((i) => `${i.kind} ${i.detail}`);
    assert.ok(freed.includes(`address ${n.addresses[0].split('/')[0]}`), freed.join(', '));
    assert.ok(freed.includes('address 10.215.1.250'), freed.join(', '));
    assert.ok(!reserved().includes('10.215.1.250'));
    assert.ok(reserved().includes('10.215.1.251'), 'an id that is neither ours nor Docker-shaped is left alone');
    assert.ok(!natHas(`id: \\"${NS}\\"`), 'netns masquerade rules removed');
    rmSync(`${storeDir()}/10.215.1.251`);
  });
});
