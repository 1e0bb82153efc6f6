import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {PluginContext} from '../../src/exec/plugin.js';
import type {CmdArgs, Result} from '../../src/cni/types.js';
import {resultToJson} from '../../src/cni/results.js';
import {makeDeps} from '../../src/deps.js';
import {plugin} from '../../src/plugins/macvlan.js';

/**
 * macvlan on real namespaces. The master is a veth pair made here (this kernel
 * has no `dummy`). Reserved names: netns `tmv-*`, host links `tmv*`,
 * networks `tmv*`, subnets in 10.213.0.0/16. The reference plugin in
 * /usr/lib/cni is the comparator.
 */
const MASTER = 'tmvm1';
const PEER = 'tmvm1p';
const NSES = ['tmv-a', 'tmv-b', 'tmv-r'];
const nsPath = (n: string): string => `/var/run/netns/${n}`;
const REF = '/usr/lib/cni';

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

function quiet(file: string, args: string[]): void {
  spawnSync(file, args, {stdio: 'ignore'});
}

function ping(fromNs: string, ip: string): boolean {
  return spawnSync('nsenter', [`--net=${nsPath(fromNs)}`, 'busybox', 'ping', '-c', '1', '-W', '2', ip], {stdio: 'ignore'}).status === 0;
}

function links(ns: string): {
  ifname: string;
  mtu: number;
  txqlen?: number;
  address: string;
  flags: string[];
  linkinfo?: {info_kind?: string; info_data?: {mode?: string}};
}[] {
  return JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show']));
}

