import assert from 'node:assert/strict';
import {failedBatchLine, ipBatch, ipJsonBatch, ipRead} from '../../../src/net/iproute.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

describe('net/iproute', () => {
  it('one command runs plainly, several in one `ip -batch -`, in the namespace through nsenter', async () => {
    const r = new FakeRunner([
      {argv: ['ip', 'link', 'set', 'dev', 'eth0', 'up']},
      {argv: ['nsenter', '--net=/run/netns/x', '--', 'ip', '-batch', '-'], input: 'addr add 10.1.2.3/24 dev eth0\nlink set dev eth0 up\n'},
    ]);
    await ipBatch(r, [['link', 'set', 'dev', 'eth0', 'up']]);
    await ipBatch(r, [['addr', 'add', '10.1.2.3/24', 'dev', 'eth0'], ['link', 'set', 'dev', 'eth0', 'up']], '/run/netns/x');
    await ipBatch(r, []);
    r.assertDone();
  });

  it('refuses a token a batch line could not carry, before running anything', async () => {
    const r = new FakeRunner([]);
    for (const bad of ['eth0 up', 'a"b', "a'b", 'a\\b', '#x', '', 'a\nb']) {
      await assert.rejects(ipBatch(r, [['link', 'set', 'dev', bad, 'up'], ['link', 'show']]), /refusing unsafe token in ip batch/);
    }
    r.assertDone();
  });

  it('reads `ip -j` (empty output is an empty list) and splits a JSON batch per command', async () => {
    const r = new FakeRunner([
      {argv: ['ip', '-j', 'route', 'show'], reply: {stdout: '\n'}},
      {argv: ['ip', '-j', '-d', '-batch', '-'], input: 'link show dev a\nlink show dev b\n', reply: {stdout: '[{"ifname":"a"}]\n', exitCode: 1, stderr: 'Device "b" does not exist.\nCommand failed -:2\n'}},
    ]);
    assert.deepEqual(await ipRead(r, ['route', 'show']), []);
    const {outputs, run} = await ipJsonBatch(r, [['link', 'show', 'dev', 'a'], ['link', 'show', 'dev', 'b']], undefined, false);
    assert.deepEqual(outputs, [[{ifname: 'a'}]]);
    assert.equal(failedBatchLine(run.stderr), 2);
    assert.equal(failedBatchLine('RTNETLINK answers: File exists'), undefined);
    r.assertDone();
  });
});
