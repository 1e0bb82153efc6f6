import {strict as assert} from 'node:assert';
import {errorText} from '../../../src/util/error-text.js';

describe('util/error-text errorText', () => {
  it("is an Error's message, not its name or stack", () => {
    assert.equal(errorText(new TypeError('bad thing')), 'bad thing');
  });

  it('turns anything else into a string', () => {
    assert.equal(errorText('plain words'), 'plain words');
    assert.equal(errorText(42), '42');
    assert.equal(errorText(undefined), 'undefined');
  });

  it('does not read "message" off an object that is not an Error', () => {
    // Only real Errors carry a message worth showing; a thrown plain object is shown as itself.
    assert.equal(errorText({message: 'looks like one'}), '[object Object]');
  });
});
