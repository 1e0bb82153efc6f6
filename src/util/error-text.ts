/**
 * The message of anything thrown, for a line a user reads: an Error's
 * message, anything else as a string. The one place this is decided, so
 * every "failed to ...: <why>" reads the same.
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
