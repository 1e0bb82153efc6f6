import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {lockFile} from '../../../../src/ipam/host-local/flock.js';

/**
 * The locks the helper process holds for us (src/ipam/host-local/lock-helper.ts)
 * are real flock(2) locks: util-linux flock(1) in another process, the same
 * call as the reference's go-filemutex, sees them, waits for them and is
 * waited for. Each case checks that from outside.
 */
const FLOCK_JS = fileURLToPath(new URL('../../../../src/ipam/host-local/flock.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Exit status of `flock -n FILE true` in another process: 0 when the lock is free. */
const tryOutside = (file: string): number | null => spawnSync('flock', ['-n', file, 'true']).status;

describe('host-local lock helper (locks held by a helper process)', function () {
  this.timeout(20_000);
  let dir: string;
  let lockPath: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cni-lockhelper-'));
    lockPath = path.join(dir, 'lock');
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('holds a flock(2) another process sees, until released; creates the file 0750 like the reference', async () => {
    const l = await lockFile(lockPath);
    assert.equal(statSync(lockPath).mode & 0o777, 0o750);
    assert.equal(tryOutside(lockPath), 1, 'flock -n got a lock the helper holds');
    assert.ok(l.current());
    l.release();
    for (let i = 0; i < 50 && tryOutside(lockPath) !== 0; i++) await sleep(10);
    assert.equal(tryOutside(lockPath), 0, 'the lock was not released');
    assert.equal(l.current(), false);
  });

  it('waits while another process holds the lock, and gets it once that one lets go', async () => {
    const holder = spawn('flock', [lockPath, 'sleep', '0.4'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    const t0 = Date.now();
    const l = await lockFile(lockPath);
    assert.ok(Date.now() - t0 >= 200, `got the lock after ${Date.now() - t0} ms while another process held it`);
    l.release();
    await gone;
  });

  it('times out with the flock(1) message when asked not to wait (timeoutSeconds 0)', async () => {
    const holder = spawn('flock', [lockPath, 'sleep', '0.5'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    await assert.rejects(lockFile(lockPath, {timeoutSeconds: 0}), /timed out waiting for lock after 0s/);
    await gone;
    (await lockFile(lockPath, {timeoutSeconds: 0})).release();
  });

  it('an unlock queued behind a waiting lock is not held up by it (no head-of-line blocking)', async () => {
    const other = path.join(dir, 'other');
    const holder = spawn('flock', [other, 'sleep', '1'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    const mine = await lockFile(lockPath);
    const blocked = lockFile(other); // waits for the outside holder
    await sleep(50);
    mine.release();
    for (let i = 0; i < 50 && tryOutside(lockPath) !== 0; i++) await sleep(10);
    assert.equal(tryOutside(lockPath), 0, 'the release waited behind a pending lock');
    (await blocked).release();
    await gone;
  });

  it('takes paths with spaces and newlines', async () => {
    const odd = path.join(dir, 'a b\nc');
    const l = await lockFile(odd);
    assert.equal(tryOutside(odd), 1);
    l.release();
  });

  it('the locks go when their process is killed (SIGKILL): the helper exits with it', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(FLOCK_JS)}); await m.lockFile(${JSON.stringify(lockPath)}); console.log('held'); setInterval(() => {}, 1000);`], {stdio: ['ignore', 'pipe', 'inherit']});
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (String(d).includes('held') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    assert.equal(tryOutside(lockPath), 1, 'the child does not hold the lock');
    child.kill('SIGKILL');
    let freed = false;
    for (let i = 0; i < 100 && !freed; i++) {
      freed = tryOutside(lockPath) === 0;
      if (!freed) await sleep(10);
    }
    assert.ok(freed, 'the lock outlived its process by more than a second');
  });

  it('without perl, falls back to one flock(1) process per lock, with the same exclusion', async () => {
    // A PATH with node and flock only.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync(spawnSync('sh', ['-c', 'command -v flock'], {encoding: 'utf8'}).stdout.trim(), path.join(bin, 'flock'));
    const child = spawn(path.join(bin, 'node'), ['--input-type=module', '-e', `const m = await import(${JSON.stringify(FLOCK_JS)}); await m.lockFile(${JSON.stringify(lockPath)}); console.log('held'); setInterval(() => {}, 1000);`], {stdio: ['ignore', 'pipe', 'pipe'], env: {PATH: bin}});
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (String(d).includes('held') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`holder exited ${code}: ${stderr}`)));
    });
    assert.equal(tryOutside(lockPath), 1, 'the lock is not held');
    child.kill('SIGKILL');
  });

  it('does not keep a finished process alive', () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(FLOCK_JS)}); (await m.lockFile(${JSON.stringify(lockPath)})).release(); console.log('done');`], {encoding: 'utf8', timeout: 10_000});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done');
    assert.ok(Date.now() - t0 < 5000);
  });
});
