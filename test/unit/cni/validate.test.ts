import {strict as assert} from 'node:assert';
import {validateContainerId, validateIfName, validateNetworkName} from '../../../src/cni/validate.js';
import {CniError} from '../../../src/cni/errors.js';

function err(fn: () => void): {code: number; msg: string; details?: string} {
  try {
    fn();
  } catch (e) {
    return (e as CniError).toJSON();
  }
  throw new Error('expected an error');
}

describe('validate (reference messages and codes)', () => {
  it('container ids', () => {
    validateContainerId('a1_b.c-d');
    assert.deepEqual(
      err(() => validateContainerId('')),
      {code: 3, msg: 'missing containerID'},
    );
    assert.deepEqual(
      err(() => validateContainerId('inv ctr/1')),
      {code: 4, msg: 'invalid characters in containerID', details: 'inv ctr/1'},
    );
    assert.equal(err(() => validateContainerId('-a')).code, 4);
  });
  it('network names', () => {
    validateNetworkName('tcore.net_1-x');
    assert.deepEqual(
      err(() => validateNetworkName('')),
      {code: 7, msg: 'missing network name'},
    );
    assert.deepEqual(
      err(() => validateNetworkName('inv net')),
      {code: 7, msg: 'invalid characters found in network name', details: 'inv net'},
    );
  });
  it('interface names', () => {
    validateIfName('eth0');
    validateIfName('a'.repeat(15));
    assert.deepEqual(
      err(() => validateIfName('a'.repeat(16))),
      {code: 4, msg: 'interface name is too long', details: 'interface name should be less than 16 characters'},
    );
    assert.equal(err(() => validateIfName('é'.repeat(8))).msg, 'interface name is too long');
    assert.deepEqual(
      err(() => validateIfName('..')),
      {code: 4, msg: 'interface name is . or ..'},
    );
    for (const bad of ['a/b', 'a:b', 'a b', 'a\tb', 'a\u00a0b']) {
      assert.equal(err(() => validateIfName(bad)).msg, 'interface name contains / or : or whitespace characters', bad);
    }
    assert.deepEqual(
      err(() => validateIfName('')),
      {code: 4, msg: 'interface name is empty'},
    );
  });
});
