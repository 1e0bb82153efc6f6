import {AssertionError} from 'node:assert';
import {isDeepStrictEqual} from 'node:util';
import type {RunOptions, RunResult, Runner} from '../../src/exec/runner.js';
import {CommandError} from '../../src/exec/runner.js';

/**
 * The one scripted runner for unit tests. Production code often catches a
 * runner's error (best-effort cleanup, "link not found" probes), so failing
 * the call alone could let an unexpected command pass: every FakeRunner
 * therefore also records what went wrong, and the root hook in
 * fake-runner-hooks.ts fails the test that made it when, at its end, some
 * call was unexpected or some expectation was never used.
 */

/** One call as the code under test made it. */
export interface Call {
  argv: string[];
  /** stdin as text, when the call sends one. */
  input?: string;
  options: RunOptions;
}

export type Reply = Partial<RunResult>;

export interface Expectation {
  argv: string[];
  /** Exact stdin, when the call sends one. */
  input?: string;
  /** The reply, or a function of the call that computes it. */
  reply?: Reply | ((call: Call) => Reply);
}

/**
 * Answers calls in any order (a simulator keeping its own state). It returns
 * undefined for, or throws an AssertionError on, a call it does not expect:
 * that call is recorded and fails. Any other error it throws is the command's
 * own failure, passed on as it is.
 */
export type Responder = (call: Call) => Reply | undefined | Promise<Reply | undefined>;

export interface FakeRunnerOptions {
  /** Why this test may end with expectations unused; without it, any left over fails the test. */
  allowUnused?: string;
  /** Rewrites each argv element and the stdin before they are compared (e.g. a random name to a placeholder). */
  normalize?: (text: string) => string;
}

/** Whether a test (with its beforeEach/afterEach hooks) is running; the root hooks set it. */
let inTest = false;
/** Runners made during the current test: checked whole, then dropped, when it ends. */
let live: FakeRunner[] = [];
/**
 * Runners made outside any test (in a describe body or a before hook) serve
 * several tests: each test answers for the unexpected calls made during it,
 * and the unused expectations are checked once, after the last test (so a
 * run narrowed with --grep can leave such a runner's script unused).
 */
const lasting: FakeRunner[] = [];

export class FakeRunner implements Runner {
  /** Every call, expected or not, as made (before `normalize`). */
  readonly calls: {argv: string[]; input?: string}[] = [];
  /** What went wrong, one entry per unexpected call. */
  readonly unexpected: string[] = [];
  /** Where the test made this runner, to name it in a report. */
  readonly madeAt: string;
  private readonly queue: Expectation[];
  private readonly responder?: Responder;
  /** How many of `unexpected` a report has named already. */
  private reported = 0;

  /** An ordered script of expected calls, or a responder for calls in any order. */
  constructor(
    script: Expectation[] | Responder,
    private readonly options: FakeRunnerOptions = {},
  ) {
    if (typeof script === 'function') {
      this.queue = [];
      this.responder = script;
    } else {
      this.queue = [...script];
    }
    this.madeAt = callerOf(new Error().stack ?? '');
    (inTest ? live : lasting).push(this);
  }

  /** A runner for code that must run no command at all. */
  static none(): FakeRunner {
    return new FakeRunner([]);
  }

  /**
   * A runner that fails every command on purpose, for tests that check
   * `calls` themselves (a valid input may get as far as a first command).
   */
  static refusing(): FakeRunner {
    return new FakeRunner((call) => {
      throw new Error(`refused by the test: ${call.argv.join(' ')}`);
    });
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const call: Call = {argv: [file, ...args], input: options.input === undefined ? undefined : String(options.input), options};
    this.calls.push({argv: call.argv, input: call.input});
    const r: RunResult = {stdout: '', stderr: '', exitCode: 0, ...(await this.answer(call))};
    if ((options.reject ?? true) && r.exitCode !== 0) throw new CommandError(call.argv, r.exitCode, r.stdout, r.stderr);
    return r;
  }

