import {strict as assert} from 'node:assert';
import {GroupCommit, type BatchCommand} from '../../../src/exec/group-commit.js';
import type {RunResult} from '../../../src/exec/runner.js';

const ok = (stdout = ''): RunResult => ({stdout, stderr: '', exitCode: 0});

/**
 * A command over lines: each line is one unit; a line "bad" fails and stops the run there,
 * saying which line (1-based) it was.
 */
function lineCommand(): BatchCommand<{input: string}> & {runs: string[]} {
  const runs: string[] = [];
  return {
    runs,
    async exec(input) {
      runs.push(input);
      const lines = input.split('\n').slice(0, -1);
      const bad = lines.indexOf('bad');
      return bad < 0 ? ok(input) : {stdout: '', stderr: `failed at ${bad + 1}`, exitCode: 1};
    },
    split(jobs, run) {
      if (run.exitCode === 0) return jobs.map((j) => ok(j.input));
      const at = Number(/failed at (\d+)/.exec(run.stderr)?.[1]);
      let first = 1;
      for (const [k, j] of jobs.entries()) {
        const last = first + j.input.split('\n').length - 2;
        if (at <= last) return [...jobs.slice(0, k).map((x) => ok(x.input)), {...run, stderr: `failed at ${at - first + 1}`}];
        first = last + 1;
      }
      return undefined;
    },
  };
}

describe('exec/group-commit GroupCommit', () => {
  it('runs the first input at once and the ones submitted meanwhile together in the next run', async () => {
    const cmd = lineCommand();
    const q = new GroupCommit(cmd, 64, 1);
    const rs = await Promise.all(['a\n', 'b\n', 'c\n'].map((input) => q.submit({input})));
    assert.deepEqual(cmd.runs, ['a\n', 'b\nc\n']);
    assert.deepEqual(
      rs.map((r) => r.stdout),
      ['a\n', 'b\n', 'c\n'],
    );
  });

  it('splits a failure back: earlier inputs succeed, the failing one gets its own line number, later ones run again', async () => {
    const cmd = lineCommand();
    const q = new GroupCommit(cmd, 64, 1);
    const rs = await Promise.all(['first\n', 'a\n', 'x\nbad\n', 'c\n'].map((input) => q.submit({input})));
    assert.deepEqual(cmd.runs, ['first\n', 'a\nx\nbad\nc\n', 'c\n']);
    assert.deepEqual(
      rs.map((r) => [r.exitCode, r.stderr]),
      [
        [0, ''],
        [0, ''],
        [1, 'failed at 2'],
        [0, ''],
      ],
    );
  });

  it('runs each input on its own when the combined outcome cannot be split', async () => {
    const cmd = lineCommand();
    cmd.split = () => undefined;
    const q = new GroupCommit(cmd, 64, 1);
    await Promise.all(['first\n', 'a\n', 'b\n'].map((input) => q.submit({input})));
    assert.deepEqual(cmd.runs, ['first\n', 'a\nb\n', 'a\n', 'b\n']);
  });

  it('takes at most maxInputs per run, and fails every job of a run whose command throws', async () => {
    const cmd = lineCommand();
    const q = new GroupCommit(cmd, 2, 1);
    await Promise.all(['1\n', '2\n', '3\n', '4\n'].map((input) => q.submit({input})));
    assert.deepEqual(cmd.runs, ['1\n', '2\n3\n', '4\n']);
    const broken = new GroupCommit<{input: string}>({exec: () => Promise.reject(new Error('no such file')), split: () => undefined}, 64, 1);
    await assert.rejects(broken.submit({input: 'a\n'}), /no such file/);
  });
});
