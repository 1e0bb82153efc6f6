import assert from 'node:assert/strict';
import {parseConf, calcGateways} from '../../../src/plugins/bridge.js';
import {masqChainName, masqComment, parseNatSave, planSetup, planTeardown} from '../../../src/net/iptables.js';
import {createVeth, ensureAddr} from '../../../src/net/bridge-ops.js';
import {formatIp, parseCidr, parseIp} from '../../../src/net/cidr.js';
import {CommandError, type Runner} from '../../../src/exec/runner.js';
import type {IPConfig} from '../../../src/cni/types.js';

/** A runner that expects exactly these calls, in order, and fails on anything else. */
function fakeRunner(expected: {argv: string[]; stdout?: string; stderr?: string; exitCode?: number}[]): Runner & {done(): void} {
  let i = 0;
  return {
    async run(file, args) {
      const argv = [file, ...args];
      const e = expected[i++];
      assert.ok(e, `unexpected command: ${argv.join(' ')}`);
      assert.deepEqual(argv, e.argv);
      if (e.exitCode) throw new CommandError(argv, e.exitCode, e.stdout ?? '', e.stderr ?? '');
      return {stdout: e.stdout ?? '', stderr: '', exitCode: 0};
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
    assert.deepEqual(gws[4].map((g) => `${formatIp(g.ip)}/${g.prefix}`), ['10.212.0.1/24', '10.212.3.99/24']);
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
      assert.equal(formatIp(parseIp(i)!), o);
    }
    assert.equal(parseCidr('10.1.2.3/33'), undefined);
  });
});

describe('bridge-ops argv', () => {
  it('createVeth makes the container end in the netns and retries on a host-name clash', async () => {
    const names = ['veth00000001', 'veth00000002'];
    const r = fakeRunner([
      {argv: ['ip', 'link', 'add', 'veth00000001', 'mtu', '1400', 'txqlen', '0', 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', '1400', 'txqlen', '0', 'address', '02:00:00:00:00:05', 'netns', '/run/netns/x'], exitCode: 2, stderr: 'RTNETLINK answers: File exists'},
      {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'], stdout: '[{"ifindex":3,"ifname":"veth00000001","flags":[],"mtu":1500}]'},
      {argv: ['ip', 'link', 'add', 'veth00000002', 'mtu', '1400', 'txqlen', '0', 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', '1400', 'txqlen', '0', 'address', '02:00:00:00:00:05', 'netns', '/run/netns/x']},
    ]);
    const v = await createVeth(r, {netns: '/run/netns/x', ifname: 'eth0', mtu: 1400, mac: '02-00-00-00-00-05'}, () => names.shift()!);
    assert.deepEqual(v, {hostName: 'veth00000002', containerMac: '02:00:00:00:00:05'});
    r.done();
  });
  it('createVeth reports an existing container ifname like the reference', async () => {
    const r = fakeRunner([
      {argv: ['ip', 'link', 'add', 'veth00000001', 'txqlen', '0', 'type', 'veth', 'peer', 'name', 'eth0', 'txqlen', '0', 'address', '02:00:00:00:00:05', 'netns', '/run/netns/x'], exitCode: 2, stderr: 'RTNETLINK answers: File exists'},
      {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'], exitCode: 1, stderr: 'Device "veth00000001" does not exist.'},
    ]);
    await assert.rejects(createVeth(r, {netns: '/run/netns/x', ifname: 'eth0', mtu: 0, mac: '02:00:00:00:00:05'}, () => 'veth00000001'), {message: 'container veth name provided (eth0) already exists'});
    r.done();
  });
  it('ensureAddr refuses another IPv4 address, and with force replaces it and pins the MAC', async () => {
    const show = {argv: ['ip', '-j', 'addr', 'show', 'dev', 'tbrbr9'], stdout: '[{"ifindex":5,"ifname":"tbrbr9","flags":[],"address":"aa:bb:cc:dd:ee:ff","addr_info":[{"family":"inet","local":"10.212.0.1","prefixlen":16,"scope":"global"}]}]'};
    const gw = parseCidr('10.212.0.1/24')!;
    const r1 = fakeRunner([show]);
    await assert.rejects(ensureAddr(r1, 'tbrbr9', gw, false), {message: '"tbrbr9" already has an IP address different from 10.212.0.1/24'});
    r1.done();
    const r2 = fakeRunner([show, {argv: ['ip', '-batch', '-']}]);
    assert.deepEqual(await ensureAddr(r2, 'tbrbr9', gw, true, '02:11:22:33:44:55'), {added: '10.212.0.1/24', removed: ['10.212.0.1/16']});
    r2.done();
  });
});
