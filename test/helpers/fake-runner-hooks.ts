import type {Context} from 'mocha';
import {checkFakeRunners, checkLastingFakeRunners, setInTest} from './fake-runner.js';

const HEADING = 'a FakeRunner saw unexpected calls or kept unused expectations';

/**
 * Root hook plugin (loaded by .mocharc.json's `require`): after each test,
 * checks the FakeRunners it made and the calls it made to runners made
 * outside any test; after the last test, those runners' unused expectations.
 * A test's report goes to the hook's `error()`, which makes mocha fail that
 * test: throwing from a root afterEach would instead fail the hook and skip
 * every test after it.
 */
export const mochaHooks = {
  beforeEach(): void {
    setInTest(true);
  },
  afterEach(this: Context): void {
    setInTest(false);
    const report = checkFakeRunners();
    if (report === undefined) return;
    const err = new Error(`${HEADING} during this test\n${report}`);
    const hook = this.test as Mocha.Hook | undefined;
    if (hook) hook.error(err);
    else throw err;
  },
  afterAll(): void {
    const report = checkLastingFakeRunners();
    if (report !== undefined) throw new Error(`${HEADING} (made outside any test)\n${report}`);
  },
};
