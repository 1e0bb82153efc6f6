import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {isTempFile, writeFileAtomic, writeFileAtomicSync} from '../../../src/util/atomic.js';

const variants: [string, (file: string, data: string, mode?: number) => Promise<void>][] = [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (file, data, mode) => writeFileAtomicSync(file, data, mode)],
];

for (const [name, write] of variants)
  describe(`util/atomic ${name}`, () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    });
    afterEach(() => rmSync(dir, {recursive: true, force: true}));

    it('makes the missing directories with dirMode and writes the file with mode, leaving no temp file', async () => {
      const file = path.join(dir, 'a', 'b', 'state.json');
      await write(file, '{"x":1}');
      assert.equal(readFileSync(file, 'utf8'), '{"x":1}');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(path.join(dir, 'a', 'b')).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(path.join(dir, 'a', 'b')), ['state.json']);
    });

    it('replaces an existing file whole, with the new mode', async () => {
      const file = path.join(dir, 'f');
      writeFileSync(file, 'old content that is longer than the new one', {mode: 0o600});
      await write(file, 'new', 0o644);
      assert.equal(readFileSync(file, 'utf8'), 'new');
      assert.equal(statSync(file).mode & 0o777, 0o644, "the mode is the new file's, not the old one's");
      assert.deepEqual(readdirSync(dir), ['f']);
    });

    it('when the rename fails, removes its temp file and throws', async () => {
      // A non-empty directory at the target: rename(2) cannot replace it.
      const target = path.join(dir, 'taken');
      mkdirSync(target);
      writeFileSync(path.join(target, 'inside'), '');
      await assert.rejects(write(target, 'data'), (e: NodeJS.ErrnoException) => e.syscall === 'rename');
      assert.deepEqual(readdirSync(dir), ['taken']);
    });

    it('its temp files are the ones isTempFile recognises', async () => {
      assert.equal(isTempFile('state.json.tmp-0a1b2c3d'), true);
      assert.equal(isTempFile('state.json'), false);
      assert.equal(isTempFile('tmp-notes'), false);
    });
  });
