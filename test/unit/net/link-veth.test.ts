import assert from 'node:assert/strict';
import {createVeth, vethOnExistingBridge} from '../../../src/net/link-veth.js';
import {FakeRunner, type Expectation} from '../../helpers/fake-runner.js';

const SPEC = {netns: '/run/netns/x', ifname: 'eth0', mtu: 0, mac: '02:00:00:00:00:05'};

describe('net/link-veth', () => {
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
    const r = new FakeRunner([
      {
        argv: ['ip', '-batch', '-'],
        input: batch('veth00000001'),
        reply: {exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n'},
      },
      {
        argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'],
        reply: {stdout: '[{"ifindex":3,"ifname":"veth00000001","flags":[],"mtu":1500}]'},
      },
      {argv: ['ip', '-batch', '-'], input: batch('veth00000002')},
    ]);
    const v = await createVeth(
      r,
      {netns: '/run/netns/x', ifname: 'eth0', mtu: 1400, mac: '02-00-00-00-00-05'},
      {bridge: 'tbrbr9', hairpin: true, isolated: true},
      () => names.shift()!,
    );
    assert.deepEqual(v, {hostName: 'veth00000002', containerMac: '02:00:00:00:00:05'});
    r.assertDone();
  });

  it('createVeth reports an existing container ifname like the reference', async () => {
    const r = new FakeRunner([
      {argv: ['ip', '-batch', '-'], reply: {exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n'}},
      {
        argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'],
        reply: {exitCode: 1, stderr: 'Device "veth00000001" does not exist.'},
      },
    ]);
    await assert.rejects(
      createVeth(r, SPEC, {bridge: 'tbrbr9', hairpin: false}, () => 'veth00000001'),
      {message: 'container veth name provided (eth0) already exists'},
    );
    r.assertDone();
  });

  it('createVeth deletes the pair when joining the bridge fails', async () => {
    const r = new FakeRunner([
      {
        argv: ['ip', '-batch', '-'],
        reply: {exitCode: 1, stderr: 'RTNETLINK answers: Too many levels of symbolic links\nCommand failed -:3\n'},
      },
      {argv: ['ip', 'link', 'del', 'dev', 'veth00000001']},
    ]);
    await assert.rejects(
      createVeth(r, SPEC, {bridge: 'tbrbr9', hairpin: false}, () => 'veth00000001'),
      {
        message: 'failed to connect "veth00000001" to bridge tbrbr9: too many levels of symbolic links',
      },
    );
    r.assertDone();
  });

  describe('vethOnExistingBridge (the bridge read and the pair in one batch)', () => {
    const port = {bridge: 'tbrbr9', hairpin: false};
    const batch =
      'link show dev tbrbr9\nlink add veth00000001 txqlen 0 type veth peer name eth0 txqlen 0 address 02:00:00:00:00:05 netns /run/netns/x\nlink set dev veth00000001 up\nlink set dev veth00000001 master tbrbr9\nlink set dev veth00000001 type bridge_slave hairpin off\n';
    const link = (flags: string[], kind = 'bridge'): string =>
      `${JSON.stringify([{ifindex: 7, ifname: 'tbrbr9', flags, mtu: 1500, address: '02:aa:00:00:00:01', linkinfo: {info_kind: kind}}])}\n`;
    const run = async (reply: Expectation['reply'], after: Expectation[] = [], br = {name: 'tbrbr9', mtu: 0, promisc: false}) => {
      const r = new FakeRunner([{argv: ['ip', '-j', '-d', '-batch', '-'], input: batch, reply}, ...after]);
      const out = await vethOnExistingBridge(r, br, SPEC, port, () => 'veth00000001');
      r.assertDone();
      return out;
    };
    it('an up bridge: its link as read before the port joined, and the pair', async () => {
      const out = await run({stdout: link(['BROADCAST', 'UP'])});
      assert.deepEqual([out?.link.address, out?.hostName, out?.containerMac], ['02:aa:00:00:00:01', 'veth00000001', '02:00:00:00:00:05']);
    });
    it('no such bridge, or the pair refused: nothing was made, nothing deleted', async () => {
      assert.equal(await run({exitCode: 1, stderr: 'Device "tbrbr9" does not exist.\nCommand failed -:1\n'}), undefined);
      assert.equal(
        await run({exitCode: 1, stdout: link(['UP']), stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n'}),
        undefined,
      );
    });
    it('a failure once the pair exists, a bridge that is down, not a bridge, or not promiscuous as asked: the pair is deleted', async () => {
      const del: Expectation = {argv: ['ip', 'link', 'del', 'dev', 'veth00000001']};
      assert.equal(
        await run({exitCode: 1, stdout: link(['UP']), stderr: 'RTNETLINK answers: Invalid argument\nCommand failed -:4\n'}, [del]),
        undefined,
      );
      assert.equal(await run({stdout: link(['BROADCAST'])}, [del]), undefined);
      assert.equal(await run({stdout: link(['UP'], 'bond')}, [del]), undefined);
      assert.equal(await run({stdout: link(['UP'])}, [del], {name: 'tbrbr9', mtu: 0, promisc: true}), undefined);
    });
  });
});
