import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ERRNO_REASON, fsReason} from '../../../src/util/fs-errors.js';

/** What `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('util/fs-errors fsReason', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fs-errors-'));
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('words a known code in its own few words, without the path Node puts in its message', () => {
    const err = thrown(() => readFileSync(path.join(dir, 'missing')));
    assert.equal(fsReason(err), 'no such file or directory');
    assert.equal(fsReason(thrown(() => readFileSync(dir))), 'is a directory');
  });

  it('strips the code and the "syscall \'path\'" tail from a code it has no words for', () => {
    // EEXIST is not in ERRNO_REASON: Node's own words are kept, its decoration dropped.
    assert.equal(ERRNO_REASON.EEXIST, undefined);
    const err = thrown(() => mkdirSync(dir));
    assert.match(String((err as Error).message), /^EEXIST: .*, mkdir '/);
    assert.equal(fsReason(err), 'file already exists');
  });

  it('keeps the message of an error that is not a file-system one', () => {
    assert.equal(fsReason(new Error('disk on fire')), 'disk on fire');
    assert.equal(fsReason(Object.assign(new Error('odd'), {code: 'EWHATEVER'})), 'odd');
    assert.equal(fsReason('a string'), 'a string');
    assert.equal(fsReason(undefined), 'undefined');
  });
});
