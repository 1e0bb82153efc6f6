import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {allInOrder, inFlight, mapLimit, mapLimitSettled, settled} from '../../../src/util/concurrency.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const later = <T>(ms: number, v: T) => sleep(ms).then(() => v);
const failLater = (ms: number, msg: string) => sleep(ms).then(() => Promise.reject(new Error(msg)));

/** Rejections nobody handled while `fn` ran (and a little after). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const on = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', on);
  try {
    await fn();
    await sleep(10);
  } finally {
    process.off('unhandledRejection', on);
  }
  return seen;
}

describe('util/concurrency', () => {
  it('settled turns an outcome into a value, never a rejection', async () => {
    assert.deepEqual(await settled(Promise.resolve(3)), {value: 3});
    const err = new Error('no');
    assert.deepEqual(await settled(Promise.reject(err)), {error: err});
  });

  it('inFlight leaves a rejection for whoever awaits it later, without an unhandled rejection meanwhile', async () => {
    let later: Promise<number> | undefined;
    const unhandled = await unhandledDuring(async () => {
      later = inFlight(Promise.reject(new Error('late')));
      await sleep(5);
    });
    assert.deepEqual(unhandled, []);
    await assert.rejects(later!, /late/);
  });

  it('allInOrder waits for every promise and throws the first failure in the order given, not in time', async () => {
    let slowDone = false;
    const slow = later(30, 'x').then((v) => {
      slowDone = true;
      return v;
    });
    // 'second' rejects first in time, but 'first' comes first in the list.
    await assert.rejects(allInOrder([slow, failLater(20, 'first'), failLater(1, 'second')]), /^Error: first$/);
    assert.ok(slowDone, 'threw before every promise had settled');
    assert.deepEqual(await allInOrder([later(5, 1), Promise.resolve('a')]), [1, 'a']);
  });

  it('mapLimit keeps results in input order and never runs more than the limit at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({min: 0, max: 3}), {maxLength: 12}), fc.integer({min: 1, max: 5}), async (delays, limit) => {
        let running = 0;
        let peak = 0;
        const out = await mapLimit(delays, limit, async (d, i) => {
          peak = Math.max(peak, ++running);
          await sleep(d);
          running--;
          return `${i}:${d}`;
        });
        assert.deepEqual(
          out,
          delays.map((d, i) => `${i}:${d}`),
        );
        assert.ok(peak <= limit, `peak ${peak} > limit ${limit}`);
        if (delays.length > 0) assert.equal(peak, Math.min(limit, delays.length), 'the limit is used, not just respected');
      }),
      {numRuns: 30},
    );
  });

  it('mapLimit attempts every item when one fails, then throws the first failure in input order', async () => {
    const tried: number[] = [];
    await assert.rejects(
      mapLimit([0, 1, 2, 3], 2, async (n) => {
        tried.push(n);
        // item 3 fails before item 1 does, but item 1 comes first
        if (n === 1) await failLater(15, 'item 1');
        if (n === 3) throw new Error('item 3');
        return n;
      }),
      /^Error: item 1$/,
    );
    assert.deepEqual(tried.sort(), [0, 1, 2, 3]);
  });

  it('mapLimitSettled reports each item as it settles, with its index', async () => {
    const seen: string[] = [];
    const out = await mapLimitSettled(
      ['a', 'b', 'c'],
      3,
      async (s, i) => {
        await sleep(i === 0 ? 15 : 1);
        if (s === 'b') throw new Error('b failed');
        return s.toUpperCase();
      },
      (r, i) => seen.push(`${i}:${r.status}`),
    );
    assert.deepEqual(
      out.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((out[0] as PromiseFulfilledResult<string>).value, 'A');
    assert.equal(((out[1] as PromiseRejectedResult).reason as Error).message, 'b failed');
    assert.deepEqual(seen, ['1:rejected', '2:fulfilled', '0:fulfilled'], 'reported in the order they settled');
    assert.deepEqual(await mapLimitSettled([], 4, async () => 1), []);
  });
});
