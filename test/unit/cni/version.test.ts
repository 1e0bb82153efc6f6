import {strict as assert} from 'node:assert';
import {checkVersionSupported, compareVersions, parseVersion, versionGte, versionReply} from '../../../src/cni/version.js';
import {CniError} from '../../../src/cni/errors.js';

describe('cni versions', () => {
  it('VERSION reply is the reference list plus 1.1.0, compact with a newline', () => {
    assert.equal(versionReply(), '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
  });
  it('parses like Go: empty is 0.1.0, bad parts are code 6 with strconv text', () => {
    assert.deepEqual(parseVersion(''), [0, 1, 0]);
    assert.deepEqual(parseVersion('1'), [1, 0, 0]);
    assert.throws(
      () => parseVersion('abc'),
      (e: CniError) =>
        e.code === 6 && e.message === 'failed to convert major version part "abc": strconv.Atoi: parsing "abc": invalid syntax',
    );
    assert.throws(() => parseVersion('1.2.3.4'), /too many parts/);
  });
  it('compares semver parts numerically', () => {
    assert.ok(versionGte('0.10.0', '0.4.0'));
    assert.ok(!versionGte('0.3.1', '0.4.0'));
    assert.equal(compareVersions('1.0.0', '0.4.0'), 1);
  });
  it('gates unsupported versions with code 1 naming the list', () => {
    assert.throws(
      () => checkVersionSupported('0.9.9'),
      (e: CniError) =>
        e.code === 1 &&
        e.msg === 'incompatible CNI versions' &&
        e.details === 'config is "0.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    );
    checkVersionSupported('1.1.0');
  });
});
