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
