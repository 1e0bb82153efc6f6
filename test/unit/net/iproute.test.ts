import assert from 'node:assert/strict';
import type {RunOptions, RunResult, Runner} from '../../../src/exec/runner.js';
import {CommandError} from '../../../src/exec/runner.js';
import {failedBatchLine, ipBatch, ipJsonBatch, ipRead, type IpLine} from '../../../src/net/iproute.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

describe('net/iproute', () => {
  it('one command runs plainly, several in one `ip -batch -`, in the namespace through nsenter', async () => {
    const r = new FakeRunner([
      {argv: ['ip', 'link', 'set', 'dev', 'eth0', 'up']},
      {argv: ['nsenter', '--net=/run/netns/x', '--', 'ip', '-batch', '-'], input: 'addr add 10.1.2.3/24 dev eth0\nlink set dev eth0 up\n'},
    ]);
    await ipBatch(r, [['link', 'set', 'dev', 'eth0', 'up']]);
    await ipBatch(
      r,
      [
        ['addr', 'add', '10.1.2.3/24', 'dev', 'eth0'],
        ['link', 'set', 'dev', 'eth0', 'up'],
      ],
      '/run/netns/x',
    );
    await ipBatch(r, []);
    r.assertDone();
  });

  it('refuses a token a batch line could not carry, before running anything', async () => {
    const r = new FakeRunner([]);
    for (const bad of ['eth0 up', 'a"b', "a'b", 'a\\b', '#x', '', 'a\nb']) {
      await assert.rejects(
        ipBatch(r, [
          ['link', 'set', 'dev', bad, 'up'],
          ['link', 'show'],
        ]),
        /refusing unsafe token in ip batch/,
      );
    }
    r.assertDone();
  });

  it('reads `ip -j` (empty output is an empty list) and splits a JSON batch per command', async () => {
    const r = new FakeRunner([
      {argv: ['ip', '-j', 'route', 'show'], reply: {stdout: '\n'}},
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'link show dev a\nlink show dev b\n',
        reply: {stdout: '[{"ifname":"a"}]\n', exitCode: 1, stderr: 'Device "b" does not exist.\nCommand failed -:2\n'},
      },
    ]);
    assert.deepEqual(await ipRead(r, ['route', 'show']), []);
    const {outputs, run} = await ipJsonBatch(
      r,
      [
        ['link', 'show', 'dev', 'a'],
        ['link', 'show', 'dev', 'b'],
      ],
      undefined,
      false,
    );
    assert.deepEqual(outputs, [[{ifname: 'a'}]]);
    assert.equal(failedBatchLine(run.stderr), 2);
    assert.equal(failedBatchLine('RTNETLINK answers: File exists'), undefined);
    r.assertDone();
  });
});

/**
 * `ip -j -d -batch -` in the host namespace, simulated: `link show dev X`
 * prints `[{"ifname":"X"}]`, `link add X` applies X and prints nothing, and
 * `link add BAD` fails the run there ("Command failed -:N"), keeping what
 * came before it.
 */
class FakeIpBatch implements Runner {
  readonly runs: string[] = [];
  readonly applied: string[] = [];
  maxInFlight = 0;
  private inFlight = 0;

  async run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    assert.deepEqual([file, ...args], ['ip', '-j', '-d', '-batch', '-']);
    assert.equal(opts.reject, false);
    const input = String(opts.input);
    this.runs.push(input);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    let stdout = '';
    for (const [i, l] of input.split('\n').filter(Boolean).entries()) {
      const [obj, verb, , name] = l.split(' ');
      if (obj === 'link' && verb === 'add' && l.endsWith('BAD'))
        return {stdout, stderr: `Error: bad.\nCommand failed -:${i + 1}\n`, exitCode: 1};
      if (verb === 'add') this.applied.push(l.split(' ')[2]);
      if (verb === 'show') stdout += `[{"ifname":"${name}"}]\n`;
    }
    return {stdout, stderr: '', exitCode: 0};
  }
}

const show = (n: string): IpLine => ['link', 'show', 'dev', n];
const add = (n: string): IpLine => ['link', 'add', n];

describe('net/iproute (host `ip -j -d -batch -` group commit)', () => {
  it('sends a lone batch at once; those that arrive while one runs go together in the next, each getting its own answers', async () => {
    const r = new FakeIpBatch();
    const asks = [[show('a')], [add('b'), show('b')], [show('c'), add('d'), show('d')], [add('e')]];
    const out = await Promise.all(asks.map((lines) => ipJsonBatch(r, lines)));
    assert.equal(r.maxInFlight, 1);
    assert.deepEqual(r.runs, [
      'link show dev a\n',
      'link add b\nlink show dev b\nlink show dev c\nlink add d\nlink show dev d\nlink add e\n',
    ]);
    assert.deepEqual(
      out.map((o) => o.outputs),
      [[[{ifname: 'a'}]], [[{ifname: 'b'}]], [[{ifname: 'c'}], [{ifname: 'd'}]], []],
    );
    assert.deepEqual(r.applied, ['b', 'd', 'e']);
  });

  it('splits a failure back: earlier batches done, the failing one gets what it printed and its own command number, later ones run again', async () => {
    const r = new FakeIpBatch();
    const asks = [[show('a')], [add('b')], [show('c'), ['link', 'add', 'BAD']], [add('d'), show('d')]];
    const out = await Promise.all(asks.map((lines) => ipJsonBatch(r, lines, undefined, false)));
    assert.deepEqual(
      out.map((o) => o.run.exitCode),
      [0, 0, 1, 0],
    );
    assert.equal(out[2].run.stderr, 'Error: bad.\nCommand failed -:2\n');
    assert.deepEqual(out[2].outputs, [[{ifname: 'c'}]]);
    assert.deepEqual(out[3].outputs, [[{ifname: 'd'}]]);
    assert.deepEqual(r.runs, [
      'link show dev a\n',
      'link add b\nlink show dev c\nlink add BAD\nlink add d\nlink show dev d\n',
      'link add d\nlink show dev d\n',
    ]);
    assert.deepEqual(r.applied, ['b', 'd'], 'every good batch applied exactly once');
    await assert.rejects(
      ipJsonBatch(r, [add('x'), ['link', 'add', 'BAD']]),
      (e: unknown) => e instanceof CommandError && e.argv.join(' ') === 'ip -j -d -batch -' && /-:2/.test(e.stderr),
    );
  });
});
