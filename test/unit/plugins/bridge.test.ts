import assert from 'node:assert/strict';
import fc from 'fast-check';
import {makeBridgePlugin} from '../../../src/plugins/bridge.js';
import {masqChainName} from '../../../src/net/iptables-masq.js';
import type {HostSysctl} from '../../../src/net/sysctl.js';
import type {PluginContext} from '../../../src/exec/plugin.js';
import type {Runner} from '../../../src/exec/runner.js';
import {CniError, ErrorCode} from '../../../src/cni/errors.js';
import {plugin as bridge} from '../../../src/plugins/bridge.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {assertOneLineCniError, bridgeConf, cmdArgs, hostLocalIpam, kernelHostile, prop, refusedByAdd} from '../../helpers/arbitraries.js';

interface Expected {
  argv: string[];
  /** The exact stdin (ip -batch lines, iptables-restore input), when given. */
  input?: string;
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

/**
 * A FakeRunner expecting exactly these calls, in order. `VETH` in an
 * expectation stands for the random host veth name, which must look like the
 * reference's and stay the same throughout.
 */
function fakeRunner(expected: Expected[]): FakeRunner {
  let veth: string | undefined;
  const normalize = (t: string): string => {
    veth ??= /\b(veth[0-9a-f]{8})\b/.exec(t)?.[1];
    return veth ? t.replaceAll(veth, 'VETH') : t;
  };
  const fill = (t: string): string => (veth ? t.replace(/VETH/g, veth) : t);
  return new FakeRunner(
    expected.map((e) => ({
      argv: e.argv,
      input: e.input,
      reply: () => (e.exitCode ? {stdout: e.stdout ?? '', stderr: e.stderr ?? '', exitCode: e.exitCode} : {stdout: fill(e.stdout ?? '')}),
    })),
    {normalize},
  );
}

describe('bridge ADD/DEL command sequence', () => {
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'tbrunit',
    type: 'bridge',
    bridge: 'tbrbr9',
    isGateway: true,
    ipMasq: true,
    args: {cni: {mac: '02:00:00:00:00:05'}},
    ipam: {type: 'fake'},
  });
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
    const brShow =
      '[{"ifindex":7,"ifname":"tbrbr9","flags":["BROADCAST","UP"],"mtu":1500,"address":"02:aa:00:00:00:01","linkinfo":{"info_kind":"bridge"}}]';
    const r = fakeRunner([
      // The bridge read and the pair on it: one process.
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input:
          'link show dev tbrbr9\nlink add VETH txqlen 0 type veth peer name eth0 txqlen 0 address 02:00:00:00:00:05 netns /run/netns/x\nlink set dev VETH up\nlink set dev VETH master tbrbr9\nlink set dev VETH type bridge_slave hairpin off\n',
        stdout: `${brShow}\n`,
      },
      // The container end's sysctls, in their own process while the host side goes on.
      {argv: ns('sysctl', '-q', '-e', '-w', 'net/ipv6/conf/eth0/accept_dad=0', 'net/ipv4/conf/eth0/arp_notify=1')},
      // The masquerade rules are written while the container side is configured: started first.
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-N ${chain}\n-A ${chain} -d 10.212.0.0/24 -m comment --comment ${q} -j ACCEPT\n-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
      {argv: ns('ip', '-batch', '-'), input: 'addr add 10.212.0.5/24 broadcast + dev eth0\nlink set dev eth0 up\n'},
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'addr show dev VETH\naddr show dev tbrbr9\n',
        stdout:
          '[{"ifindex":9,"ifname":"VETH","flags":["UP"],"operstate":"UP","address":"02:bb:00:00:00:09","addr_info":[]}]\n[{"ifindex":7,"ifname":"tbrbr9","flags":["UP"],"address":"02:aa:00:00:00:01","addr_info":[{"family":"inet","local":"10.212.0.1","prefixlen":24,"scope":"global"}]}]\n',
      },
    ]);
    const log = {debug: () => undefined, warn: () => undefined};
    const ctx = {runner: r, log, env: {}, paths: {}} as unknown as PluginContext;
    const res = await makeBridgePlugin({ipam, sysctl: sys}).add(ctx, args);
    r.assertDone();
    assert.deepEqual(
      res.interfaces?.map((i) => i.mac),
      ['02:aa:00:00:00:01', '02:bb:00:00:00:09', '02:00:00:00:00:05'],
    );
    assert.equal(writes.length, 2);
    assert.match(writes.join(' '), /^net\/ipv6\/conf\/tbrbr9\/accept_ra=0 net\/ipv6\/conf\/veth[0-9a-f]{8}\/accept_ra=0$/);
  });

  const addrs =
    '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet","local":"10.212.0.5","prefixlen":24,"scope":"global"},{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]';
  const teardown = `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`;
  const ctxOf = (r: Runner): PluginContext =>
    ({runner: r, log: {debug: () => undefined, warn: () => undefined}, env: {}, paths: {}}) as unknown as PluginContext;

  it('detaches with one read-and-delete in the netns, then one masquerade write without a read', async () => {
    const r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), args);
    r.assertDone();
  });

  it('with a prevResult, tears the masquerade down alongside the link delete; addresses only the namespace shows come after', async () => {
    const withPrev = JSON.stringify({
      ...(JSON.parse(conf) as object),
      prevResult: {
        cniVersion: '1.0.0',
        interfaces: [{name: 'tbrbr9'}, {name: 'vethx'}, {name: 'eth0', sandbox: '/run/netns/x'}],
        ips: [{address: '10.212.0.5/24', interface: 2}],
      },
    });
    const delArgs = {...args, stdin: withPrev};
    // Usual case: the namespace shows the cached address only.
    let r = fakeRunner([
      // The link delete goes out first, the masquerade teardown alongside it.
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {argv: ['iptables-restore', '--noflush', '-w'], input: teardown},
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), delArgs);
    r.assertDone();
    // An address added by hand besides: its jump (and then the chain) goes after.
    const extra =
      '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet","local":"10.212.0.5","prefixlen":24,"scope":"global"},{"family":"inet","local":"10.212.0.77","prefixlen":24,"scope":"global"}]}]';
    r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${extra}\n`},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: teardown,
        exitCode: 1,
        stderr: 'iptables-restore: line 4 failed: Device or resource busy.',
      },
      {
        argv: ['iptables-save', '-t', 'nat'],
        stdout: `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n-A POSTROUTING -s 10.212.0.77/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-D POSTROUTING -s 10.212.0.77/32 -m comment --comment ${q} -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`,
      },
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), delArgs);
    r.assertDone();
  });

  it('falls back to read-and-plan when the direct teardown fails (the chain still used by another ifname)', async () => {
    const other = `-A POSTROUTING -s 10.212.0.6/32 -m comment --comment ${q} -j ${chain}`;
    const saved = `*nat\n:${chain} - [0:0]\n-A POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\n${other}\nCOMMIT\n`;
    const r = fakeRunner([
      {argv: ns('ip', '-j', '-d', '-batch', '-'), input: 'addr show\nlink del dev eth0\n', stdout: `${addrs}\n`},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: teardown,
        exitCode: 1,
        stderr: 'iptables-restore: line 4 failed: Device or resource busy.',
      },
      {argv: ['iptables-save', '-t', 'nat'], stdout: saved},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-D POSTROUTING -s 10.212.0.5/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
    ]);
    await makeBridgePlugin({ipam}).del(ctxOf(r), args);
    r.assertDone();
  });
});

describe('bridge GC and STATUS (spec 1.1)', () => {
  const conf = (extra: object = {}): string =>
    JSON.stringify({cniVersion: '1.1.0', name: 'tbrunit', type: 'bridge', bridge: 'tbrbr9', ipam: {type: 'fake'}, ...extra});
  const args = (stdin: string) => ({containerId: '', netns: '', ifname: '', args: '', path: [], stdin});
  const ctxOf = (r: Runner): PluginContext =>
    ({runner: r, log: {debug: () => undefined, warn: () => undefined}, env: {}, paths: {}}) as unknown as PluginContext;
  const forwarded: string[] = [];
  const ipam = {
    add: async () => assert.fail('no ADD'),
    del: async () => assert.fail('no DEL'),
    check: async () => assert.fail('no CHECK'),
    gc: async () => void forwarded.push('gc'),
    status: async () => void forwarded.push('status'),
  };
  const show = ['ip', '-j', '-d', 'link', 'show', 'dev', 'tbrbr9'];
  const link = (kind: string): string =>
    JSON.stringify([{ifindex: 7, ifname: 'tbrbr9', flags: ['UP'], mtu: 1500, linkinfo: {info_kind: kind}}]);
  beforeEach(() => (forwarded.length = 0));

  it('STATUS succeeds when the bridge name is free or a bridge, and asks IPAM', async () => {
    const r = fakeRunner([
      {argv: show, exitCode: 1, stderr: 'Device "tbrbr9" does not exist.'},
      {argv: show, stdout: link('bridge')},
    ]);
    await makeBridgePlugin({ipam}).status!(ctxOf(r), args(conf()));
    await makeBridgePlugin({ipam}).status!(ctxOf(r), args(conf()));
    r.assertDone();
    assert.deepEqual(forwarded, ['status', 'status']);
  });

  it('STATUS is error 50 when a link of that name is not a bridge, or ADD would refuse the config, before asking IPAM', async () => {
    const r = fakeRunner([{argv: show, stdout: link('veth')}]);
    await assert.rejects(makeBridgePlugin({ipam}).status!(ctxOf(r), args(conf())), {
      code: 50,
      message: '"tbrbr9" already exists but is not a bridge',
    });
    await assert.rejects(makeBridgePlugin({ipam}).status!(ctxOf(r), args(conf({vlan: 7}))), {
      code: 50,
      message: /vlan\/vlanTrunk need bridge VLAN filtering/,
    });
    r.assertDone();
    assert.deepEqual(forwarded, []);
  });

  it("STATUS passes on IPAM's error as it is", async () => {
    const r = fakeRunner([{argv: show, stdout: link('bridge')}]);
    const failing = {...ipam, status: async () => Promise.reject(new CniError(51, 'lease daemon gone'))};
    await assert.rejects(makeBridgePlugin({ipam: failing}).status!(ctxOf(r), args(conf())), {code: 51, message: 'lease daemon gone'});
    r.assertDone();
  });

  it("GC forwards to IPAM, then removes the masquerade chains of this network's containers that are not valid", async () => {
    const keep = masqChainName('tbrunit', 'tbrctr1');
    const gone = masqChainName('tbrunit', 'tbrctr2');
    const other = masqChainName('tbrother', 'tbrctr2');
    const c = (net: string, id: string): string => `"name: \\"${net}\\" id: \\"${id}\\""`;
    const jump = (ip: string, net: string, id: string, chain: string): string =>
      `-A POSTROUTING -s ${ip}/32 -m comment --comment ${c(net, id)} -j ${chain}`;
    const nat = [
      '*nat',
      `:${keep} - [0:0]`,
      `:${gone} - [0:0]`,
      `:${other} - [0:0]`,
      jump('10.212.0.5', 'tbrunit', 'tbrctr1', keep),
      jump('10.212.0.6', 'tbrunit', 'tbrctr2', gone),
      jump('10.99.0.6', 'tbrother', 'tbrctr2', other),
      'COMMIT',
      '',
    ].join('\n');
    const r = fakeRunner([
      {argv: ['iptables-save', '-t', 'nat'], stdout: nat},
      {argv: ['ip6tables-save', '-t', 'nat'], stdout: '*nat\nCOMMIT\n'},
      {argv: ['iptables-save', '-t', 'nat'], stdout: nat},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-D ${jump('10.212.0.6', 'tbrunit', 'tbrctr2', gone).slice(3)}\n-F ${gone}\n-X ${gone}\nCOMMIT\n`,
      },
      {argv: ['ip6tables-save', '-t', 'nat'], stdout: '*nat\nCOMMIT\n'},
    ]);
    const stdin = conf({ipMasq: true, 'cni.dev/valid-attachments': [{containerID: 'tbrctr1', ifname: 'eth0'}]});
    await makeBridgePlugin({ipam}).gc!(ctxOf(r), args(stdin));
    r.assertDone();
    assert.deepEqual(forwarded, ['gc']);
  });
});

