import {strict as assert} from 'node:assert';
import {execFile} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {cli} from '../helpers/cli.js';

/**
 * The shared conformance harness (../shared/conformance beside the repo):
 * every public case, our plugins (installed as CNI executables) against the
 * reference binaries in /usr/lib/cni, including both cross-DEL directions.
 */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const HARNESS = path.resolve(REPO, '../shared/conformance/conform.mjs');

describe('conformance harness: our plugins against the reference (real kernel)', function () {
  this.timeout(900_000);
  let dir = '';

  before(() => {
    if (process.getuid?.() !== 0) throw new Error('the conformance harness needs root: run `sudo npm test` (after `sudo bin/setup`)');
    if (!existsSync(HARNESS))
      throw new Error(`conformance harness not found at ${HARNESS} (the shared/ folder must sit beside the repository)`);
    if (!existsSync('/usr/lib/cni/bridge')) throw new Error('reference plugins missing in /usr/lib/cni: run `sudo bin/setup`');
    dir = mkdtempSync(path.join(os.tmpdir(), 'cni-docker-cand-'));
  });

  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  it('passes every public case', async () => {
    const installed = await cli(['install-plugins', '--dir', dir]);
    assert.equal(installed.code, 0, installed.stderr);
    const {code, stdout, stderr} = await new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      execFile(process.execPath, [HARNESS, '--ref', '/usr/lib/cni', '--cand', dir], {maxBuffer: 64 << 20}, (err, out, errOut) => {
        resolve({code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: out, stderr: errOut});
      });
    });
    const lines = stdout.trimEnd().split('\n');
    const failures = lines.filter((l) => l.startsWith('FAIL') || l.startsWith('  '));
    assert.deepEqual(failures, [], `harness failures:\n${failures.join('\n')}\n${stderr}`);
    const summary = /^(\d+) passed, (\d+) failed$/.exec(lines[lines.length - 1] ?? '');
    assert.ok(summary, `no summary line in harness output:\n${stdout.slice(-2000)}\n${stderr}`);
    assert.equal(summary[2], '0');
    assert.ok(Number(summary[1]) >= 20, `expected at least the 20 public cases, got ${summary[1]}`);
    assert.equal(code, 0);
  });
});
