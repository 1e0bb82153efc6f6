/* Error-to-CLI mapping, free of oclif so the start-up fast path can share it. */
import {CniError} from '../cni/errors.js';
import {UserError} from '../errors.js';
import {CommandError} from '../exec/runner.js';

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
  return undefined;
}
