'use strict';
// Mocha's spec reporter plus one plain closing line, "tests: N passed, M failed",
// that CI and humans can read without knowing mocha's summary format.
const Mocha = require('mocha');

const {Spec} = Mocha.reporters;
const {EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL} = Mocha.Runner.constants;

class SpecWithTotals extends Spec {
  constructor(runner, options) {
    super(runner, options);
    // A test can pass and then be failed by a root afterEach hook (the FakeRunner
    // check): mocha counts it in both totals, so take it out of the passes.
    const passed = new WeakSet();
    runner.on(EVENT_TEST_PASS, (test) => passed.add(test));
    runner.on(EVENT_TEST_FAIL, (test) => {
      if (passed.has(test) && runner.stats) {
        passed.delete(test);
        runner.stats.passes--;
      }
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {passes: 0, failures: 0, pending: 0};
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`tests: ${s.passes} passed, ${s.failures} failed${skipped}\n`);
    });
  }
}

module.exports = SpecWithTotals;
