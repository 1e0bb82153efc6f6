import {Command} from '@oclif/core/command';
import type {Lines} from './lines.js';
import {userFacingError} from './user-error.js';
import {progressLine, type ProgressLine} from './progress.js';

export {oneLine, userFacingError, type UserFacingError} from './user-error.js';

/**
 * The base of every cni-docker command: `--json` on every command (the run()
 * result is the JSON payload) and one place that turns typed errors into
 * "Error: ..." on stderr with exit code 1 (2 for usage errors), no stack.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  /** A bulk command's progress line on stderr: only on a terminal, never under --json. */
  protected progressLine(verb: string): ProgressLine | undefined {
    return this.jsonEnabled() ? undefined : progressLine(process.stderr, verb);
  }

  /**
   * Print a command's text output: `out` to stdout (never under --json, where
   * stdout is the JSON), `err` to stderr as given (the renderer leaves out
   * what --json should not show; gc's failures it keeps).
   */
  protected print(lines: Lines): void {
    for (const l of lines.out) this.log(l);
    for (const l of lines.err) process.stderr.write(`${l}\n`);
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    const known = userFacingError(err);
    if (!known) return super.catch(err);
    if (this.jsonEnabled()) this.logJson(known.json);
    process.stderr.write(`Error: ${known.message}\n`);
    this.exit(known.exitCode);
  }
}
