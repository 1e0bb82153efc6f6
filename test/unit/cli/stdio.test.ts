import {strict as assert} from 'node:assert';
import {execFileSync, spawn} from 'node:child_process';
import {closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fdStream, writeAllSync} from '../../../src/cli/stdio.js';

/**
 * The CLI's direct writes to fds 1 and 2: a full non-blocking pipe is waited
 * out (nothing lost), a closed one ends the output without an error.
 */
describe('cli/stdio', function () {
  this.timeout(20_000);
  let tmp: string;
  let fifo: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'tstdio-'));
    fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  /** A reader that opens the FIFO at once and starts reading `bytes` after `delay` seconds. */
  function reader(bytes: number, delay: number, out: string): Promise<number | null> {
    const c = spawn('sh', ['-c', `exec 3<>"$1"; sleep ${delay}; head -c ${bytes} <&3 > "$2"`, 'sh', fifo, out]);
    return new Promise((r) => c.on('exit', r));
  }

  it('writes everything through a full non-blocking pipe (EAGAIN is waited out)', async () => {
    const out = path.join(tmp, 'out');
    const text = 'x'.repeat(1_000_000) + '\nü end\n';
    const size = Buffer.byteLength(text);
    const done = reader(size, 0.3, out);
    await new Promise((r) => setTimeout(r, 100));
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      assert.equal(writeAllSync(fd, text), true);
    } finally {
      closeSync(fd);
    }
    assert.equal(await done, 0);
    assert.equal(readFileSync(out, 'utf8'), text);
  });

  it('a pipe whose reader is gone ends the output quietly (EPIPE), later writes do nothing', async () => {
    const done = reader(3, 0, '/dev/null');
    await new Promise((r) => setTimeout(r, 100));
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      const s = fdStream(fd);
      assert.equal(s.write('abc'), true);
      assert.equal(await done, 0);
      assert.equal(s.write('more\n'.repeat(100_000)), false);
      assert.equal(s.write('still more\n'), false);
      assert.equal(s.isTTY, false);
    } finally {
      closeSync(fd);
    }
  });
});
