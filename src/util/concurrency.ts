/** A promise's outcome as a value, so it can run alongside others and be awaited later without an unhandled rejection. */
export type Settled<T> = {value: T} | {error: unknown};

export function settled<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({value}),
    (error: unknown) => ({error}),
  );
}

/**
 * `p`, marked as handled so that it may be awaited later: when the caller
 * fails before getting there, its rejection is not an unhandled one.
 */
export function inFlight<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * Await every promise, then throw the first rejection in the order given
 * (which need not be the order they were started in).
 */
export async function allInOrder<T extends readonly unknown[]>(ps: {readonly [K in keyof T]: Promise<T[K]>}): Promise<T> {
  const outcomes = await Promise.allSettled(ps);
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * How many targets one bulk attach or detach works on at once. Each spends
 * most of its time waiting for short subprocesses (ip, iptables-restore,
 * nsenter, flock); 16 in flight keeps two cores busy, fewer leaves them idle.
 */
export const BULK_CONCURRENCY = 16;

/**
 * Map with at most `limit` calls in flight. Every item is attempted; when any
 * fails, the first error (in input order) is thrown after all have settled.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const settled = await mapLimitSettled(items, limit, fn);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

export async function mapLimitSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onSettled?: (result: PromiseSettledResult<R>, index: number) => void,
): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = {status: 'fulfilled', value: await fn(items[i], i)};
      } catch (reason) {
        out[i] = {status: 'rejected', reason};
      }
      onSettled?.(out[i], i);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return out;
}
