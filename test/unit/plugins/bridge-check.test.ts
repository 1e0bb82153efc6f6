import {strict as assert} from 'node:assert';
import {CniError} from '../../../src/cni/errors.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import type {PluginContext} from '../../../src/exec/plugin.js';
import {pluginLoader} from '../../../src/plugins/registry.js';
import {checkAttachment, prevResultOf, type CheckedConf} from '../../../src/plugins/bridge-check.js';
import {FakeRunner, type Expectation} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

const NS = '/run/netns/tbc';
const ns = (...argv: string[]): string[] => ['nsenter', `--net=${NS}`, '--', ...argv];
const BR_MAC = '02:00:00:00:00:aa';
const VETH_MAC = '02:00:00:00:00:bb';
const CONT_MAC = '02:00:00:00:00:cc';

/** A bridge attachment as ADD leaves it: bridge tbr0, host veth vh1 (ifindex 6) peered with eth0 (ifindex 2) in NS. */
const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [
    {name: 'tbr0', mac: BR_MAC},
    {name: 'vh1', mac: VETH_MAC},
    {name: 'eth0', mac: CONT_MAC, sandbox: NS},
  ],
  ips: [{address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 2}],
  routes: [{dst: '0.0.0.0/0', gw: '10.1.0.1'}],
};
const hostLinks = [
  {ifindex: 5, ifname: 'tbr0', address: BR_MAC, flags: ['UP'], linkinfo: {info_kind: 'bridge'}},
  {ifindex: 6, ifname: 'vh1', address: VETH_MAC, link_index: 2, master: 'tbr0', flags: ['UP'], linkinfo: {info_kind: 'veth'}},
];
const contLinks = [{ifindex: 2, ifname: 'eth0', address: CONT_MAC, link_index: 6, flags: ['UP'], linkinfo: {info_kind: 'veth'}}];
const addrs = [{ifindex: 2, ifname: 'eth0', addr_info: [{family: 'inet', local: '10.1.0.2', prefixlen: 24}]}];
const routes4 = [
  {dst: 'default', gateway: '10.1.0.1', dev: 'eth0'},
  {dst: '10.1.0.0/24', dev: 'eth0'},
];

/** Every read CHECK makes, in order, each answered with `json` unless overridden. */
function reads(over: {cont?: unknown; host?: unknown; addrs?: unknown; routes4?: unknown} = {}): Expectation[] {
  const j = (v: unknown) => ({stdout: JSON.stringify(v)});
  return [
    {argv: ns('ip', '-j', '-d', 'link', 'show'), reply: j(over.cont ?? contLinks)},
    {argv: ['ip', '-j', '-d', 'link', 'show'], reply: j(over.host ?? hostLinks)},
    {argv: ns('ip', '-j', 'addr', 'show', 'dev', 'eth0'), reply: j(over.addrs ?? addrs)},
    {argv: ns('ip', '-j', '-4', 'route', 'show', 'table', 'main'), reply: j(over.routes4 ?? routes4)},
    {argv: ns('ip', '-j', '-6', 'route', 'show', 'table', 'main'), reply: j([])},
  ];
}

