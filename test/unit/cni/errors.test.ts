import {strict as assert} from 'node:assert';
import {CniError, ErrorCode, toCniError, wrapError} from '../../../src/cni/errors.js';

describe('cni/errors', () => {
  it("a CniError prints as the spec's {code, msg, details}, without details when there are none", () => {
    const e = new CniError(ErrorCode.InvalidNetworkConfig, 'bad config', 'line 3');
    assert.deepEqual(JSON.parse(JSON.stringify(e)), {code: 7, msg: 'bad config', details: 'line 3'});
    assert.deepEqual(new CniError(ErrorCode.Internal, 'x').toJSON(), {code: 999, msg: 'x'});
    // An empty details string is no details (Go's omitempty).
    const empty = new CniError(ErrorCode.Internal, 'x', '');
    assert.equal(empty.details, undefined);
    assert.deepEqual(empty.toJSON(), {code: 999, msg: 'x'});
    assert.equal(e.msg, e.message);
    assert.equal(e.name, 'CniError');
  });

  it('wrap prefixes the message and keeps code and details, leaving the original as it was', () => {
    const inner = new CniError(ErrorCode.TryAgainLater, 'busy', 'retry');
    const outer = inner.wrap('failed to allocate');
    assert.deepEqual(outer.toJSON(), {code: 11, msg: 'failed to allocate: busy', details: 'retry'});
    assert.equal(inner.message, 'busy');
  });

  it('toCniError passes a CniError through and makes anything else code 999', () => {
    const c = new CniError(ErrorCode.UnknownContainer, 'gone');
    assert.equal(toCniError(c), c);
    assert.deepEqual(toCniError(new RangeError('out of range')).toJSON(), {code: 999, msg: 'out of range'});
    assert.deepEqual(toCniError('just text').toJSON(), {code: 999, msg: 'just text'});
  });

  it("wrapError keeps a CniError's code and gives a plain error 999", () => {
    assert.deepEqual(wrapError('ADD', new CniError(ErrorCode.InvalidNetns, 'no netns')).toJSON(), {code: 8, msg: 'ADD: no netns'});
    assert.deepEqual(wrapError('ADD', new Error('boom')).toJSON(), {code: 999, msg: 'ADD: boom'});
  });
});
