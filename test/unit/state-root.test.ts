import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {defaultPaths} from '../../src/exec/plugin.js';
import {makeDeps, resolveStateRoot, statePaths} from '../../src/deps.js';
import {UserError} from '../../src/errors.js';

describe('state root (deps)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync('/tmp/ov-root-')));
  after(() => rmSync(dir, {recursive: true, force: true}));

  it("'/' gives the reference's own paths", () => {
    assert.deepEqual(statePaths('/'), defaultPaths);
    assert.deepEqual(makeDeps({env: {}, cwd: '/'}).paths, defaultPaths);
  });

  it('moves every state path under another root', () => {
    assert.deepEqual(statePaths(dir), {
      networksDir: `${dir}/var/lib/cni/networks`,
      cacheDir: `${dir}/var/lib/cni`,
      stateDir: `${dir}/var/lib/cni-docker`,
      dhcpSocket: `${dir}/run/cni/dhcp.sock`,
    });
  });

  it('takes --state-root over CNI_DOCKER_STATE_ROOT, resolved against the cwd', () => {
    assert.equal(makeDeps({env: {CNI_DOCKER_STATE_ROOT: dir}, cwd: '/'}).paths.cacheDir, `${dir}/var/lib/cni`);
    assert.equal(makeDeps({env: {CNI_DOCKER_STATE_ROOT: '/nonexistent-ov'}, stateRoot: dir, cwd: '/'}).paths.stateDir, `${dir}/var/lib/cni-docker`);
    assert.equal(resolveStateRoot('.', dir), dir);
    assert.equal(resolveStateRoot('', dir), '/');
  });

  it('refuses a root that is not an existing directory, before anything is written', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    for (const bad of [join(dir, 'missing'), file, 'a\0b']) {
      assert.throws(() => makeDeps({env: {}, stateRoot: bad, cwd: '/'}), (e: unknown) => e instanceof UserError && /state root/.test(e.message), bad);
    }
    assert.throws(() => makeDeps({env: {CNI_DOCKER_STATE_ROOT: join(dir, 'missing')}, cwd: '/'}), /is not a directory/);
  });
});
