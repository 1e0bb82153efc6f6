import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {defaultPaths} from '../../src/exec/plugin.js';
import {makeDeps, resolveStateRoot, statePaths} from '../../src/deps.js';
import {UserError} from '../../src/errors.js';
import {createEtcdClient} from '../../src/etcd/client.js';
import {FakeEtcd} from '../helpers/fake-etcd.js';
import {bridgeUsersDir} from '../../src/runtime/state/bridge-users.js';
import {metaDir} from '../../src/runtime/state/attachment-meta.js';
import {resultsDir} from '../../src/runtime/state/result-cache.js';
import {locksDir} from '../../src/runtime/state/locks.js';
import {hostLockPath} from '../../src/overlay/host-lock.js';
import {delegateFile} from '../../src/plugins/overlay.js';

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

  it('puts every directory the runtime and the plugins write under the root, the bridge users index included', () => {
    const deps = makeDeps({env: {}, stateRoot: dir, cwd: '/'});
    const written = [
      resultsDir(deps.paths.cacheDir),
      metaDir(deps.paths.stateDir),
      bridgeUsersDir(deps.paths.stateDir),
      locksDir(deps),
      hostLockPath(deps.paths.stateDir),
      delegateFile(deps.paths.stateDir, 'mesh', 'c1', 'eth0'),
      join(deps.paths.networksDir, 'mesh'),
      deps.paths.dhcpSocket,
    ];
    for (const p of written) assert.ok(p.startsWith(`${dir}/`), p);
    assert.equal(bridgeUsersDir(deps.paths.stateDir), `${dir}/var/lib/cni-docker/bridges`);
  });

  it('takes --state-root over CNI_DOCKER_STATE_ROOT, resolved against the cwd', () => {
    assert.equal(makeDeps({env: {CNI_DOCKER_STATE_ROOT: dir}, cwd: '/'}).paths.cacheDir, `${dir}/var/lib/cni`);
    assert.equal(
      makeDeps({env: {CNI_DOCKER_STATE_ROOT: '/nonexistent-ov'}, stateRoot: dir, cwd: '/'}).paths.stateDir,
      `${dir}/var/lib/cni-docker`,
    );
    assert.equal(resolveStateRoot('.', dir), dir);
    assert.equal(resolveStateRoot('', dir), '/');
  });

  it('refuses a root that is not an existing directory, before anything is written', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    for (const bad of [join(dir, 'missing'), file, 'a\0b']) {
      assert.throws(
        () => makeDeps({env: {}, stateRoot: bad, cwd: '/'}),
        (e: unknown) => e instanceof UserError && /state root/.test(e.message),
        bad,
      );
    }
    assert.throws(() => makeDeps({env: {CNI_DOCKER_STATE_ROOT: join(dir, 'missing')}, cwd: '/'}), /is not a directory/);
  });
});

describe('etcd client factory (deps)', () => {
  it('defaults to the gateway client, and takes an injected factory instead', () => {
    assert.equal(makeDeps({env: {}, cwd: '/'}).etcdClient, createEtcdClient);
    const etcd = new FakeEtcd();
    const deps = makeDeps({env: {}, cwd: '/', etcdClient: etcd.factory});
    assert.equal(deps.etcdClient({endpoints: ['http://e:2379']}), etcd);
    assert.deepEqual(etcd.made, [{endpoints: ['http://e:2379']}]);
  });
});