function sysctl(ns: string, key: string): string {
  return sh('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${key}`]).trim();
}

describe('integration: macvlan plugin', function () {
  this.timeout(60_000);
  let dataDir: string;
  let ctx: PluginContext;

  const conf = (extra: Record<string, unknown>, subnet = '10.213.1.0/24', cniVersion = '1.0.0'): Record<string, unknown> => ({
    cniVersion,
    name: 'tmvnet',
    type: 'macvlan',
    master: MASTER,
    ipam: {type: 'host-local', subnet, dataDir},
    ...extra,
  });
  const args = (ns: string, c: Record<string, unknown>, id = `tmv-${ns}`, ifname = 'net1'): CmdArgs => ({
    containerId: id,
    netns: nsPath(ns),
    ifname,
    args: '',
    path: [REF],
    stdin: JSON.stringify(c),
  });
  const addr = (r: Result): string => r.ips![0].address.split('/')[0];

  before(function () {
    assert.equal(process.getuid?.(), 0, 'integration tests must run as root');
  });

  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'tmv-ipam-'));
    ctx = makeDeps({env: {...process.env}});
    quiet('ip', ['link', 'del', MASTER]);
    sh('ip', ['link', 'add', MASTER, 'type', 'veth', 'peer', 'name', PEER]);
    sh('ip', ['link', 'set', MASTER, 'up']);
    sh('ip', ['link', 'set', PEER, 'up']);
    for (const n of NSES) {
      quiet('ip', ['netns', 'del', n]);
      sh('ip', ['netns', 'add', n]);
    }
  });

  afterEach(function () {
    for (const n of NSES) quiet('ip', ['netns', 'del', n]);
    quiet('ip', ['link', 'del', MASTER]);
    rmSync(dataDir, {recursive: true, force: true});
  });

  it('mode bridge: two namespaces on one master ping each other; DEL removes link and lease', async () => {
    const c = conf({mode: 'bridge'});
    const ra = await plugin.add(ctx, args('tmv-a', c));
    const rb = await plugin.add(ctx, args('tmv-b', c));
    assert.deepEqual(
      ra.interfaces?.map((i) => [i.name, i.sandbox]),
      [['net1', nsPath('tmv-a')]],
    );
    assert.equal(ra.ips?.[0].interface, 0);
    const la = links('tmv-a').find((l) => l.ifname === 'net1');
    assert.equal(la?.linkinfo?.info_kind, 'macvlan');
    assert.equal(la?.linkinfo?.info_data?.mode, 'bridge');
    assert.equal(la?.address, ra.interfaces?.[0].mac);
    assert.equal(sysctl('tmv-a', 'net/ipv4/conf/net1/arp_notify'), '1');
    assert.ok(ping('tmv-a', addr(rb)), `tmv-a cannot ping ${addr(rb)} in bridge mode`);
    assert.ok(ping('tmv-b', addr(ra)), `tmv-b cannot ping ${addr(ra)} in bridge mode`);

    await plugin.check(ctx, args('tmv-a', {...c, prevResult: resultToJson(ra, '1.0.0')}));
    await plugin.del(ctx, args('tmv-a', c));
    await plugin.del(ctx, args('tmv-a', c)); // idempotent
    assert.equal(
      links('tmv-a').some((l) => l.ifname === 'net1'),
      false,
    );
    assert.equal(existsSync(join(dataDir, 'tmvnet', addr(ra))), false);
    assert.equal(existsSync(join(dataDir, 'tmvnet', addr(rb))), true);
  });

  it('mode private: the two namespaces cannot reach each other', async () => {
    const c = conf({mode: 'private'}, '10.213.2.0/24');
    const ra = await plugin.add(ctx, args('tmv-a', c));
    const rb = await plugin.add(ctx, args('tmv-b', c));
    assert.equal(links('tmv-a').find((l) => l.ifname === 'net1')?.linkinfo?.info_data?.mode, 'private');
    assert.equal(ping('tmv-a', addr(rb)), false, 'private mode must isolate');
    assert.equal(ping('tmv-b', addr(ra)), false, 'private mode must isolate');
  });

  it('matches the reference plugin: link kind, mode, mtu, sysctls and result shape', async () => {
    const c = conf({mode: 'vepa', mtu: 1400}, '10.213.3.0/24', '0.4.0');
    const ours = await plugin.add(ctx, args('tmv-a', c));
    const env = {
      ...process.env,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'tmv-ref',
      CNI_NETNS: nsPath('tmv-r'),
      CNI_IFNAME: 'net1',
      CNI_PATH: REF,
    };
    const ref = JSON.parse(execFileSync(`${REF}/macvlan`, [], {env, input: JSON.stringify(c), encoding: 'utf8'}));
    const pick = (ns: string): unknown => {
      const l = links(ns).find((x) => x.ifname === 'net1')!;
      const sys = ['net/ipv4/conf/net1/arp_notify', 'net/ipv6/conf/net1/ndisc_notify', 'net/ipv6/conf/net1/accept_dad'].map((k) =>
        sysctl(ns, k),
      );
      const addrs: {addr_info: {family: string; prefixlen: number; broadcast?: string}[]}[] = JSON.parse(
        sh('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', 'net1']),
      );
      const v4 = addrs[0].addr_info.filter((a) => a.family === 'inet').map((a) => ({prefixlen: a.prefixlen, brd: a.broadcast}));
      return {
        kind: l.linkinfo?.info_kind,
        mode: l.linkinfo?.info_data?.mode,
        mtu: l.mtu,
        txqlen: l.txqlen ?? 0,
        up: l.flags.includes('UP'),
        sys,
        v4,
      };
    };
    assert.deepEqual(pick('tmv-a'), pick('tmv-r'));
    const mine = JSON.parse(JSON.stringify(resultToJson(ours, '0.4.0'))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mine).sort(), Object.keys(ref).sort());
    assert.equal((mine.ips as {interface: number}[])[0].interface, ref.ips[0].interface);
    assert.deepEqual(mine.routes, ref.routes);
    execFileSync(`${REF}/macvlan`, [], {env: {...env, CNI_COMMAND: 'DEL'}, input: JSON.stringify(c)});
  });

  it('L2 only (no ipam) with runtimeConfig.mac over CNI_ARGS MAC; CHECK catches a mode change', async () => {
    const c = {cniVersion: '0.4.0', name: 'tmvl2', type: 'macvlan', master: MASTER, runtimeConfig: {mac: 'c2:11:22:33:44:55'}};
    const a = {...args('tmv-a', c), args: 'IgnoreUnknown=1;MAC=c2:00:00:00:00:01'};
    const r = await plugin.add(ctx, a);
    assert.equal(r.interfaces?.[0].mac, 'c2:11:22:33:44:55');
    assert.equal(r.ips, undefined);
    const l = links('tmv-a').find((x) => x.ifname === 'net1');
    assert.equal(l?.address, 'c2:11:22:33:44:55');
    assert.ok(l?.flags.includes('UP'));
    const prevResult = resultToJson(r, '0.4.0');
    await plugin.check(ctx, {...a, stdin: JSON.stringify({...c, prevResult})});
    await assert.rejects(
      plugin.check(ctx, {...a, stdin: JSON.stringify({...c, mode: 'private', prevResult})}),
      /^CniError: Container macvlan mode bridge does not match expected value: private$/,
    );
  });

  it('clear errors: missing master, mtu above the master, unknown mode, taken ifname (no temp link left)', async () => {
    await assert.rejects(plugin.add(ctx, args('tmv-a', conf({master: 'tmvgone'}))), /failed to lookup master "tmvgone": Link not found/);
    await assert.rejects(
      plugin.add(ctx, args('tmv-a', conf({mtu: 9000}))),
      /^CniError: invalid MTU 9000, must be \[0, master MTU\(1500\)\]$/,
    );
    await assert.rejects(plugin.add(ctx, args('tmv-a', conf({mode: 'foo'}))), /^CniError: unknown macvlan mode: "foo"$/);
    sh('ip', ['-n', 'tmv-a', 'link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'tmvx']);
    await assert.rejects(plugin.add(ctx, args('tmv-a', conf({}))), /^CniError: failed to rename macvlan to "net1": file exists$/);
    assert.deepEqual(
      links('tmv-a')
        .map((l) => l.ifname)
        .sort(),
      ['lo', 'net1', 'tmvx'],
    );
    assert.deepEqual(
      readdirSync(dataDir)
        .flatMap((d) => readdirSync(join(dataDir, d)))
        .filter((f) => /^10\./.test(f)),
      [],
    );
  });

  it('linkInContainer: the master is looked up and the macvlan created inside the container namespace', async () => {
    sh('ip', ['-n', 'tmv-a', 'link', 'add', 'tmvc0', 'type', 'veth', 'peer', 'name', 'tmvc0p']);
    sh('ip', ['-n', 'tmv-a', 'link', 'set', 'tmvc0', 'up']);
    const c = conf({master: 'tmvc0', linkInContainer: true}, '10.213.5.0/24');
    const r = await plugin.add(ctx, args('tmv-a', c));
    const l = links('tmv-a').find((x) => x.ifname === 'net1');
    assert.equal(l?.linkinfo?.info_kind, 'macvlan');
    assert.equal(r.interfaces?.[0].mac, l?.address);
    await assert.rejects(
      plugin.add(ctx, args('tmv-b', conf({master: 'tmvc0'}, '10.213.5.0/24'))),
      /failed to lookup master "tmvc0": Link not found/,
    );
    await plugin.del(ctx, args('tmv-a', c));
    assert.equal(
      links('tmv-a').some((x) => x.ifname === 'net1'),
      false,
    );
  });

  it('DEL succeeds and releases the IP after the master is gone (the reference fails here)', async () => {
    const c = conf({}, '10.213.4.0/24');
    const r = await plugin.add(ctx, args('tmv-a', c));
    assert.equal(existsSync(join(dataDir, 'tmvnet', addr(r))), true);
    sh('ip', ['link', 'del', MASTER]);
    await plugin.del(ctx, args('tmv-a', c));
    assert.equal(existsSync(join(dataDir, 'tmvnet', addr(r))), false);
    // DEL after the namespace is gone is success too.
    sh('ip', ['netns', 'del', 'tmv-a']);
    await plugin.del(ctx, args('tmv-a', c));
  });
});
