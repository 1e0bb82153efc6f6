import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {parseCniArgs} from '../../../src/cni/args.js';
import {CniError} from '../../../src/cni/errors.js';

/** The message of what parseCniArgs throws, after checking it is a code-999 CniError. */
function refusal(raw: string, known: string[]): string {
  try {
    parseCniArgs(raw, known);
  } catch (e) {
    assert.ok(e instanceof CniError && e.code === 999, String(e));
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('cni/args parseCniArgs (the reference LoadArgs)', () => {
  it('an empty CNI_ARGS is no arguments', () => {
    assert.deepEqual(parseCniArgs('', ['IP']), {});
  });

  it('keeps the known keys, case-sensitively, with the value as given', () => {
    assert.deepEqual(parseCniArgs('IP=10.0.0.5;MAC=02:00:00:00:00:01', ['IP', 'MAC']), {IP: '10.0.0.5', MAC: '02:00:00:00:00:01'});
    assert.deepEqual(parseCniArgs('IP=', ['IP']), {IP: ''});
    assert.equal(refusal('ip=10.0.0.5', ['IP']), 'ARGS: unknown args ["ip=10.0.0.5"]');
  });

  it('refuses unknown keys, all of them in one message, unless IgnoreUnknown is 1 or true (any case)', () => {
    assert.equal(refusal('A=1;IP=x;B=2', ['IP']), 'ARGS: unknown args ["A=1" "B=2"]');
    for (const yes of ['1', 'true', 'TRUE', 'True']) {
      assert.deepEqual(parseCniArgs(`A=1;IgnoreUnknown=${yes};IP=x`, ['IP']), {IP: 'x'}, yes);
    }
    for (const no of ['0', 'false', 'FALSE']) {
      assert.equal(refusal(`IgnoreUnknown=${no};A=1`, ['IP']), 'ARGS: unknown args ["A=1"]', no);
    }
  });

  it('IgnoreUnknown counts wherever it stands, and is never returned as an argument', () => {
    assert.deepEqual(parseCniArgs('A=1;IP=x;IgnoreUnknown=1', ['IP']), {IP: 'x'});
    assert.deepEqual(parseCniArgs('IgnoreUnknown=1', ['IP', 'IgnoreUnknown']), {});
  });

  it("refuses an IgnoreUnknown that is not a boolean, as Go's unmarshal words it", () => {
    assert.equal(
      refusal('IgnoreUnknown=yes', ['IP']),
      'ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes',
    );
  });

  it('refuses a piece without exactly one "="', () => {
    assert.equal(refusal('IP=10.0.0.5;junk', ['IP']), 'ARGS: invalid pair "junk"');
    assert.equal(refusal('IP=a=b', ['IP']), 'ARGS: invalid pair "IP=a=b"');
    assert.equal(refusal('IP=x;', ['IP']), 'ARGS: invalid pair ""', 'a trailing ";" is an empty piece');
  });

  it('returns exactly the known pairs of any well-formed list with IgnoreUnknown=1', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/).filter((k) => k !== 'IgnoreUnknown');
    const value = fc.stringMatching(/^[^;=]{0,8}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, value), {selector: ([k]) => k, maxLength: 6}),
        fc.array(key, {maxLength: 3}),
        (pairs, known) => {
          const raw = ['IgnoreUnknown=1', ...pairs.map(([k, v]) => `${k}=${v}`)].join(';');
          const want = Object.fromEntries(pairs.filter(([k]) => known.includes(k)));
          assert.deepEqual(parseCniArgs(raw, known), want);
        },
      ),
    );
  });
});
