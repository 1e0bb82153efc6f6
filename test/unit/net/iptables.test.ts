import assert from 'node:assert/strict';
import {CommandError} from '../../../src/exec/runner.js';
import {failedRestoreLine, restoreNoflush} from '../../../src/net/iptables.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

/**
 * iptables-restore's contract, simulated: blocks `*nat ... COMMIT` applied in
 * order, each COMMIT its own transaction; a line `-X BAD` fails the run there
 * ("line N failed"), keeping what was committed before it. `runner` answers
 * any number of runs in any order; any other command is unexpected.
 */
interface FakeRestore {
  runner: FakeRunner;
  runs: string[];
  applied: string[];
  maxInFlight: number;
}

function fakeRestore(
  stderrFor: (line: number) => string = (n) =>
    `iptables-restore: line ${n} failed: Bad rule (does a matching rule exist in that chain?).\n`,
): FakeRestore {
  let inFlight = 0;
  const sim: FakeRestore = {
    runs: [],
    applied: [],
    maxInFlight: 0,
    runner: new FakeRunner(async ({argv, input, options}) => {
      assert.deepEqual(argv, ['iptables-restore', '--noflush', '-w']);
      assert.equal(options.reject, false);
      sim.runs.push(String(input));
      sim.maxInFlight = Math.max(sim.maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      let block: string[] = [];
      for (const [i, l] of String(input).split('\n').entries()) {
        if (l === '-X BAD') return {stderr: stderrFor(i + 1), exitCode: 1};
        if (l.startsWith('-A ')) block.push(l.slice(3));
        if (l === 'COMMIT') {
          sim.applied.push(...block);
          block = [];
        }
      }
      return {};
    }),
  };
  return sim;
}

const block = (...rules: string[]): string => ['*nat', ...rules, 'COMMIT', ''].join('\n');

describe('net/iptables (iptables-restore group commit)', () => {
  it('sends a lone input at once, as it is', async () => {
    const r = fakeRestore();
    const res = await restoreNoflush(r.runner, 'iptables-restore', block('-A a'));
    assert.equal(res.exitCode, 0);
    assert.deepEqual(r.runs, [block('-A a')]);
    assert.deepEqual(r.applied, ['a']);
  });

  it('runs two inputs at once; those that arrive while two run go together in the next one', async () => {
    const r = fakeRestore();
    const all = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => restoreNoflush(r.runner, 'iptables-restore', block(`-A ${x}`))));
    assert.deepEqual(
      all.map((x) => x.exitCode),
      [0, 0, 0, 0, 0],
    );
    assert.equal(r.maxInFlight, 2);
    assert.deepEqual(r.runs, [block('-A a'), block('-A b'), block('-A c') + block('-A d') + block('-A e')]);
    assert.deepEqual(r.applied, ['a', 'b', 'c', 'd', 'e']);
  });

  it('splits a failure back: earlier inputs applied, the failing one gets its own line number, later ones run again', async () => {
    const r = fakeRestore();
    const inputs = [block('-A a'), block('-A b'), block('-A c'), block('-A d', '-X BAD'), block('-A e')];
    const out = await Promise.all(inputs.map((i) => restoreNoflush(r.runner, 'iptables-restore', i, false)));
    assert.deepEqual(
      out.map((x) => x.exitCode),
      [0, 0, 0, 1, 0],
    );
    assert.equal(out[3].stderr, 'iptables-restore: line 3 failed: Bad rule (does a matching rule exist in that chain?).\n');
    assert.deepEqual(r.runs, [inputs[0], inputs[1], inputs[2] + inputs[3] + inputs[4], inputs[4]]);
    assert.deepEqual(r.applied, ['a', 'b', 'c', 'e'], 'every good input applied exactly once');
  });

  it('runs each input of a failed batch on its own when stderr names no line', async () => {
    const r = fakeRestore(() => 'iptables-restore: unable to initialize table\n');
    const inputs = [block('-A a'), block('-A b'), block('-A c', '-X BAD'), block('-A d')];
    const out = await Promise.all(inputs.map((i) => restoreNoflush(r.runner, 'iptables-restore', i, false)));
    assert.deepEqual(
      out.map((x) => x.exitCode),
      [0, 0, 1, 0],
    );
    assert.deepEqual(r.runs, [inputs[0], inputs[1], inputs[2] + inputs[3], inputs[2], inputs[3]]);
  });

  it('throws a CommandError for a failed input unless reject is false', async () => {
    const r = fakeRestore();
    await assert.rejects(
      restoreNoflush(r.runner, 'iptables-restore', block('-X BAD')),
      (e: unknown) => e instanceof CommandError && /line 2 failed/.test(e.stderr),
    );
  });

  it("reads the failing line from both of iptables-restore's formats", () => {
    assert.equal(failedRestoreLine('iptables-restore: line 12 failed: Chain already exists.'), 12);
    assert.equal(failedRestoreLine("iptables-restore v1.8.9 (nf_tables): Couldn't load match `nope'\nError occurred at line: 4\n"), 4);
    assert.equal(failedRestoreLine('iptables-restore: unable to initialize table'), undefined);
  });
});
