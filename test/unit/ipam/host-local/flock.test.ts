import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {lockFile, MAX_SECTIONS_PER_HOLD, withLock} from '../../../../src/ipam/host-local/flock.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
    assert.ok(waited.every((ms) => ms >= 200), `a section ran while another process held the lock: ${waited.join(', ')} ms`);
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
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /failed to lock/);
    assert.equal(await withLock(lockPath, () => 'ok'), 'ok');
  });
});
