import {strict as assert} from 'node:assert';
import {UsageError, UserError} from '../../src/errors.js';

describe('errors UserError and UsageError', () => {
  it('a UserError exits 1 and keeps its cause', () => {
    const cause = new Error('EACCES');
    const e = new UserError('cannot write the state', {cause});
    assert.equal(e.exitCode, 1);
    assert.equal(e.message, 'cannot write the state');
    assert.equal(e.name, 'UserError');
    assert.equal(e.cause, cause);
  });

  it('a UsageError is a UserError that exits 2', () => {
    const e = new UsageError('--ip needs --network');
    assert.ok(e instanceof UserError);
    assert.ok(e instanceof Error);
    assert.equal(e.exitCode, 2);
    assert.equal(e.name, 'UsageError');
  });
});
