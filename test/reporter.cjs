'use strict';
// Mocha's spec reporter plus one plain closing line, "tests: N passed, M failed",
// that CI and humans can read without knowing mocha's summary format.
const Mocha = require('mocha');

const {Spec} = Mocha.reporters;
const {EVENT_RUN_END} = Mocha.Runner.constants;

class SpecWithTotals extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {passes: 0, failures: 0, pending: 0};
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`tests: ${s.passes} passed, ${s.failures} failed${skipped}\n`);
    });
  }
}

module.exports = SpecWithTotals;
