import {Command} from '@oclif/core';
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

/**
 * The base of every cni-docker command: `--json` on every command (the run()
 * result is the JSON payload) and one place that turns typed errors into
 * "Error: ..." on stderr with exit code 1 (2 for usage errors), no stack.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    const known = userFacingError(err);
    if (!known) return super.catch(err);
    if (this.jsonEnabled()) this.logJson(known.json);
    process.stderr.write(`Error: ${known.message}\n`);
    this.exit(known.exitCode);
  }
}