describe('plugins/bridge-check (bridge CHECK)', () => {
  const conf = (over: Partial<CheckedConf> = {}): CheckedConf => ({
    cniVersion: '1.0.0',
    bridge: 'tbr0',
    promiscMode: false,
    prevResult,
    ...over,
  });
  const args: CmdArgs = {containerId: 'c1', netns: NS, ifname: 'eth0', args: '', path: [], stdin: ''};
  const ctxWith = (runner: FakeRunner): PluginContext => ({
    runner,
    log: {debug: () => undefined, warn: () => undefined},
    paths: {networksDir: '/nonexistent', cacheDir: '/nonexistent', stateDir: '/nonexistent', dhcpSocket: ''},
    env: {},
    plugins: pluginLoader,
    etcdClient: noEtcd,
  });
  let ipamChecked: number;
  const ipam = async () => {
    ipamChecked++;
  };
  beforeEach(() => {
    ipamChecked = 0;
  });

  describe('prevResultOf', () => {
    it('is undefined without a prevResult, and keeps only interface, address and gateway of each IP', () => {
      assert.equal(prevResultOf({cniVersion: '1.0.0'}), undefined);
      const r = prevResultOf({
        cniVersion: '1.1.0',
        prevResult: {...prevResult, ips: [{address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 2, extra: 1}]},
      });
      assert.deepEqual(r?.ips, [{interface: 2, address: '10.1.0.2/24', gateway: '10.1.0.1'}]);
      assert.equal(r?.interfaces?.length, 3);
    });

    it("accepts a prevResult of the config's version family only, with the reference's message", () => {
      assert.equal(prevResultOf({cniVersion: '0.3.1', prevResult: {...prevResult, cniVersion: '0.4.0'}})?.cniVersion, '0.4.0');
      assert.throws(
        () => prevResultOf({cniVersion: '1.0.0', prevResult: {...prevResult, cniVersion: '0.4.0'}}),
        (e: unknown) =>
          e instanceof CniError &&
          e.message === 'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"',
      );
    });
  });

  it('passes an attachment that is as ADD left it, after the IPAM check', async () => {
    const runner = new FakeRunner(reads());
    await checkAttachment(ctxWith(runner), args, conf(), ipam);
    runner.assertDone();
    assert.equal(ipamChecked, 1);
  });

  it('needs prevResult, after the namespace and the IPAM check', async () => {
    const runner = new FakeRunner(reads().slice(0, 1));
    await assert.rejects(
      checkAttachment(ctxWith(runner), args, conf({prevResult: undefined}), ipam),
      /^CniError: Required prevResult missing$/,
    );
    runner.assertDone();
    assert.equal(ipamChecked, 1);
  });

  it('reports a namespace that is gone as the reference does', async () => {
    const runner = new FakeRunner([
      {argv: ns('ip', '-j', '-d', 'link', 'show'), reply: {exitCode: 1, stderr: `nsenter: cannot open ${NS}: No such file or directory`}},
    ]);
    await assert.rejects(checkAttachment(ctxWith(runner), args, conf(), ipam), {
      message: `failed to open netns "${NS}": failed to Statfs "${NS}": no such file or directory`,
    });
    assert.equal(ipamChecked, 0);
  });

  it('finds a bridge whose promiscuous mode differs from the config', async () => {
    const runner = new FakeRunner(reads().slice(0, 2));
    await assert.rejects(
      checkAttachment(ctxWith(runner), args, conf({promiscMode: true}), ipam),
      /Bridge interface tbr0 configured Promisc Mode true doesn't match current state: false/,
    );
    runner.assertDone();
  });

  it('finds a host veth that is no longer on the bridge', async () => {
    const moved = [hostLinks[0], {...hostLinks[1], master: 'other0'}];
    const runner = new FakeRunner(reads({host: moved}).slice(0, 2));
    await assert.rejects(checkAttachment(ctxWith(runner), args, conf(), ipam), /CNI veth created for bridge tbr0 was not found/);
    runner.assertDone();
  });

  it('finds a missing address, and a missing static route', async () => {
    const noAddr = new FakeRunner(reads({addrs: [{...addrs[0], addr_info: [{family: 'inet', local: '10.1.0.3', prefixlen: 24}]}]}));
    await assert.rejects(checkAttachment(ctxWith(noAddr), args, conf(), ipam), /Failed to match addr 10.1.0.2\/24 on interface eth0/);
    const withRoute = {...prevResult, routes: [{dst: '192.0.2.0/24', gw: '10.1.0.1'}]};
    const noRoute = new FakeRunner(reads());
    await assert.rejects(
      checkAttachment(ctxWith(noRoute), args, conf({prevResult: withRoute}), ipam),
      /Expected Route \{Dst:192.0.2.0\/24 GW:10.1.0.1\} not found in routing table/,
    );
    // The same route with another gateway is not it either.
    const otherGw = new FakeRunner(reads({routes4: [...routes4, {dst: '192.0.2.0/24', gateway: '10.1.0.9', dev: 'eth0'}]}));
    await assert.rejects(checkAttachment(ctxWith(otherGw), args, conf({prevResult: withRoute}), ipam), /Expected Route/);
    const present = new FakeRunner(reads({routes4: [...routes4, {dst: '192.0.2.0/24', gateway: '10.1.0.1', dev: 'eth0'}]}));
    await checkAttachment(ctxWith(present), args, conf({prevResult: withRoute}), ipam);
  });
});
