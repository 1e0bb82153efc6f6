import type {RunOptions, RunResult, Runner} from '../../src/exec/runner.js';
import {CommandError} from '../../src/exec/runner.js';

/**
 * A scripted runner for unit tests: every expected call is listed in order
 * with its reply. An unexpected call, or an expected call never made, fails.
 */
export interface Expectation {
  argv: string[];
  /** Exact stdin, when the call sends one. */
  input?: string;
  reply?: Partial<RunResult>;
}

export class FakeRunner implements Runner {
  readonly calls: {argv: string[]; input?: string}[] = [];
  private readonly queue: Expectation[];

  constructor(expectations: Expectation[]) {
    this.queue = [...expectations];
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const argv = [file, ...args];
    const input = options.input === undefined ? undefined : String(options.input);
    this.calls.push({argv, input});
    const next = this.queue.shift();
    if (!next) throw new Error(`unexpected command: ${argv.join(' ')}`);
    if (JSON.stringify(next.argv) !== JSON.stringify(argv)) {
      throw new Error(`expected command ${next.argv.join(' ')}\n     but got ${argv.join(' ')}`);
    }
    if (next.input !== undefined && next.input !== input) {
      throw new Error(`stdin of ${argv.join(' ')} differs:\nexpected ${JSON.stringify(next.input)}\n     got ${JSON.stringify(input)}`);
    }
    const r: RunResult = {stdout: '', stderr: '', exitCode: 0, ...next.reply};
    if ((options.reject ?? true) && r.exitCode !== 0) throw new CommandError(argv, r.exitCode, r.stdout, r.stderr);
    return r;
  }

  /** Fails when some expected call was never made. */
  assertDone(): void {
    if (this.queue.length > 0) throw new Error(`expected commands not run: ${this.queue.map((e) => e.argv.join(' ')).join('; ')}`);
  }
}
