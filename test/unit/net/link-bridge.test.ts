import assert from 'node:assert/strict';
import {delBridgeIfUnused, ensureBridge, waitPortUp} from '../../../src/net/link-bridge.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const link = (flags: string[], kind = 'bridge'): string =>
  JSON.stringify([{ifindex: 7, ifname: 'tbrbr9', flags, mtu: 1500, address: '02:aa:00:00:00:01', linkinfo: {info_kind: kind}}]);
const SHOW = ['ip', '-j', '-d', 'link', 'show', 'dev', 'tbrbr9'];

describe('net/link-bridge', () => {
  it('ensureBridge only reads a bridge that is already up, sets one up that is not, and creates one in a single batch', async () => {
    const r1 = new FakeRunner([{argv: SHOW, reply: {stdout: link(['BROADCAST', 'UP'])}}]);
    assert.equal((await ensureBridge(r1, {name: 'tbrbr9', mtu: 0, promisc: false})).created, false);
    r1.assertDone();
    const r2 = new FakeRunner([
      {argv: SHOW, reply: {stdout: link(['BROADCAST', 'UP'])}},
      {argv: ['ip', 'link', 'set', 'dev', 'tbrbr9', 'promisc', 'on', 'up']},
    ]);
    await ensureBridge(r2, {name: 'tbrbr9', mtu: 0, promisc: true});
    r2.assertDone();
    const r3 = new FakeRunner([
      {argv: SHOW, reply: {exitCode: 1, stderr: 'Device "tbrbr9" does not exist.'}},
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'link add tbrbr9 mtu 1400 type bridge\nlink set dev tbrbr9 up\nlink show dev tbrbr9\n',
        reply: {stdout: `${link(['UP'])}\n`},
      },
    ]);
    const made = await ensureBridge(r3, {name: 'tbrbr9', mtu: 1400, promisc: false});
    assert.deepEqual([made.created, made.link.address], [true, '02:aa:00:00:00:01']);
    r3.assertDone();
  });

  it('ensureBridge refuses a link of that name that is not a bridge, changing nothing', async () => {
    const r = new FakeRunner([{argv: SHOW, reply: {stdout: link(['UP'], 'veth')}}]);
    await assert.rejects(ensureBridge(r, {name: 'tbrbr9', mtu: 0, promisc: false}), {
      message: '"tbrbr9" already exists but is not a bridge',
    });
    r.assertDone();
  });

  it('delBridgeIfUnused deletes a bridge only while it has no port', async () => {
    const ports = ['ip', '-j', 'link', 'show', 'master', 'tbrbr9'];
    const r = new FakeRunner([
      {argv: ports, reply: {stdout: '[{"ifindex":9,"ifname":"veth00000001","flags":[],"mtu":1500}]'}},
      {argv: ports, reply: {stdout: '[]'}},
      {argv: ['ip', 'link', 'del', 'dev', 'tbrbr9'], reply: {exitCode: 1, stderr: 'Cannot find device "tbrbr9"'}},
    ]);
    await delBridgeIfUnused(r, 'tbrbr9');
    await delBridgeIfUnused(r, 'tbrbr9');
    r.assertDone();
  });

  it('waitPortUp polls on the reference schedule and names the last state', async () => {
    const port = (state: string): string =>
      JSON.stringify([{ifindex: 9, ifname: 'veth00000001', flags: [], mtu: 1500, operstate: state, address: '02:bb:00:00:00:09'}]);
    const show = ['ip', '-j', '-d', 'link', 'show', 'dev', 'veth00000001'];
    const slept: number[] = [];
    const sleep = async (ms: number): Promise<void> => void slept.push(ms);
    const r = new FakeRunner([
      {argv: show, reply: {stdout: port('LOWERLAYERDOWN')}},
      {argv: show, reply: {stdout: port('UP')}},
    ]);
    assert.equal((await waitPortUp(r, 'veth00000001', sleep, {operstate: 'DOWN'})).address, '02:bb:00:00:00:09');
    assert.deepEqual(slept, [50, 500]);
    r.assertDone();
    const down = new FakeRunner(Array.from({length: 5}, () => ({argv: show, reply: {stdout: port('DOWN')}})));
    await assert.rejects(waitPortUp(down, 'veth00000001', sleep), {message: 'bridge port in error state: DOWN'});
    down.assertDone();
  });
});
