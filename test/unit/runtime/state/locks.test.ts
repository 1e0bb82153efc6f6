import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../../src/deps.js';
import {UserError} from '../../../../src/errors.js';
import {resultsDir} from '../../../../src/runtime/state/result-cache.js';
import {metaDir} from '../../../../src/runtime/state/attachment-meta.js';
import {
  acquireWatchLock,
  containerInUse,
  locksDir,
  pruneLockFiles,
  WatchAlreadyRunningError,
  waitForGc,
  withContainerLock,
  withGcLock,
} from '../../../../src/runtime/state/locks.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {FakeDocker, hexId} from '../../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};
/** Exit status of `flock -n FILE true` in another process: 0 when the lock is free. */
const tryOutside = (file: string): number | null => spawnSync('flock', ['-n', file, 'true']).status;

/** The runtime's locks are real flocks on files under a temp state dir (util-linux flock, no root). */
describe('runtime/state/locks', function () {
  this.timeout(20_000);
  let tmp: string;
  let deps: Deps;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tlck-unit-');
    deps = makeDeps({
      runner: new FakeRunner([]),
      log: silent,
      confDir: `${tmp}/conf`,
      docker: new FakeDocker([]),
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/d.sock`},
    });
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  const id = hexId('c0ffee');
  const cacheName = (net: string, cid: string) => `${resultsDir(deps.paths.cacheDir)}/${net}-${cid}-eth0`;

  it('containerInUse: a cache file or an attachment record naming the id, not another id that merely contains it', async () => {
    assert.equal(await containerInUse(deps, id), false);
    mkdirSync(resultsDir(deps.paths.cacheDir), {recursive: true});
    writeFileSync(cacheName('tn', `x${id}`), '{}');
    assert.equal(await containerInUse(deps, id), false, 'the id must be bounded by dashes');
    mkdirSync(metaDir(deps.paths.stateDir), {recursive: true});
    writeFileSync(`${metaDir(deps.paths.stateDir)}/tn-${id}-eth0.json`, '{}');
    assert.equal(await containerInUse(deps, id), true);
  });

  it("withContainerLock holds <stateDir>/containers.lock while fn runs, keeps no file per container, and returns fn's value", async () => {
    const file = `${deps.paths.stateDir}/containers.lock`;
    const outside = await withContainerLock(deps, id, async () => tryOutside(file));
    assert.equal(outside, 1, 'another process got the lock while fn ran');
    assert.equal(tryOutside(file), 0, 'the lock is released after fn');
    assert.equal(existsSync(locksDir(deps)), false, 'a per-container lock file was made');
    assert.equal(await withContainerLock(deps, id, async () => 42), 42);
  });

  it("withContainerLock: one container's sections run one after another, different containers side by side", async () => {
    const other = hexId('beef');
    const log: string[] = [];
    const section = (cid: string, tag: string) =>
      withContainerLock(deps, cid, async () => {
        log.push(`${tag}+`);
        await new Promise((r) => setTimeout(r, 30));
        log.push(`${tag}-`);
      });
    await Promise.all([section(id, 'a1'), section(id, 'a2'), section(other, 'b1')]);
    assert.ok(log.indexOf('a1-') < log.indexOf('a2+'), `one container's sections overlapped or ran out of order: ${log.join(' ')}`);
    assert.ok(log.indexOf('b1+') < log.indexOf('a1-'), `another container waited: ${log.join(' ')}`);
  });

  it('withContainerLock refuses an id that cannot name a file, before making anything', async () => {
    await assert.rejects(withContainerLock(deps, '../evil', async () => assert.fail('ran')));
    assert.equal(existsSync(deps.paths.stateDir), false);
  });

  it('pruneLockFiles removes lock files of unused containers (none on a dry run), skipping used ones and foreign names', async () => {
    const used = hexId('aaaa');
    const unused = hexId('bbbb');
    mkdirSync(locksDir(deps), {recursive: true});
    for (const n of [`${used}.lock`, `${unused}.lock`, 'not a lock', '..bad.lock']) writeFileSync(`${locksDir(deps)}/${n}`, '');
    mkdirSync(resultsDir(deps.paths.cacheDir), {recursive: true});
    writeFileSync(cacheName('tn', used), '{}');
    assert.deepEqual(await pruneLockFiles(deps, true), [unused]);
    assert.equal(readdirSync(locksDir(deps)).length, 4, 'a dry run removes nothing');
    assert.deepEqual(await pruneLockFiles(deps), [unused]);
    assert.deepEqual(readdirSync(locksDir(deps)).sort(), ['..bad.lock', `${used}.lock`, 'not a lock'].sort());
  });

  it('withGcLock holds gc.lock while fn runs and removes it after, also when fn throws', async () => {
    const file = `${deps.paths.stateDir}/gc.lock`;
    assert.equal(await withGcLock(deps, async () => tryOutside(file)), 1);
    assert.equal(existsSync(file), false);
    await assert.rejects(
      withGcLock(deps, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(existsSync(file), false);
  });

  it('waitForGc returns at once without gc.lock, and clears one a killed gc left', async () => {
    await waitForGc(deps);
    assert.equal(existsSync(deps.paths.stateDir), false, 'no gc.lock: nothing is created');
    mkdirSync(deps.paths.stateDir, {recursive: true});
    writeFileSync(`${deps.paths.stateDir}/gc.lock`, '');
    await waitForGc(deps);
    assert.equal(existsSync(`${deps.paths.stateDir}/gc.lock`), false);
  });

  it('acquireWatchLock lets one watch run: a second is refused with a UserError until the first releases', async () => {
    const first = await acquireWatchLock(deps.paths.stateDir);
    try {
      await assert.rejects(
        acquireWatchLock(deps.paths.stateDir),
        (err: unknown) => err instanceof WatchAlreadyRunningError && err instanceof UserError && /watch\.lock is locked/.test(err.message),
      );
    } finally {
      first.release();
    }
    const again = await acquireWatchLock(deps.paths.stateDir);
    again.release();
  });
});
