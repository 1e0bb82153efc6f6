import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {rmSync} from 'node:fs';
import {makeBridgePlugin, type IpamOps} from '../../src/plugins/bridge.js';
import {execaRunner} from '../../src/exec/runner.js';
import {defaultPaths, type PluginContext} from '../../src/exec/plugin.js';
import {pluginLoader} from '../../src/plugins/registry.js';
import type {CmdArgs, Result} from '../../src/cni/types.js';
import {REF, refExec} from '../helpers/reference.js';
import {noEtcd} from '../helpers/fake-etcd.js';

/**
 * Our bridge against the reference /usr/lib/cni/bridge on real namespaces.
 * IPAM is the reference host-local executed from /usr/lib/cni, so these tests
 * do not depend on our host-local. Reserved: netns tbr-*, bridges tbrbr*,
 * networks tbr*, 10.212.0.0/16 and fd00:212::/64.
 */
const runner = execaRunner();
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, {encoding: 'utf8'});
const quiet = (cmd: string, args: string[]): void => void spawnSync(cmd, args, {stdio: 'ignore'});

const refIpam: IpamOps = {
  async add(_c, type, a) {
    const r = refExec(type, 'ADD', a);
    if (r.rc !== 0) throw new Error(r.out);
    type Old = {ip: string; gateway?: string; routes?: {dst: string; gw?: string}[]};
    const j = JSON.parse(r.out) as Result & {ip4?: Old; ip6?: Old};
    if (!j.ip4 && !j.ip6) return {...j, ips: (j.ips ?? []).map((i) => ({address: i.address, gateway: i.gateway}))};
    const olds = [j.ip4, j.ip6].filter((x): x is Old => Boolean(x));
    return {
      cniVersion: j.cniVersion,
      ips: olds.map((o) => ({address: o.ip, gateway: o.gateway})),
      routes: olds.flatMap((o) => o.routes ?? []),
    };
  },
  async del(_c, type, a) {
    const r = refExec(type, 'DEL', a);
    if (r.rc !== 0) throw new Error(r.out);
  },
  async check(_c, type, a) {
    const r = refExec(type, 'CHECK', a);
    if (r.rc !== 0) throw new Error(r.out);
  },
};

const ours = makeBridgePlugin({ipam: refIpam});
const ctx: PluginContext = {runner, log: {debug() {}, warn() {}}, paths: defaultPaths, env: {}, plugins: pluginLoader, etcdClient: noEtcd};

interface Net {
  name: string;
  bridge: string;
  conf: Record<string, unknown>;
}

const mkArgs = (n: Net, ns: string, cid: string, ifname = 'eth0', extra: Record<string, unknown> = {}): CmdArgs => ({
  containerId: cid,
  netns: `/var/run/netns/${ns}`,
  ifname,
  args: '',
  path: [REF],
  stdin: JSON.stringify({...n.conf, ...extra}),
});

function refAdd(a: CmdArgs): Result {
  const r = refExec('bridge', 'ADD', a);
  assert.equal(r.rc, 0, r.out);
  return JSON.parse(r.out) as Result;
}

