/* Error-to-CLI mapping: our typed errors to one line and an exit code (used by BaseCommand). */
import {CniError} from '../cni/errors.js';
import {UserError} from '../errors.js';
import {CommandError} from '../exec/runner.js';
import {ERRNO_REASON} from '../util/fs-errors.js';

/** What the CLI shows for an error it knows: one line and an exit code. */
export interface UserFacingError {
  message: string;
  exitCode: number;
  json: {error: {kind: string; message: string; code?: number}};
}

/** Collapse a message to one line (stderr of a child process can span several). */
export function oneLine(message: string): string {
  return message.trim().replace(/\s*\n\s*/g, '; ');
}

/**
 * Map our typed errors to a one-line message and exit code; undefined for
 * anything else (a bug: oclif prints it with its stack).
 */
export function userFacingError(err: unknown): UserFacingError | undefined {
  if (err instanceof UserError) {
    const message = oneLine(err.message);
    return {message, exitCode: err.exitCode, json: {error: {kind: err.name, message}}};
  }
  if (err instanceof CniError) {
    const message = oneLine(err.details ? `${err.msg}: ${err.details}` : err.msg);
    return {message, exitCode: 1, json: {error: {kind: 'CniError', message, code: err.code}}};
  }
  if (err instanceof CommandError) {
    const message = oneLine(err.message);
    return {message, exitCode: 1, json: {error: {kind: 'CommandError', message}}};
  }
  const sys = systemErrorText(err);
  if (sys) return {message: sys, exitCode: 1, json: {error: {kind: 'SystemError', message: sys}}};
  return undefined;
}

/**
 * A file-system error with a path (not running as root, a directory given as
 * a file, a full disk) as one line: `<path>: <reason>`, with the root hint
 * for permission errors. Undefined for anything else.
 */
function systemErrorText(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!(err instanceof Error) || typeof e?.code !== 'string' || typeof e.path !== 'string' || !ERRNO_REASON[e.code]) return undefined;
  const hint = e.code === 'EACCES' || e.code === 'EPERM' ? ' (cni-docker needs root: run it with sudo)' : '';
  return oneLine(`${e.path}: ${ERRNO_REASON[e.code]}${hint}`);
}
