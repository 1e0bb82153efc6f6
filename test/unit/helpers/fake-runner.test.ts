import assert from 'node:assert/strict';
import {CommandError} from '../../../src/exec/runner.js';
import {FakeRunner, checkFakeRunners, reportFakeRunners, setInTest} from '../../helpers/fake-runner.js';
import {mochaHooks} from '../../helpers/fake-runner-hooks.js';

/** Production code's best-effort pattern: a command whose failure is ignored. */
async function bestEffort(r: FakeRunner, file: string, args: string[], input?: string): Promise<void> {
  try {
    await r.run(file, args, {input});
  } catch {
    // swallowed, as cleanup code does
  }
}

/**
 * The check the root hook runs after each test, called directly: each test
 * here takes the report of the runners it made, so the hook itself finds
 * nothing left and the suite stays green.
 */
describe('test helper FakeRunner and its end-of-test check', () => {
  it('reports an unexpected call that the code under test swallowed: wrong argv, wrong stdin, past the script', async () => {
    const r = new FakeRunner([{argv: ['ip', 'link', 'show']}, {argv: ['ip', '-batch', '-'], input: 'link del dev a\n'}]);
    await bestEffort(r, 'ip', ['link', 'del', 'dev', 'x']);
    await bestEffort(r, 'ip', ['-batch', '-'], 'link del dev b\n');
    await bestEffort(r, 'iptables-save', []);
    const report = checkFakeRunners() ?? assert.fail('no report');
    assert.match(report, /^FakeRunner made at .*fake-runner\.test\.ts:\d+:\d+\)?:$/m, 'names where the runner was made');
    assert.match(report, /- expected command ip link show\n\s+but got ip link del dev x/);
    assert.match(report, /- stdin of ip -batch - differs:\n\s+expected "link del dev a\\n"\n\s+got "link del dev b\\n"/);
    assert.match(report, /- unexpected command: iptables-save$/m);
    assert.equal(checkFakeRunners(), undefined, 'a runner is checked once, by the test that made it');
  });

  it('reports expectations never used, unless the runner says why they may be', async () => {
    const r = new FakeRunner([{argv: ['ip', 'link', 'show']}, {argv: ['ip', 'addr', 'show']}, {argv: ['ip', 'route', 'show']}]);
    await r.run('ip', ['link', 'show']);
    const allowed = new FakeRunner([{argv: ['ip', 'link', 'show']}], {allowUnused: 'stops at the first failure'});
    assert.equal(reportFakeRunners([allowed]), undefined);
    const report = checkFakeRunners() ?? assert.fail('no report');
    assert.match(report, /- expected commands not run: ip addr show; ip route show$/m);
    assert.doesNotMatch(report, /ip link show/);
  });

  it("the root hook fails the test through the hook's error(), naming the problem, and passes a clean test", async () => {
    const r = new FakeRunner([{argv: ['ip', 'link', 'show']}]);
    await bestEffort(r, 'ip', ['link', 'del', 'dev', 'x']);
    const errors: unknown[] = [];
    const hookCtx = {test: {error: (e: unknown) => errors.push(e)}} as unknown as Mocha.Context;
    mochaHooks.afterEach.call(hookCtx);
    mochaHooks.beforeEach(); // the rest of this test is a test again
    assert.equal(errors.length, 1);
    assert.match(
      String(errors[0]),
      /unexpected calls or kept unused expectations during this test\nFakeRunner made at .*\n\s+- expected command ip link show\n\s+but got ip link del dev x/,
    );
    mochaHooks.afterEach.call(hookCtx);
    mochaHooks.beforeEach();
    assert.equal(errors.length, 1, 'nothing left to report');
  });

  it("a responder answers in any order; undefined or an AssertionError is unexpected, any other throw is the command's failure", async () => {
    const r = new FakeRunner(({argv, input}) => {
      assert.notEqual(argv[0], 'rm');
      if (argv[0] === 'boom') throw new Error('exploded');
      return argv[0] === 'cat' ? {stdout: input} : undefined;
    });
    assert.equal((await r.run('cat', [], {input: 'x'})).stdout, 'x');
    await assert.rejects(r.run('boom', []), /^Error: exploded$/);
    await bestEffort(r, 'rm', ['-rf', '/']);
    await bestEffort(r, 'ls', []);
    assert.equal(r.calls.length, 4);
    const report = checkFakeRunners() ?? assert.fail('no report');
    assert.match(report, /- unexpected command: rm -rf \/: /);
    assert.match(report, /- unexpected command: ls$/m);
    assert.doesNotMatch(report, /boom|cat/);
  });

  it('replies computed from the call, normalized argv and stdin, CommandError on a failing exit unless reject is false', async () => {
    const r = new FakeRunner(
      [
        {argv: ['ip', 'link', 'add', 'vethX'], input: 'vethX\n', reply: ({argv}) => ({stdout: argv[3]})},
        {argv: ['ip', 'link', 'del', 'vethX'], reply: {exitCode: 2, stderr: 'gone'}},
        {argv: ['ip', 'link', 'del', 'vethX'], reply: {exitCode: 2, stderr: 'gone'}},
      ],
      {normalize: (t) => t.replace(/veth[0-9a-f]{4}/, 'vethX')},
    );
    assert.equal((await r.run('ip', ['link', 'add', 'veth12ab'], {input: 'veth12ab\n'})).stdout, 'veth12ab');
    await assert.rejects(
      r.run('ip', ['link', 'del', 'veth12ab']),
      (e: unknown) => e instanceof CommandError && e.exitCode === 2 && e.stderr === 'gone',
    );
    assert.equal((await r.run('ip', ['link', 'del', 'veth12ab'], {reject: false})).exitCode, 2);
    assert.deepEqual(r.calls[0], {argv: ['ip', 'link', 'add', 'veth12ab'], input: 'veth12ab\n'}, 'calls are recorded as made');
  });

  it("a runner made outside any test answers for each test's calls, and keeps its expectations for the end of the run", async () => {
    setInTest(false);
    const shared = new FakeRunner([{argv: ['true']}, {argv: ['true']}]);
    setInTest(true);
    assert.equal(checkFakeRunners(), undefined, "its unused expectations are not this test's");
    await bestEffort(shared, 'false', []);
    assert.match(checkFakeRunners() ?? '', /- expected command true\n\s+but got false/);
    assert.equal(checkFakeRunners(), undefined, 'each unexpected call is reported once');
    assert.match(reportFakeRunners([shared]) ?? '', /- expected commands not run: true$/m, 'what the end of the run reports');
    await shared.run('true', []); // used up, so the real end-of-run check finds nothing
  });
});
