import {strict as assert} from 'node:assert';
import {progressCounter, type Progress} from '../../../src/runtime/outcome.js';

describe('runtime/outcome progressCounter', () => {
  it('counts finished and failed targets for each settled one', () => {
    const seen: Progress[] = [];
    const step = progressCounter(3, (p) => seen.push(p))!;
    step({status: 'fulfilled', value: 1});
    step({status: 'rejected', reason: new Error('x')});
    step({status: 'fulfilled', value: 2});
    assert.deepEqual(seen, [
      {done: 1, failed: 0, total: 3},
      {done: 2, failed: 1, total: 3},
      {done: 3, failed: 1, total: 3},
    ]);
    assert.equal(progressCounter(3, undefined), undefined);
  });
});
