/**
 * What a bulk operation (attach, detach, gc) returns: what it did, and one
 * failure per target it could not do. The others proceed; the command exits 1
 * when any failed. This object is also the --json payload.
 */
export interface Failure {
  target: string;
  message: string;
}

export interface Outcome<T> {
  done: T[];
  failures: Failure[];
}

/** How far a bulk attach or detach is: targets finished (failed ones included) of `total`. */
export interface Progress {
  done: number;
  failed: number;
  total: number;
}

/** A mapLimitSettled callback that counts finished targets and reports each step to `report`. */
export function progressCounter(total: number, report?: (p: Progress) => void): ((r: PromiseSettledResult<unknown>) => void) | undefined {
  if (!report) return undefined;
  const p: Progress = {done: 0, failed: 0, total};
  return (r) => {
    p.done++;
    if (r.status === 'rejected') p.failed++;
    report({...p});
  };
}
