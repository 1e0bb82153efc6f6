import {strict as assert} from 'node:assert';
import type {Config} from '@oclif/core/config';
import {BaseCommand} from '../../../src/cli/base-command.js';
import type {Lines} from '../../../src/cli/lines.js';
import {UsageError, UserError} from '../../../src/errors.js';

/** A command whose output is captured: stdout through log/logJson, stderr by swapping process.stderr.write. */
class Probe extends BaseCommand {
  out: string[] = [];
  json: unknown[] = [];
  async run(): Promise<void> {}
  override log(message = ''): void {
    if (!this.jsonEnabled()) this.out.push(message);
  }
  override logJson(json: unknown): void {
    this.json.push(json);
  }
  handle(err: Error): Promise<unknown> {
    return this.catch(err);
  }
  show(lines: Lines): void {
    this.print(lines);
  }
  progress(): unknown {
    return this.progressLine('attaching');
  }
}

const probe = (argv: string[] = []): Probe => new Probe(argv, {bin: 'cni-docker'} as unknown as Config);

/** Runs fn with process.stderr.write captured; returns what was written. */
async function stderrOf(fn: () => unknown): Promise<{text: string; error?: unknown}> {
  const orig = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((s: string) => ((text += s), true)) as typeof process.stderr.write;
  try {
    await fn();
    return {text};
  } catch (error) {
    return {text, error};
  } finally {
    process.stderr.write = orig;
  }
}

/** The exit code oclif's ExitError carries. */
const exitCodeOf = (err: unknown): number | undefined => (err as {oclif?: {exit?: number}}).oclif?.exit;

describe('cli/base-command', () => {
  let exitCode: typeof process.exitCode;
  beforeEach(() => {
    exitCode = process.exitCode;
  });
  // oclif's own catch sets process.exitCode; the test run's must not change.
  afterEach(() => {
    process.exitCode = exitCode;
  });

  it('a UserError is one "Error:" line on stderr and exit 1, a UsageError exit 2, a multi-line message joined', async () => {
    const c = probe();
    const r = await stderrOf(() => c.handle(new UserError('no such network tnet\n  try --conf')));
    assert.equal(r.text, 'Error: no such network tnet; try --conf\n');
    assert.equal(exitCodeOf(r.error), 1);
    assert.deepEqual(c.json, []);
    assert.equal(exitCodeOf((await stderrOf(() => probe().handle(new UsageError('give --conf or --net')))).error), 2);
  });

  it('under --json the error is also the JSON payload', async () => {
    const c = probe(['--json']);
    const r = await stderrOf(() => c.handle(new UsageError('bad flags')));
    assert.deepEqual(c.json, [{error: {kind: 'UsageError', message: 'bad flags'}}]);
    assert.equal(r.text, 'Error: bad flags\n');
    assert.equal(exitCodeOf(r.error), 2);
  });

  it('an error it does not know goes to oclif as it is (a bug: shown with its stack)', async () => {
    const bug = new TypeError('x is undefined');
    const r = await stderrOf(() => probe().handle(bug));
    assert.equal(r.error, bug);
    assert.doesNotMatch(r.text, /^Error: x is undefined/);
  });

  it('print sends out lines to stdout (none under --json) and err lines to stderr', async () => {
    const c = probe();
    const r = await stderrOf(() => c.show({out: ['a', 'b'], err: ['warning: w']}));
    assert.deepEqual(c.out, ['a', 'b']);
    assert.equal(r.text, 'warning: w\n');
    const j = probe(['--json']);
    await stderrOf(() => j.show({out: ['a'], err: []}));
    assert.deepEqual(j.out, []);
  });

  it('no progress line under --json', () => {
    assert.equal(probe(['--json']).progress(), undefined);
  });
});
