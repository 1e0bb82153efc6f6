import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {lockFile, MAX_SECTIONS_PER_HOLD, withKeyedLock, withLock} from '../../../src/lock/flock.js';

const FLOCK_JS = fileURLToPath(new URL('../../../src/lock/flock.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Exit status of `flock -n FILE true` in another process: 0 when the lock is free. */
const tryOutside = (file: string): number | null => spawnSync('flock', ['-n', file, 'true']).status;

/**
 * The locks are real flock(2) locks on our own fd: util-linux flock(1) in
 * another process, the same call as the reference's go-filemutex, sees them,
 * waits for them and is waited for. Each case checks that from outside.
 */
describe('flock: the flock(2) lock other processes see', function () {
  this.timeout(20_000);
  let dir: string;
  let lockPath: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cni-flock-'));
    lockPath = path.join(dir, 'lock');
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('holds a lock another process sees, until released; creates the file 0750 like the reference', async () => {
    const l = await lockFile(lockPath);
    assert.equal(statSync(lockPath).mode & 0o777, 0o750);
    assert.equal(tryOutside(lockPath), 1, 'flock -n got a lock we hold');
    assert.ok(l.current());
    l.release();
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

  it('a lock waiting on one file does not hold up the release of another', async () => {
    const other = path.join(dir, 'other');
    const holder = spawn('flock', [other, 'sleep', '1'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    const mine = await lockFile(lockPath);
    const blocked = lockFile(other); // waits for the outside holder
    await sleep(50);
    mine.release();
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

  it('the lock goes when its process is killed (SIGKILL)', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(FLOCK_JS)}); await m.lockFile(${JSON.stringify(lockPath)}); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      {stdio: ['ignore', 'pipe', 'inherit']},
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (String(d).includes('held') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    assert.equal(tryOutside(lockPath), 1, 'the child does not hold the lock');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    assert.equal(tryOutside(lockPath), 0, 'the lock outlived its process');
  });

  it('does not keep a finished process alive', () => {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(FLOCK_JS)}); (await m.lockFile(${JSON.stringify(lockPath)})).release(); console.log('done');`,
      ],
      {encoding: 'utf8', timeout: 10_000},
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done');
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('host-local flock: sections of one process share an acquisition', () => {
  let dir: string;
  let lockPath: string;
  let counter: string;
  /** A flock(1) that counts its runs, so the test sees how often the lock was taken. */
  let countingFlock: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cni-flock-'));
    lockPath = path.join(dir, 'lock');
    counter = path.join(dir, 'count');
    countingFlock = path.join(dir, 'flock');
    writeFileSync(counter, '');
    writeFileSync(countingFlock, `#!/bin/sh\necho x >> '${counter}'\nexec flock "$@"\n`);
    chmodSync(countingFlock, 0o755);
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  const acquisitions = (): number => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;

  it('runs concurrent sections one at a time, each with its own result or error, under one flock', async () => {
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({length: 10}, (_, i) =>
        withLock(
          lockPath,
          async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await sleep(2);
            order.push(i);
            active--;
            if (i === 4) throw new Error('section 4 failed');
            return i * 10;
          },
          {flockBin: countingFlock},
        ),
      ),
    );
    assert.equal(maxActive, 1, 'two sections overlapped');
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [0, 10, 20, 30, 'section 4 failed', 50, 60, 70, 80, 90],
    );
    assert.equal(acquisitions(), 1);
  });

  it('releases and takes the lock again after MAX_SECTIONS_PER_HOLD sections', async () => {
    const n = MAX_SECTIONS_PER_HOLD + 3;
    await Promise.all(Array.from({length: n}, (_, i) => withLock(lockPath, () => i, {flockBin: countingFlock})));
    assert.equal(acquisitions(), 2);
    // A later section starts a new acquisition.
    assert.equal(await withLock(lockPath, () => 'again', {flockBin: countingFlock}), 'again');
    assert.equal(acquisitions(), 3);
  });

  it('still excludes other processes: sections wait while another process holds the lock', async () => {
    const holder = spawn('flock', [lockPath, 'sleep', '0.4'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    const t0 = Date.now();
    const waited = await Promise.all([1, 2, 3].map(() => withLock(lockPath, () => Date.now() - t0)));
    assert.ok(
      waited.every((ms) => ms >= 200),
      `a section ran while another process held the lock: ${waited.join(', ')} ms`,
    );
    await gone;
  });

  it('a waiter that wins a lock file its holder unlinked takes the lock again on the file there now', async () => {
    const first = await lockFile(lockPath);
    const waiting = lockFile(lockPath);
    await sleep(100);
    unlinkSync(lockPath); // the holder prunes the file it holds, then releases
    first.release();
    const second = await waiting;
    assert.ok(existsSync(lockPath), 'the lock file is there again');
    assert.ok(second.current(), 'the lock held is on the file at the path');
    // A third taker now really waits for the second.
    let third = false;
    const p = lockFile(lockPath).then((l) => {
      third = true;
      l.release();
    });
    await sleep(100);
    assert.equal(third, false, 'two holders at once');
    second.release();
    await p;
  });

  it('a section that unlinks the lock file ends the shared hold: the next section locks the new file', async () => {
    const seen: boolean[] = [];
    await Promise.all([
      withLock(lockPath, () => unlinkSync(lockPath), {flockBin: countingFlock}),
      withLock(lockPath, () => void seen.push(existsSync(lockPath)), {flockBin: countingFlock}),
    ]);
    assert.deepEqual(seen, [true], 'the second section ran on a lock file that exists');
    assert.equal(acquisitions(), 2);
  });

  it('fails every waiting section when the lock cannot be taken, and recovers after', async () => {
    const bad = {flockBin: path.join(dir, 'no-such-flock')};
    const results = await Promise.allSettled([1, 2].map(() => withLock(lockPath, () => 'ran', bad)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.match(String((results[0] as PromiseRejectedResult).reason), /failed to lock/);
    assert.equal(await withLock(lockPath, () => 'ok'), 'ok');
  });

  it('keyed: sections with different keys overlap, sections with one key run in the order asked, all under one flock', async () => {
    const running = new Set<string>();
    let overlap = 0;
    const order: string[] = [];
    const section = (key: string, tag: string) =>
      withKeyedLock(
        lockPath,
        key,
        async () => {
          assert.equal(running.has(key), false, `two sections of ${key} at once`);
          running.add(key);
          overlap = Math.max(overlap, running.size);
          await sleep(20);
          order.push(tag);
          running.delete(key);
          if (tag === 'b2') throw new Error('b2 failed');
          return tag;
        },
        {flockBin: countingFlock},
      );
    const results = await Promise.allSettled([
      section('a', 'a1'),
      section('b', 'b1'),
      section('a', 'a2'),
      section('b', 'b2'),
      section('c', 'c1'),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      ['a1', 'b1', 'a2', 'b2 failed', 'c1'],
    );
    assert.equal(overlap, 3, 'sections with different keys did not run side by side');
    assert.ok(order.indexOf('a1') < order.indexOf('a2') && order.indexOf('b1') < order.indexOf('b2'), order.join(' '));
    assert.equal(acquisitions(), 1);
  });

  it('keyed: another process waits for the whole shared hold, and the hold is taken while it holds the file', async () => {
    const outside: (number | null)[] = [];
    await Promise.all(
      ['x', 'y'].map((key) =>
        withKeyedLock(lockPath, key, async () => {
          await sleep(10);
          outside.push(tryOutside(lockPath));
        }),
      ),
    );
    assert.deepEqual(outside, [1, 1], 'another process took the lock during a section');
    assert.equal(tryOutside(lockPath), 0, 'the lock is released after the last section');
    const holder = spawn('flock', [lockPath, 'sleep', '0.4'], {stdio: 'ignore'});
    const gone = new Promise((r) => holder.on('close', r));
    await sleep(100);
    const t0 = Date.now();
    const waited = await Promise.all(['p', 'q'].map((key) => withKeyedLock(lockPath, key, () => Date.now() - t0)));
    assert.ok(
      waited.every((ms) => ms >= 200),
      `a section ran while another process held the lock: ${waited.join(', ')} ms`,
    );
    await gone;
  });

  it('keyed: admits MAX_SECTIONS_PER_HOLD sections per acquisition, then lets go once they finish and takes it again', async () => {
    let running = 0;
    let most = 0;
    const n = MAX_SECTIONS_PER_HOLD + 5;
    await Promise.all(
      Array.from({length: n}, (_, i) =>
        withKeyedLock(
          lockPath,
          `k${i}`,
          async () => {
            running++;
            most = Math.max(most, running);
            await sleep(5);
            running--;
          },
          {flockBin: countingFlock},
        ),
      ),
    );
    assert.equal(most, MAX_SECTIONS_PER_HOLD, 'more sections than a hold admits ran at once');
    assert.equal(acquisitions(), 2);
  });

  it('keyed: a failed acquisition fails the sections waiting behind their key too, and a later call takes the lock', async () => {
    const bad = {flockBin: path.join(dir, 'no-such-flock')};
    const results = await Promise.allSettled([
      withKeyedLock(lockPath, 'a', () => 'ran', bad),
      withKeyedLock(lockPath, 'a', () => 'ran', bad),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(await withKeyedLock(lockPath, 'a', () => 'ok', {flockBin: countingFlock}), 'ok');
    assert.equal(acquisitions(), 1);
  });
});
