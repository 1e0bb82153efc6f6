import assert from 'node:assert/strict';
import {parseConf, calcGateways} from '../../../src/plugins/bridge.js';
import {masqChainName, masqComment, parseNatSave, planFreshSetup, planSetup, planTeardown, setupIpMasq} from '../../../src/net/iptables.js';
import {vethOnExistingBridge, createVeth, enableForwarding, ensureAddr, ensureBridge, readAddrsAndDelLink} from '../../../src/net/bridge-ops.js';
import {makeBridgePlugin} from '../../../src/plugins/bridge.js';
import type {HostSysctl} from '../../../src/net/sysctl.js';
import type {PluginContext} from '../../../src/exec/plugin.js';
import {ipString, parseAddr, parseCidrAsWritten} from '../../../src/util/ip.js';
import {CommandError, type Runner} from '../../../src/exec/runner.js';
import type {IPConfig} from '../../../src/cni/types.js';

interface Expected {
  argv: string[];
  /** The exact stdin (ip -batch lines, iptables-restore input), when given. */
  input?: string;
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

/**
 * A runner that expects exactly these calls, in order, and fails on anything
 * else. `VETH` in an expectation stands for the random host veth name, which
 * must look like the reference's and stay the same throughout.
 */
function fakeRunner(expected: Expected[]): Runner & {done(): void} {
  let i = 0;
  let veth: string | undefined;
  const fill = (t: string): string => (veth ? t.replace(/VETH/g, veth) : t);
  return {
    async run(file, args, opts = {}) {
      const argv = [file, ...args];
      const input = opts.input === undefined ? undefined : String(opts.input);
      veth ??= /\b(veth[0-9a-f]{8})\b/.exec([...argv, input ?? ''].join(' '))?.[1];
      const e = expected[i++];
      assert.ok(e, `unexpected command: ${argv.join(' ')}`);
      assert.deepEqual(argv, e.argv.map(fill));
      if (e.input !== undefined) assert.equal(input, fill(e.input));
      if (e.exitCode) {
        if (opts.reject === false) return {stdout: e.stdout ?? '', stderr: e.stderr ?? '', exitCode: e.exitCode};
        throw new CommandError(argv, e.exitCode, e.stdout ?? '', e.stderr ?? '');
      }
      return {stdout: fill(e.stdout ?? ''), stderr: '', exitCode: 0};
    },
    done: () => assert.equal(i, expected.length, 'not every expected command ran'),
  };
}

describe('bridge parseConf', () => {
  const base = {cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge'};
  it('fills the reference defaults', () => {
    const c = parseConf(JSON.stringify(base), '');
    assert.equal(c.bridge, 'cni0');
    assert.deepEqual([c.isGateway, c.ipMasq, c.mtu, c.vlan, c.hairpinMode, c.promiscMode, c.ipamType], [false, false, 0, 0, false, false, '']);
  });
  it('matches keys case-insensitively and treats null as the default', () => {
    const c = parseConf(JSON.stringify({...base, IPMASQ: true, Bridge: 'tbrbr9', mtu: null}), '');
    assert.deepEqual([c.ipMasq, c.bridge, c.mtu], [true, 'tbrbr9', 0]);
  });
  it('isDefaultGateway implies isGateway', () => {
    assert.equal(parseConf(JSON.stringify({...base, isDefaultGateway: true}), '').isGateway, true);
  });
  it('rejects a type mismatch with the reference prefix', () => {
    assert.throws(() => parseConf(JSON.stringify({...base, mtu: '1500'}), ''), {message: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int'});
  });
  it('rejects an out-of-range vlan with the exact text', () => {
    assert.throws(() => parseConf(JSON.stringify({...base, vlan: 5000}), ''), {message: 'invalid VLAN ID 5000 (must be between 0 and 4094)'});
    assert.throws(() => parseConf(JSON.stringify({...base, vlan: -100}), ''), {message: 'invalid VLAN ID -100 (must be between 0 and 4094)'});
  });
  it('takes the MAC from CNI_ARGS < args.cni.mac < runtimeConfig.mac', () => {
    const m = (extra: object, a = ''): string => parseConf(JSON.stringify({...base, ...extra}), a).mac;
    assert.equal(m({}, 'IgnoreUnknown=1;MAC=02:00:00:00:00:01'), '02:00:00:00:00:01');
    assert.equal(m({args: {cni: {mac: '02:00:00:00:00:02'}}}, 'MAC=02:00:00:00:00:01'), '02:00:00:00:00:02');
    assert.equal(m({args: {cni: {mac: '02:00:00:00:00:02'}}, runtimeConfig: {mac: '02:00:00:00:00:03'}}), '02:00:00:00:00:03');
    assert.throws(() => m({}, 'IP=10.212.0.5'), {message: 'ARGS: unknown args ["IP=10.212.0.5"]'});
  });
});

describe('bridge calcGateways', () => {
  it('sets interface 2, computes gateways and appends one default route per family', () => {
    const c = parseConf(JSON.stringify({cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge', isDefaultGateway: true}), '');
    const ips: IPConfig[] = [{address: '10.212.0.5/24'}, {address: 'fd00:212::5/64'}, {address: '10.212.3.5/24', gateway: '10.212.3.99'}];
    const routes: {dst: string; gw?: string}[] = [];
    const {gws} = calcGateways(ips, routes, c);
    assert.deepEqual(ips.map((i) => [i.interface, i.gateway]), [[2, '10.212.0.1'], [2, 'fd00:212::1'], [2, '10.212.3.99']]);
    assert.deepEqual(routes, [{dst: '0.0.0.0/0', gw: '10.212.0.1'}, {dst: '::/0', gw: 'fd00:212::1'}]);
    assert.deepEqual(gws[4].map((g) => `${ipString(g.ip)}/${g.prefix}`), ['10.212.0.1/24', '10.212.3.99/24']);
  });
  it('keeps an IPAM default route that has a gw', () => {
    const c = parseConf(JSON.stringify({cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge', isDefaultGateway: true}), '');
    const routes = [{dst: '0.0.0.0/0', gw: '10.212.0.254'}];
    calcGateways([{address: '10.212.0.5/24'}], routes, c);
    assert.equal(routes.length, 1);
  });
});

describe('masquerade chain naming and rules', () => {
  it('derives the chain name like the reference', () => {
    assert.equal(masqChainName('test', '1234'), 'CNI-2bbe0c48b91a7d1b8a6753a8');
    assert.equal(masqChainName('testalongnamethatdoesnotmakesense', '1234'), 'CNI-374f33fe84ab0ed84dcdebe3');
    assert.equal(masqChainName('invnet020', 'invctr1'), 'CNI-8a5f942aa7a977350554535b');
    // The seed's first scenario (network mybridge, container 1234567890).
    assert.equal(masqChainName('mybridge', '1234567890'), 'CNI-26633426ea992aa1f0477097');
  });
  it('formats the comment with Go %q quoting', () => {
    assert.equal(masqComment('invnet020', 'invctr1'), 'name: "invnet020" id: "invctr1"');
    assert.equal(masqComment('a"b', 'c\\d'), 'name: "a\\"b" id: "c\\\\d"');
  });
  const t = {chain: 'CNI-8a5f942aa7a977350554535b', comment: masqComment('invnet020', 'invctr1')};
  const q = '"name: \\"invnet020\\" id: \\"invctr1\\""';
  const saved = [
    `-A POSTROUTING -s 10.77.0.2/32 -m comment --comment ${q} -j ${t.chain}`,
    `-A ${t.chain} -d 10.77.0.0/24 -m comment --comment ${q} -j ACCEPT`,
    `-A ${t.chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE`,
  ];
  it('plans exactly the lines iptables-save shows for the reference', () => {
    const plan = planSetup(t, parseNatSave('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'), ['10.77.0.2/24']);
    assert.equal(plan, ['*nat', `:${t.chain} - [0:0]`, saved[1], saved[2], saved[0], 'COMMIT', ''].join('\n'));
  });
  it('appends only what is missing (AppendUnique) and never re-declares an existing chain', () => {
    const table = parseNatSave(`:${t.chain} - [0:0]\n${saved.join('\n')}\n`);
    assert.equal(planSetup(t, table, ['10.77.0.2/24']), undefined);
    assert.equal(planSetup(t, table, ['10.77.0.3/24']), `*nat\n-A POSTROUTING -s 10.77.0.3/32 -m comment --comment ${q} -j ${t.chain}\nCOMMIT\n`);
  });
  it('tears down one jump but keeps the chain while another ifname still jumps to it', () => {
    const second = `-A POSTROUTING -s 10.77.0.3/32 -m comment --comment ${q} -j ${t.chain}`;
    const table = parseNatSave(`:${t.chain} - [0:0]\n${[...saved, second].join('\n')}\n`);
    assert.equal(planTeardown(t, table, {kind: 'ips', ips: ['10.77.0.3']}), `*nat\n-D ${second.slice(3)}\nCOMMIT\n`);
    assert.equal(planTeardown(t, table, {kind: 'all'}), `*nat\n-D ${saved[0].slice(3)}\n-D ${second.slice(3)}\n-F ${t.chain}\n-X ${t.chain}\nCOMMIT\n`);
    assert.equal(planTeardown(t, table, {kind: 'except', ips: ['10.77.0.2']}), `*nat\n-D ${second.slice(3)}\nCOMMIT\n`);
  });
  it('is a no-op when nothing is there', () => {
    assert.equal(planTeardown(t, parseNatSave(':POSTROUTING ACCEPT [0:0]\n'), {kind: 'all'}), undefined);
  });
});

describe('cidr', () => {
  it('prints IPv6 like Go', () => {
    for (const [i, o] of [['fd00:212:0:0:0:0:0:1', 'fd00:212::1'], ['fd00:0:1:0:0:1:0:0', 'fd00:0:1::1:0:0'], ['fd00:1:0:1:1:1:1:1', 'fd00:1:0:1:1:1:1:1'], ['::', '::']]) {
      assert.equal(ipString(parseAddr(i)!), o);
    }
    assert.equal(parseCidrAsWritten('10.1.2.3/33'), undefined);
  });
});

describe('bridge-ops argv', () => {
  it('createVeth makes the container end in the netns and retries on a host-name clash', async () => {
    const names = ['veth00000001', 'veth00000002'];
    const batch = (v: string): string =>
      [
        `link add ${v} mtu 1400 txqlen 0 type veth peer name eth0 mtu 1400 txqlen 0 address 02:00:00:00:00:05 netns /run/netns/x`,
        `link set dev ${v} up`,
        `link set dev ${v} master tbrbr9`,
        `link set dev ${v} type bridge_slave hairpin on isolated on`,
        '',
      ].join('\n');
    const r = fakeRunner([
      {argv: ['ip', '-batch', '-'], input: batch('veth00000001'), exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n'},
      {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'], stdout: '[{"ifindex":3,"ifname":"veth00000001","flags":[],"mtu":1500}]'},
      {argv: ['ip', '-batch', '-'], input: batch('veth00000002')},
    ]);
    const v = await createVeth(r, {netns: '/run/netns/x', ifname: 'eth0', mtu: 1400, mac: '02-00-00-00-00-05'}, {bridge: 'tbrbr9', hairpin: true, isolated: true}, () => names.shift()!);
    assert.deepEqual(v, {hostName: 'veth00000002', containerMac: '02:00:00:00:00:05'});
    r.done();
  });
  it('createVeth reports an existing container ifname like the reference', async () => {
    const r = fakeRunner([
      {argv: ['ip', '-batch', '-'], exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n'},
      {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'], exitCode: 1, stderr: 'Device "veth00000001" does not exist.'},
    ]);
    await assert.rejects(createVeth(r, {netns: '/run/netns/x', ifname: 'eth0', mtu: 0, mac: '02:00:00:00:00:05'}, {bridge: 'tbrbr9', hairpin: false}, () => 'veth00000001'), {message: 'container veth name provided (eth0) already exists'});
    r.done();
  });
  it('createVeth deletes the pair when joining the bridge fails', async () => {
    const r = fakeRunner([
      {argv: ['ip', '-batch', '-'], exitCode: 1, stderr: 'RTNETLINK answers: Too many levels of symbolic links\nCommand failed -:3\n'},
      {argv: ['ip', 'link', 'del', 'dev', 'veth00000001']},
    ]);
    await assert.rejects(createVeth(r, {netns: '/run/netns/x', ifname: 'eth0', mtu: 0, mac: '02:00:00:00:00:05'}, {bridge: 'tbrbr9', hairpin: false}, () => 'veth00000001'), {
      message: 'failed to connect "veth00000001" to bridge tbrbr9: too many levels of symbolic links',
    });
    r.done();
  });
  describe('vethOnExistingBridge (the bridge read and the pair in one batch)', () => {
    const spec = {netns: '/run/netns/x', ifname: 'eth0', mtu: 0, mac: '02:00:00:00:00:05'};
    const port = {bridge: 'tbrbr9', hairpin: false};
    const batch = 'link show dev tbrbr9\nlink add veth00000001 txqlen 0 type veth peer name eth0 txqlen 0 address 02:00:00:00:00:05 netns /run/netns/x\nlink set dev veth00000001 up\nlink set dev veth00000001 master tbrbr9\nlink set dev veth00000001 type bridge_slave hairpin off\n';
    const link = (flags: string[], kind = 'bridge'): string => `${JSON.stringify([{ifindex: 7, ifname: 'tbrbr9', flags, mtu: 1500, address: '02:aa:00:00:00:01', linkinfo: {info_kind: kind}}])}\n`;
    const run = async (reply: Partial<Expected>, after: Expected[] = [], br = {name: 'tbrbr9', mtu: 0, promisc: false}) => {
      const r = fakeRunner([{argv: ['ip', '-j', '-d', '-batch', '-'], input: batch, ...reply}, ...after]);
      const out = await vethOnExistingBridge(r, br, spec, port, () => 'veth00000001');
      r.done();
      return out;
    };
    it('an up bridge: its link as read before the port joined, and the pair', async () => {
      const out = await run({stdout: link(['BROADCAST', 'UP'])});
      assert.deepEqual([out?.link.address, out?.hostName, out?.containerMac], ['02:aa:00:00:00:01', 'veth00000001', '02:00:00:00:00:05']);
    });
    it('no such bridge, or the pair refused: nothing was made, nothing deleted', async () => {
      assert.equal(await run({exitCode: 1, stderr: 'Device "tbrbr9" does not exist.\nCommand failed -:1\n'}), undefined);
      assert.equal(await run({exitCode: 1, stdout: link(['UP']), stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n'}), undefined);
    });
    it('a failure once the pair exists, a bridge that is down, not a bridge, or not promiscuous as asked: the pair is deleted', async () => {
      const del: Expected = {argv: ['ip', 'link', 'del', 'dev', 'veth00000001']};
      assert.equal(await run({exitCode: 1, stdout: link(['UP']), stderr: 'RTNETLINK answers: Invalid argument\nCommand failed -:4\n'}, [del]), undefined);
      assert.equal(await run({stdout: link(['BROADCAST'])}, [del]), undefined);
      assert.equal(await run({stdout: link(['UP'], 'bond')}, [del]), undefined);
      assert.equal(await run({stdout: link(['UP'])}, [del], {name: 'tbrbr9', mtu: 0, promisc: true}), undefined);
    });
  });
  it('ensureBridge only reads a bridge that is already up, sets one up that is not, and creates one in a single batch', async () => {
    const link = (flags: string[]): string => JSON.stringify([{ifindex: 7, ifname: 'tbrbr9', flags, mtu: 1500, address: '02:aa:00:00:00:01', linkinfo: {info_kind: 'bridge'}}]);
    const show = ['ip', '-j', '-d', 'link', 'show', 'dev', 'tbrbr9'];
    const r1 = fakeRunner([{argv: show, stdout: link(['BROADCAST', 'UP'])}]);
    assert.equal((await ensureBridge(r1, {name: 'tbrbr9', mtu: 0, promisc: false})).created, false);
    r1.done();
    const r2 = fakeRunner([{argv: show, stdout: link(['BROADCAST', 'UP'])}, {argv: ['ip', 'link', 'set', 'dev', 'tbrbr9', 'promisc', 'on', 'up']}]);
    await ensureBridge(r2, {name: 'tbrbr9', mtu: 0, promisc: true});
    r2.done();
    const r3 = fakeRunner([
      {argv: show, exitCode: 1, stderr: 'Device "tbrbr9" does not exist.'},
      {argv: ['ip', '-j', '-d', '-batch', '-'], input: 'link add tbrbr9 mtu 1400 type bridge\nlink set dev tbrbr9 up\nlink show dev tbrbr9\n', stdout: `${link(['UP'])}\n`},
    ]);
    const made = await ensureBridge(r3, {name: 'tbrbr9', mtu: 1400, promisc: false});
    assert.deepEqual([made.created, made.link.address], [true, '02:aa:00:00:00:01']);
    r3.done();
  });
  it('readAddrsAndDelLink reads and deletes in one process, a missing link being fine', async () => {
    const addrs = '[{"ifindex":1,"ifname":"lo","flags":[],"addr_info":[]}]';
    const argv = ['nsenter', '--net=/run/netns/x', '--', 'ip', '-j', '-d', '-batch', '-'];
    const r = fakeRunner([
      {argv, input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`, exitCode: 1, stderr: 'Cannot find device "eth0"\nCommand failed -:2\n'},
      {argv, exitCode: 1, stderr: 'nsenter: cannot open /run/netns/x: No such file or directory\n'},
    ]);
    assert.deepEqual((await readAddrsAndDelLink(r, '/run/netns/x', 'eth0'))?.map((l) => l.ifname), ['lo']);
    assert.equal(await readAddrsAndDelLink(r, '/run/netns/x', 'eth0'), undefined);
    r.done();
  });
  it('enableForwarding writes only what is not 1 yet', () => {
    const writes: string[] = [];
    const sys: HostSysctl = {read: (k) => (k === 'net/ipv4/ip_forward' ? '1' : '0'), write: (k, v) => writes.push(`${k}=${v}`)};
    enableForwarding([4, 6], sys);
    assert.deepEqual(writes, ['net/ipv6/conf/all/forwarding=1']);
  });
  it('ensureAddr refuses another IPv4 address, and with force replaces it and pins the MAC', async () => {
    const show = {argv: ['ip', '-j', 'addr', 'show', 'dev', 'tbrbr9'], stdout: '[{"ifindex":5,"ifname":"tbrbr9","flags":[],"address":"aa:bb:cc:dd:ee:ff","addr_info":[{"family":"inet","local":"10.212.0.1","prefixlen":16,"scope":"global"}]}]'};
    const gw = parseCidrAsWritten('10.212.0.1/24')!;
    const r1 = fakeRunner([show]);
    await assert.rejects(ensureAddr(r1, 'tbrbr9', gw, false), {message: '"tbrbr9" already has an IP address different from 10.212.0.1/24'});
    r1.done();
    const r2 = fakeRunner([show, {argv: ['ip', '-batch', '-']}]);
    assert.deepEqual(await ensureAddr(r2, 'tbrbr9', gw, true, '02:11:22:33:44:55'), {added: '10.212.0.1/24', removed: ['10.212.0.1/16'], mac: '02:11:22:33:44:55'});
    r2.done();
  });
  it('ensureAddr uses addresses already read and reports the MAC when the gateway is there', async () => {
    const r = fakeRunner([]);
    const known = {ifindex: 5, ifname: 'tbrbr9', flags: [], address: 'aa:bb:cc:dd:ee:ff', addr_info: [{family: 'inet' as const, local: '10.212.0.1', prefixlen: 24, scope: 'global'}]};
    assert.deepEqual(await ensureAddr(r, 'tbrbr9', parseCidrAsWritten('10.212.0.1/24')!, false, undefined, known), {removed: [], mac: 'aa:bb:cc:dd:ee:ff'});
    r.done();
  });
});

describe('bridge ADD/DEL command sequence', () => {
  const conf = JSON.stringify({cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge', bridge: 'tbrbr9', isGateway: true, ipMasq: true, args: {cni: {mac: '02:00:00:00:00:05'}}, ipam: {type: 'fake'}});
  const args = {containerId: 'tbrctr1', netns: '/run/netns/x', ifname: 'eth0', args: '', path: [], stdin: conf};
  const ipam = {
    add: async () => ({cniVersion: '1.0.0', ips: [{address: '10.212.0.5/24'}]}),
    del: async () => undefined,
    check: async () => undefined,
  };
  const chain = masqChainName('tbrunit', 'tbrctr1');
  const q = '"name: \\"tbrunit\\" id: \\"tbrctr1\\""';
  const ns = (...argv: string[]): string[] => ['nsenter', '--net=/run/netns/x', '--', ...argv];

  it('attaches to an existing bridge that has its gateway in 5 processes and no host sysctl process', async () => {
    const writes: string[] = [];
    const sys: HostSysctl = {read: (k) => (k === 'net/ipv4/ip_forward' ? '1' : '0'), write: (k, v) => writes.push(`${k}=${v}`)};
    const brShow = '[{"ifindex":7,"ifname":"tbrbr9","flags":["BROADCAST","UP"],"mtu":1500,"address":"02:aa:00:00:00:01","linkinfo":{"info_kind":"bridge"}}]';
    const r = fakeRunner([
      // The bridge read and the pair on it: one process.
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'link show dev tbrbr9\nlink add VETH txqlen 0 type veth peer name eth0 txqlen 0 address 02:00:00:00:00:05 netns /run/netns/x\nlink set dev VETH up\nlink set dev VETH master tbrbr9\nlink set dev VETH type bridge_slave hairpin off\n',
        stdout: `${brShow}\n`,
      },
      // The masquerade rules are written while the container side is configured: started first.
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-N ${chain}\n-A ${chain} -d 10.212.0.0/24 -m comment --comment ${q} -j ACCEPT\n-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
      {
        argv: ns('sh', '-c', 'sysctl -q -e -w "$@" >/dev/null 2>&1; exec ip -batch -', 'sh', 'net/ipv6/conf/eth0/accept_dad=0', 'net/ipv4/conf/eth0/arp_notify=1'),
        input: 'addr add 10.212.0.5/24 broadcast + dev eth0\nlink set dev eth0 up\n',
      },
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'addr show dev VETH\naddr show dev tbrbr9\n',
        stdout: '[{"ifindex":9,"ifname":"VETH","flags":["UP"],"operstate":"UP","address":"02:bb:00:00:00:09","addr_info":[]}]\n[{"ifindex":7,"ifname":"tbrbr9","flags":["UP"],"address":"02:aa:00:00:00:01","addr_info":[{"family":"inet","local":"10.212.0.1","prefixlen":24,"scope":"global"}]}]\n',
      },
    ]);
    const log = {debug: () => undefined, warn: () => undefined};
    const ctx = {runner: r, log, env: {}, paths: {}} as unknown as PluginContext;
    const res = await makeBridgePlugin({ipam, sysctl: sys}).add(ctx, args);
    r.done();
    assert.deepEqual(res.interfaces?.map((i) => i.mac), ['02:aa:00:00:00:01', '02:bb:00:00:00:09', '02:00:00:00:00:05']);
    assert.equal(writes.length, 2);
    assert.match(writes.join(' '), /^net\/ipv6\/conf\/tbrbr9\/accept_ra=0 net\/ipv6\/conf\/veth[0-9a-f]{8}\/accept_ra=0$/);
  });

  const addrs = '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet","local":"10.212.0.5","prefixlen":24,"scope":"global"},{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]';
  const teardown = `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`;
  const ctxOf = (r: Runner): PluginContext => ({runner: r, log: {debug: () => undefined, warn: () => undefined}, env: {}, paths: {}}) as unknown as PluginContext;

  it('detaches with one read-and-delete in the netns, then one masquerade write without a read', async () => {
    const r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), args);
    r.done();
  });

  it('with a prevResult, tears the masquerade down alongside the link delete; addresses only the namespace shows come after', async () => {
    const withPrev = JSON.stringify({
      ...(JSON.parse(conf) as object),
      prevResult: {cniVersion: '1.0.0', interfaces: [{name: 'tbrbr9'}, {name: 'vethx'}, {name: 'eth0', sandbox: '/run/netns/x'}], ips: [{address: '10.212.0.5/24', interface: 2}]},
    });
    const delArgs = {...args, stdin: withPrev};
    // Usual case: the namespace shows the cached address only.
    let r = fakeRunner([
      // The link delete goes out first, the masquerade teardown alongside it.
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), delArgs);
    r.done();
    // An address added by hand besides: its jump (and then the chain) goes after.
    const extra = '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet","local":"10.212.0.5","prefixlen":24,"scope":"global"},{"family":"inet","local":"10.212.0.77","prefixlen":24,"scope":"global"}]}]';
    r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${extra}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown, exitCode: 1, stderr: 'iptables-restore: line 4 failed: Device or resource busy.'},
      {argv: ['iptables-save', '-t', 'nat'], stdout: `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n-A POSTROUTING -s 10.212.0.77/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: `*nat\n-D POSTROUTING -s 10.212.0.77/32 -m comment --comment ${q} -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), delArgs);
    r.done();
  });

  it('falls back to read-and-plan when the direct teardown fails (the chain still used by another ifname)', async () => {
    const other = `-A POSTROUTING -s 10.212.0.6/32 -m comment --comment ${q} -j ${chain}`;
    const saved = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n${other}\nCOMMIT\n`;
    const r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown, exitCode: 1, stderr: 'iptables-restore: line 4 failed: Device or resource busy.'},
      {argv: ['iptables-save', '-t', 'nat'], stdout: saved},
      {argv: ['iptables-restore', '--noflush', '-w'], input: `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), args);
    r.done();
  });

  it('adds to an existing masquerade chain with read-and-plan after the -N write is refused', async () => {
    const t = {chain, comment: masqComment('tbrunit', 'tbrctr1')};
    const fresh = planFreshSetup(t, ['10.212.0.7/24']);
    assert.match(fresh, new RegExp(`^\\*nat\\n-N ${chain}\\n`));
    assert.doesNotMatch(fresh, /^:/m, 'a :CHAIN line under --noflush would flush an existing chain');
    const saved = `*nat\n:${chain} - [0:0]\n-A ${chain} -d 10.212.0.0/24 -m comment --comment ${q} -j ACCEPT\nCOMMIT\n`;
    const r = fakeRunner([
      {argv: ['iptables-restore', '--noflush', '-w'], input: fresh, exitCode: 1, stderr: 'iptables-restore: line 2 failed: Chain already exists.'},
      {argv: ['iptables-save', '-t', 'nat'], stdout: saved},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE\n-A POSTROUTING -s 10.212.0.7/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
    ]);
    await setupIpMasq(r, t, ['10.212.0.7/24']);
    r.done();
  });
});