/**
 * "Refused before anything touches the system": every hostile input below runs
 * the real plugin with a runner that fails on any command and empty temp state
 * dirs; the run must end in a one-line CNI error with no command run and no
 * file created.
 */
describe('hardening: hostile input reaches no command and no file (property)', function () {
  this.timeout(20000);

  it('bridge name: code 999 as the reference ("could not add"), before any command', () =>
    prop(fc.oneof(kernelHostile, fc.constant('')), (box, br) =>
      refusedByAdd(box, (a) => bridge.add(box.ctx, a), cmdArgs(bridgeConf({bridge: br, ipam: hostLocalIpam(box)})), [ErrorCode.Internal]),
    ));

  it('bridge MAC from CNI_ARGS / args / runtimeConfig: code 999 before any command', () =>
    // Through CNI_ARGS a ';' or '=' is pair syntax, not part of the value (covered by the CNI_ARGS property below).
    prop(
      fc
        .tuple(
          fc.string({maxLength: 20}).filter((m) => m !== '' && !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(m)),
          fc.nat(2),
        )
        .filter(([m, where]) => where !== 0 || !/[;=]/.test(m)),
      (box, [mac, where]) => {
        const c =
          where === 0
            ? bridgeConf({ipam: hostLocalIpam(box)})
            : where === 1
              ? bridgeConf({ipam: hostLocalIpam(box), args: {cni: {mac}}})
              : bridgeConf({ipam: hostLocalIpam(box), runtimeConfig: {mac}});
        return refusedByAdd(box, (a) => bridge.add(box.ctx, a), cmdArgs(c, where === 0 ? `IgnoreUnknown=1;MAC=${mac}` : ''), [
          ErrorCode.Internal,
        ]);
      },
    ));

  it('host-local errors (bad subnet, CNI_ARGS IP, ipam name) stop bridge ADD before the bridge is made', () =>
    prop(
      fc.oneof(
        fc.string({maxLength: 20}).map((s) => ({subnet: s})),
        fc.string({maxLength: 20}).map((ip) => ({ip})),
      ),
      (box, v) => {
        const extra = 'subnet' in v ? {subnet: v.subnet} : {};
        const args = 'ip' in v ? `IgnoreUnknown=1;IP=${v.ip}` : '';
        const stdin = bridgeConf({ipam: hostLocalIpam(box, extra)});
        return bridge.add(box.ctx, cmdArgs(stdin, args)).then(
          () => assert.fail('accepted'), // the runner refuses every command, so acceptance cannot happen silently
          (err: unknown) => {
            assertOneLineCniError(err, [ErrorCode.Internal, ErrorCode.InvalidNetworkConfig]);
            if (box.runner.calls.length > 0) {
              // valid input: it got as far as the first read of the bridge, and no further
              assert.equal(box.runner.calls.length, 1);
              assert.deepEqual(box.runner.calls[0].argv.slice(0, 3), ['ip', '-j', '-d']);
            }
            assert.deepEqual(box.leftovers(), []);
          },
        );
      },
      FakeRunner.refusing,
    ));

  it('CNI_ARGS with hostile pairs: code 999 from the ARGS parser before any command', () =>
    prop(
      fc.oneof(
        fc.constantFrom('a', 'a=b=c', ';', 'FOO=1', 'IgnoreUnknown=maybe'),
        fc.string({maxLength: 20}).map((s) => `X${s}=1;=`),
      ),
      (box, a) =>
        refusedByAdd(box, (x) => bridge.add(box.ctx, x), cmdArgs(bridgeConf({ipam: hostLocalIpam(box)}), a), [ErrorCode.Internal]),
    ));
});
