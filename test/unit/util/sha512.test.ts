import {strict as assert} from 'node:assert';
import {createHash} from 'node:crypto';
import fc from 'fast-check';
import {sha512Hex} from '../../../src/util/sha512.js';

const ref = (s: string): string => createHash('sha512').update(s, 'utf8').digest('hex');

describe('sha512Hex', () => {
  it('matches the FIPS 180-4 examples', () => {
    assert.equal(sha512Hex('abc'), 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
    assert.equal(sha512Hex(''), 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
  });

  it('matches node:crypto at every length around the block and padding edges (0..300 bytes)', () => {
    for (let n = 0; n <= 300; n++) {
      const s = 'x'.repeat(n);
      assert.equal(sha512Hex(s), ref(s), `length ${n}`);
    }
  });

  it('matches node:crypto on arbitrary strings, multi-byte UTF-8 included (3,000 cases)', () => {
    fc.assert(fc.property(fc.string({unit: 'binary', maxLength: 400}), (s) => sha512Hex(s) === ref(s)), {numRuns: 3000});
  });

  it('matches node:crypto on what it is used for: network name + container id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/), fc.stringMatching(/^[0-9a-f]{64}$/), (net, id) => sha512Hex(net + id) === ref(net + id)),
      {numRuns: 1000},
    );
  });
});