/** Normalised state of everything one attachment can touch. */
function snapshot(n: Net, ns: string): Record<string, unknown> {
  const j = (cmd: string, args: string[]): unknown[] => {
    const r = spawnSync(cmd, args, {encoding: 'utf8'});
    return r.status === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as unknown[]) : [];
  };
  type L = {
    ifname: string;
    flags: string[];
    mtu: number;
    txqlen?: number;
    master?: string;
    promiscuity?: number;
    linkinfo?: {info_kind?: string};
    addr_info?: {local: string; prefixlen: number; broadcast?: string; scope: string}[];
  };
  const hostLinks = (j('ip', ['-j', '-d', 'addr', 'show']) as L[]).filter((l) => l.ifname === n.bridge || l.master === n.bridge);
  const sysctl = (k: string, netns?: string): string => {
    const r = spawnSync(netns ? 'ip' : 'sysctl', netns ? ['netns', 'exec', netns, 'sysctl', '-n', k] : ['-n', k], {encoding: 'utf8'});
    return r.status === 0 ? r.stdout.trim() : 'absent';
  };
  const port = (name: string): unknown =>
    (j('bridge', ['-j', '-d', 'link', 'show', 'dev', name]) as {hairpin?: boolean; isolated?: boolean}[]).map((p) => ({
      hairpin: p.hairpin,
      isolated: p.isolated,
    }));
  const link = (l: L, netns?: string): unknown => ({
    name: l.master === n.bridge ? '<veth>' : l.ifname,
    kind: l.linkinfo?.info_kind,
    flags: l.flags.filter((f) => !['NO-CARRIER', 'M-DOWN'].includes(f)),
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    master: l.master,
    promisc: l.flags.includes('PROMISC'),
    addrs: (l.addr_info ?? [])
      .filter((a) => a.scope !== 'link')
      .map((a) => `${a.local}/${a.prefixlen} brd ${a.broadcast ?? '-'}`)
      .sort(),
    accept_ra: sysctl(`net/ipv6/conf/${l.ifname}/accept_ra`, netns),
    ...(l.master === n.bridge ? {port: port(l.ifname)} : {}),
    ...(netns
      ? {
          arp_notify: sysctl(`net/ipv4/conf/${l.ifname}/arp_notify`, netns),
          accept_dad: sysctl(`net/ipv6/conf/${l.ifname}/accept_dad`, netns),
          disable_ipv6: sysctl(`net/ipv6/conf/${l.ifname}/disable_ipv6`, netns),
        }
      : {}),
  });
  const nsExists = spawnSync('ip', ['netns', 'pids', ns]).status === 0;
  const contLinks = nsExists ? (j('ip', ['-n', ns, '-j', '-d', 'addr', 'show']) as L[]) : [];
  type R = {dst: string; gateway?: string; dev?: string; protocol?: string; scope?: string; prefsrc?: string; metric?: number};
  const routes = (args: string[]): string[] =>
    (j('ip', args) as R[])
      .filter((r) => !r.dst.startsWith('fe80') && !r.dst.startsWith('ff00'))
      .map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev} ${r.protocol ?? ''} ${r.scope ?? ''} ${r.prefsrc ?? ''} ${r.metric ?? ''}`)
      .sort();
  const rules = (save: string): string[] => {
    const text = sh(save, ['-t', 'nat']);
    const lines = text.split('\n').filter((l) => l.includes(`name: \\"${n.name}\\"`));
    const chains = new Set(lines.map((l) => /-j (CNI-\w+)/.exec(l)?.[1]).filter(Boolean));
    return text.split('\n').filter((l) => lines.includes(l) || [...chains].some((c) => l.startsWith(`:${c} `) || l.startsWith(`-A ${c} `)));
  };
  return {
    host: hostLinks.map((l) => link(l)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    hostRoutes: [...routes(['-j', '-4', 'route', 'show', 'dev', n.bridge]), ...routes(['-j', '-6', 'route', 'show', 'dev', n.bridge])],
    netns: nsExists ? contLinks.map((l) => link(l, ns)) : 'absent',
    nsRoutes: nsExists ? [...routes(['-n', ns, '-j', '-4', 'route']), ...routes(['-n', ns, '-j', '-6', 'route'])] : [],
    iptables: rules('iptables-save'),
    ip6tables: rules('ip6tables-save'),
    forward: [sysctl('net/ipv4/ip_forward'), sysctl('net/ipv6/conf/all/forwarding')],
  };
}

function normResult(r: Result): unknown {
  const {dns, ...rest} = r as Result & {dns?: object};
  return {
    ...rest,
    dns: dns && Object.keys(dns).length > 0 ? dns : undefined,
    interfaces: r.interfaces?.map((i) => ({...i, name: i.name.startsWith('veth') ? '<veth>' : i.name, mac: i.mac ? '<mac>' : undefined})),
  };
}

function cleanup(n: Net, namespaces: string[]): void {
  for (const ns of namespaces) quiet('ip', ['netns', 'del', ns]);
  quiet('ip', ['link', 'del', n.bridge]);
  for (const save of ['iptables', 'ip6tables']) {
    const text = sh(`${save}-save`, ['-t', 'nat']);
    const mine = text.split('\n').filter((l) => l.includes(`name: \\"${n.name}\\"`) && l.startsWith('-A '));
    const chains = new Set(mine.map((l) => /-j (CNI-\w+)/.exec(l)?.[1]).filter(Boolean) as string[]);
    const input = [
      '*nat',
      ...mine.filter((l) => l.startsWith('-A POSTROUTING')).map((l) => `-D ${l.slice(3)}`),
      ...[...chains].flatMap((c) => [`-F ${c}`, `-X ${c}`]),
      'COMMIT',
      '',
    ].join('\n');
    if (mine.length) spawnSync(`${save}-restore`, ['--noflush', '-w'], {input});
  }
  rmSync(`/var/lib/cni/networks/${n.name}`, {recursive: true, force: true});
}

const storeFiles = (n: Net): string[] => {
  const r = spawnSync('ls', [`/var/lib/cni/networks/${n.name}`], {encoding: 'utf8'});
  return r.stdout.split('\n').filter((f) => f && f !== 'lock' && !f.startsWith('last_reserved'));
};

const nets: Net[] = [
  {
    name: 'tbrgw',
    bridge: 'tbrbr1',
    conf: {
      cniVersion: '1.0.0',
      name: 'tbrgw',
      type: 'bridge',
      bridge: 'tbrbr1',
      isGateway: true,
      ipMasq: true,
      ipam: {type: 'host-local', subnet: '10.212.1.0/24', routes: [{dst: '0.0.0.0/0'}]},
    },
  },
  {
    name: 'tbrds',
    bridge: 'tbrbr2',
    conf: {
      cniVersion: '1.0.0',
      name: 'tbrds',
      type: 'bridge',
      bridge: 'tbrbr2',
      isDefaultGateway: true,
      ipMasq: true,
      mtu: 1400,
      hairpinMode: true,
      dns: {nameservers: ['10.212.2.1'], search: ['tbr.local']},
      ipam: {
        type: 'host-local',
        ranges: [[{subnet: '10.212.2.0/24', rangeStart: '10.212.2.10', rangeEnd: '10.212.2.20'}], [{subnet: 'fd00:212::/64'}]],
      },
    },
  },
  {
    name: 'tbrl2',
    bridge: 'tbrbr3',
    conf: {cniVersion: '0.3.1', name: 'tbrl2', type: 'bridge', bridge: 'tbrbr3', promiscMode: true, ipam: {}},
  },
  {
    name: 'tbr020',
    bridge: 'tbrbr5',
    conf: {
      cniVersion: '0.2.0',
      name: 'tbr020',
      type: 'bridge',
      bridge: 'tbrbr5',
      isGateway: true,
      ipMasq: true,
      ipam: {
        type: 'host-local',
        subnet: '10.212.5.0/24',
        gateway: '10.212.5.99',
        routes: [{dst: '0.0.0.0/0'}, {dst: '10.212.99.0/24', gw: '10.212.5.1'}],
      },
    },
  },
];

describe('bridge plugin on real namespaces (integration)', function () {
  this.timeout(60_000);
  before(() => assert.equal(process.getuid?.(), 0, 'integration tests must run as root'));

  for (const n of nets) {
    describe(`network ${n.name}`, () => {
      const NS = `tbr-${n.name}`;
      beforeEach(() => cleanup(n, [NS]));
      afterEach(() => cleanup(n, [NS]));

      it('ADD leaves the same host and namespace state and result as the reference; DEL too', async () => {
        const a = mkArgs(n, NS, `ctr-${n.name}`);
        sh('ip', ['netns', 'add', NS]);
        const refRes = refAdd(a);
        const refState = snapshot(n, NS);
        assert.equal(refExec('bridge', 'DEL', mkArgs(n, NS, a.containerId, 'eth0', {prevResult: refRes})).rc, 0);
        const refDel = snapshot(n, NS);
        cleanup(n, [NS]);

        sh('ip', ['netns', 'add', NS]);
        const ourRes = await ours.add(ctx, a);
        const ourState = snapshot(n, NS);
        assert.deepEqual(ourState, refState);
        if (n.conf.cniVersion === '1.0.0' || n.conf.cniVersion === '0.3.1') assert.deepEqual(normResult(ourRes), normResult(refRes));
        await ours.del(ctx, mkArgs(n, NS, a.containerId, 'eth0', n.conf.cniVersion === '0.2.0' ? {} : {prevResult: refRes}));
        assert.deepEqual(snapshot(n, NS), refDel);
        await ours.del(ctx, a); // idempotent
      });
    });
  }

  describe('leaks the reference has and we do not', () => {
    const n = nets[1];
    const NS = 'tbr-leak';
    const NS2 = 'tbr-leak2';
    beforeEach(() => cleanup(n, [NS, NS2]));
    afterEach(() => cleanup(n, [NS, NS2]));

    for (const withPrev of [true, false]) {
      it(`DEL after ip netns del removes the masquerade chain and rules (${withPrev ? 'with' : 'without'} prevResult)`, async () => {
        sh('ip', ['netns', 'add', NS]);
        const a = mkArgs(n, NS, 'ctr-leak');
        const res = await ours.add(ctx, a);
        assert.equal(snapshot(n, NS).iptables instanceof Array && (snapshot(n, NS).iptables as string[]).length, 4);
        sh('ip', ['netns', 'del', NS]);
        await ours.del(ctx, withPrev ? mkArgs(n, NS, a.containerId, 'eth0', {prevResult: res}) : a);
        const s = snapshot(n, NS);
        assert.deepEqual([s.iptables, s.ip6tables], [[], []]);
        assert.ok(!sh('iptables-save', ['-t', 'nat']).includes(`name: \\"${n.name}\\"`));
        assert.deepEqual(storeFiles(n), []);
      });
    }

    it('two ifnames of one container: DEL of either keeps the other masqueraded', async () => {
      sh('ip', ['netns', 'add', NS]);
      const e0 = mkArgs(n, NS, 'ctr-two', 'eth0');
      const e1 = mkArgs(n, NS, 'ctr-two', 'eth1');
      const r0 = await ours.add(ctx, e0);
      await ours.add(ctx, e1);
      const before = snapshot(n, NS);
      await ours.del(ctx, e1);
      const after = snapshot(n, NS);
      const v4 = r0.ips!.find((i) => !i.address.includes(':'))!.address.split('/')[0];
      assert.ok(
        (after.iptables as string[]).some((l) => l.includes(`-s ${v4}/32`)),
        'eth0 jump survives',
      );
      assert.equal((after.iptables as string[]).length, (before.iptables as string[]).length - 1);
      await ours.del(ctx, e0);
      assert.deepEqual([snapshot(n, NS).iptables, snapshot(n, NS).ip6tables], [[], []]);
    });

    it('a forced failure mid-ADD (bridge has an address with another prefix) leaves host and namespace as they were', async () => {
      const g = nets[0];
      cleanup(g, [NS]);
      try {
        sh('ip', ['link', 'add', g.bridge, 'type', 'bridge']);
        sh('ip', ['addr', 'add', '10.212.1.1/16', 'dev', g.bridge]);
        sh('ip', ['link', 'set', g.bridge, 'up']);
        sh('ip', ['netns', 'add', NS]);
        // A bridge that had a port and lost it also loses its carrier: the
        // harness excuses LOWER_UP on such a bridge, and so do we.
        const state = (): string => JSON.stringify(snapshot(g, NS)).replace(/,"LOWER_UP"/g, '');
        const beforeState = state();
        await assert.rejects(
          ours.add(ctx, mkArgs(g, NS, 'ctr-fail')),
          /failed to set bridge addr: "tbrbr1" already has an IP address different from 10.212.1.1\/24/,
        );
        assert.equal(state(), beforeState);
        assert.deepEqual(storeFiles(g), []);
      } finally {
        cleanup(g, [NS]);
      }
    });
  });

  describe('cross DEL', () => {
    const n = nets[1];
    const NS = 'tbr-cross';
    beforeEach(() => cleanup(n, [NS]));
    afterEach(() => cleanup(n, [NS]));

    it('reference ADD + our DEL, and our ADD + reference DEL, both leave what the reference leaves itself', async () => {
      const a = mkArgs(n, NS, 'ctr-cross');
      sh('ip', ['netns', 'add', NS]);
      const refRes = refAdd(a);
      assert.equal(refExec('bridge', 'DEL', mkArgs(n, NS, a.containerId, 'eth0', {prevResult: refRes})).rc, 0);
      const refAfter = snapshot(n, NS);
      cleanup(n, [NS]);

      sh('ip', ['netns', 'add', NS]);
      const r1 = refAdd(a);
      await ours.del(ctx, mkArgs(n, NS, a.containerId, 'eth0', {prevResult: r1}));
      assert.deepEqual(snapshot(n, NS), refAfter);
      assert.deepEqual(storeFiles(n), []);
      cleanup(n, [NS]);

      sh('ip', ['netns', 'add', NS]);
      const r2 = await ours.add(ctx, a);
      const d = refExec('bridge', 'DEL', mkArgs(n, NS, a.containerId, 'eth0', {prevResult: r2}));
      assert.equal(d.rc, 0, d.out);
      assert.deepEqual(snapshot(n, NS), refAfter);
      assert.deepEqual(storeFiles(n), []);
    });

    it('CHECK passes on our ADD and fails once the default route is gone, like the reference', async () => {
      const a = mkArgs(n, NS, 'ctr-check');
      sh('ip', ['netns', 'add', NS]);
      const r = await ours.add(ctx, a);
      const withPrev = mkArgs(n, NS, a.containerId, 'eth0', {prevResult: r});
      await ours.check(ctx, withPrev);
      assert.equal(refExec('bridge', 'CHECK', withPrev).rc, 0);
      sh('ip', ['-n', NS, 'route', 'del', 'default']);
      await assert.rejects(ours.check(ctx, withPrev), /Expected Route/);
      assert.notEqual(refExec('bridge', 'CHECK', withPrev).rc, 0);
    });
  });
});
