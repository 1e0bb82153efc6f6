import {strict as assert} from 'node:assert';
import {UndoStack} from '../../../src/util/undo.js';

function recordingLog(): {warnings: string[]; log: {debug(m: string): void; warn(m: string): void}} {
  const warnings: string[] = [];
  return {warnings, log: {debug: () => undefined, warn: (m: string) => void warnings.push(m)}};
}

describe('util/undo UndoStack', () => {
  it('unwinds in reverse order, goes on past a failing step, logs it and does not throw', async () => {
    const done: string[] = [];
    const {warnings, log} = recordingLog();
    const undo = new UndoStack();
    undo.push('remove a', async () => done.push('a'));
    undo.push('remove b', async () => {
      throw new Error('b is stuck');
    });
    undo.push('remove c', async () => done.push('c'));
    assert.equal(undo.size, 3);
    await undo.unwind(log);
    assert.deepEqual(done, ['c', 'a']);
    assert.deepEqual(warnings, ['rollback: failed to remove b: b is stuck']);
    assert.equal(undo.size, 0);
    await undo.unwind(log);
    assert.deepEqual(done, ['c', 'a'], 'a step runs once');
  });

  it('commit forgets the steps', async () => {
    let ran = false;
    const undo = new UndoStack();
    undo.push('x', async () => (ran = true));
    undo.commit();
    await undo.unwind();
    assert.equal(ran, false);
  });

  it("run returns the body's value and undoes nothing when it succeeds", async () => {
    let ran = false;
    const v = await UndoStack.run(undefined, async (undo) => {
      undo.push('x', async () => (ran = true));
      return 7;
    });
    assert.equal(v, 7);
    assert.equal(ran, false);
  });

  it("run unwinds when the body fails and rethrows the body's error, not an undo step's", async () => {
    const done: string[] = [];
    const {warnings, log} = recordingLog();
    const original = new Error('step 3 failed');
    await assert.rejects(
      UndoStack.run(log, async (undo) => {
        undo.push('one', async () => done.push('one'));
        undo.push('two', async () => {
          throw new Error('two failed too');
        });
        throw original;
      }),
      (e) => e === original,
    );
    assert.deepEqual(done, ['one']);
    assert.deepEqual(warnings, ['rollback: failed to two: two failed too']);
  });
});
