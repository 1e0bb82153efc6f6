import {strict as assert} from 'node:assert';
import {progressLine} from '../../../src/cli/progress.js';

describe('bulk progress line', () => {
  const sink = (isTTY: boolean) => {
    const out: string[] = [];
    return {isTTY, out, write: (s: string) => out.push(s)};
  };

  it('rewrites one line in place on a terminal and erases it at the end', () => {
    const s = sink(true);
    const p = progressLine(s, 'attaching')!;
    p.update({done: 1, failed: 0, total: 3});
    p.update({done: 3, failed: 1, total: 3});
    p.end();
    assert.deepEqual(s.out, ['\r\x1b[Kattaching 1/3', '\r\x1b[Kattaching 3/3, 1 failed', '\r\x1b[K']);
  });

  it('writes nothing when the stream is not a terminal, or for a single target', () => {
    assert.equal(progressLine(sink(false), 'attaching'), undefined);
    const s = sink(true);
    const p = progressLine(s, 'detaching')!;
    p.update({done: 1, failed: 0, total: 1});
    p.end();
    assert.deepEqual(s.out, []);
  });
});
