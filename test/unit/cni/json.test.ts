import {strict as assert} from 'node:assert';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {goMarshal, goMarshalIndent, parseJsonGo, sortKeysDeep} from '../../../src/cni/json.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/results/', import.meta.url));

describe('Go-compatible JSON', () => {
  it('pretty-prints with a 4-space indent, HTML escapes and no trailing newline (reference error bytes)', () => {
    const err = {code: 7, msg: 'invalid characters found in network name', details: 'x<&>'};
    assert.equal(goMarshalIndent(err), readFileSync(`${dir}error-badname.json`, 'utf8'));
  });
  it('prints empty objects and arrays as {} and [] and omits undefined members', () => {
    assert.equal(goMarshalIndent({a: {}, b: [], c: undefined}), '{\n    "a": {},\n    "b": []\n}');
    assert.equal(goMarshal({a: [1, 'x'], b: null}), '{"a":[1,"x"],"b":null}');
  });
  it('escapes control characters and U+2028 as Go does', () => {
    assert.equal(goMarshal('a\u0001\b\n\u2028"\\'), '"a\\u0001\\u0008\\n\\u2028\\"\\\\"');
  });
  it('sorts keys deeply like a Go map', () => {
    assert.equal(goMarshal(sortKeysDeep({b: 1, a: {d: [{z: 1, y: 2}], c: 2}})), '{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}');
  });
  it('gives Go-like decode errors', () => {
    assert.throws(() => parseJsonGo(''), /^Error: unexpected end of JSON input$/);
    assert.throws(() => parseJsonGo('{"a":1'), /unexpected end of JSON input/);
    assert.throws(() => parseJsonGo('{bad}'), /invalid character 'b' looking for beginning of object key string/);
  });
});