  /** Expectations not used yet, as their command lines. */
  get unused(): string[] {
    return this.queue.map((e) => e.argv.join(' '));
  }

  /** Fails at once when some expected call was never made (the root hook checks this anyway). */
  assertDone(): void {
    if (this.queue.length > 0) throw new Error(`expected commands not run: ${this.unused.join('; ')}`);
  }

  /**
   * The unexpected calls not taken by an earlier report (each is named once),
   * then the unused expectations when `withUnused` and not allowed.
   */
  takeProblems(withUnused = true): string[] {
    const out = this.unexpected.slice(this.reported);
    this.reported = this.unexpected.length;
    if (withUnused && this.options.allowUnused === undefined && this.queue.length > 0)
      out.push(`expected commands not run: ${this.unused.join('; ')}`);
    return out;
  }

  private async answer(call: Call): Promise<Reply> {
    if (this.responder) return this.respond(this.responder, call);
    const next = this.queue.shift();
    const argv = this.normalized(call.argv);
    if (!next) return this.fail(`unexpected command: ${argv.join(' ')}`);
    if (!isDeepStrictEqual(next.argv, argv)) {
      return this.fail(`expected command ${next.argv.join(' ')}\n     but got ${argv.join(' ')}`);
    }
    const input = call.input === undefined ? undefined : this.normalized([call.input])[0];
    if (next.input !== undefined && next.input !== input) {
      return this.fail(`stdin of ${argv.join(' ')} differs:\nexpected ${JSON.stringify(next.input)}\n     got ${JSON.stringify(input)}`);
    }
    return typeof next.reply === 'function' ? next.reply(call) : (next.reply ?? {});
  }

  private async respond(responder: Responder, call: Call): Promise<Reply> {
    let reply: Reply | undefined;
    try {
      reply = await responder(call);
    } catch (err) {
      if (err instanceof AssertionError) return this.fail(`unexpected command: ${call.argv.join(' ')}: ${err.message}`);
      throw err;
    }
    return reply ?? this.fail(`unexpected command: ${call.argv.join(' ')}`);
  }

  private normalized(texts: string[]): string[] {
    const f = this.options.normalize;
    return f ? texts.map(f) : texts;
  }

  /** Records the problem, then fails the call with it. */
  private fail(message: string): never {
    this.unexpected.push(message);
    throw new Error(message);
  }
}

/** The first stack frame outside this file: where the test made the runner. */
function callerOf(stack: string): string {
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
  const outside = frames.find((l) => !/\/fake-runner\.[jt]s:/.test(l));
  return (outside ?? frames[0] ?? '').replace(/^at /, '');
}

/** Marks the start and end of a test (the root hooks call it), which decides whose a new runner is. */
export function setInTest(running: boolean): void {
  inTest = running;
}

/** Takes the runners made during the current test. */
function takeFakeRunners(): FakeRunner[] {
  const taken = live;
  live = [];
  return taken;
}

/** A report naming each runner's problems (see takeProblems), or undefined when there is none. */
export function reportFakeRunners(runners: FakeRunner[], withUnused = true): string | undefined {
  const lines: string[] = [];
  for (const r of runners) {
    const problems = r.takeProblems(withUnused);
    if (problems.length > 0) lines.push(`FakeRunner made at ${r.madeAt}:`, ...problems.map((p) => `  - ${p.replace(/\n/g, '\n    ')}`));
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/**
 * The root hook's check after each test: the runners made during it (which
 * it drops), and the calls made during it to runners made outside any test.
 * Returns a report naming each problem, or undefined when there is none.
 */
export function checkFakeRunners(): string | undefined {
  const parts = [reportFakeRunners(takeFakeRunners()), reportFakeRunners(lasting, false)].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join('\n') : undefined;
}

/** The root hook's check after the last test: the unused expectations of runners made outside any test. */
export function checkLastingFakeRunners(): string | undefined {
  return reportFakeRunners(lasting.splice(0));
}
