import {strict as assert} from 'node:assert';
import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {packagePath, packageRoot} from '../../../src/util/package-root.js';

// This test runs from dist/test/unit/util/; the package is four levels up.
const expected = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('util/package-root', () => {
  it("finds the directory whose package.json is cni-docker's, walking up from the compiled module", () => {
    assert.equal(packageRoot(), expected);
    assert.equal((JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {name: string}).name, 'cni-docker');
  });

  it('packagePath joins inside the package', () => {
    assert.equal(packagePath('configs'), path.join(expected, 'configs'));
    assert.ok(
      existsSync(packagePath('dist', 'src', 'ipam', 'dhcp', 'ns-worker.js')),
      'the DHCP worker is found where worker-transport looks',
    );
  });
});
