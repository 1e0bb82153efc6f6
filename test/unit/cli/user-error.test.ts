import {strict as assert} from 'node:assert';
import {oneLine, userFacingError} from '../../../src/cli/user-error.js';
import {CniError, ErrorCode} from '../../../src/cni/errors.js';
import {NoSuchContainerError} from '../../../src/docker/errors.js';
import {UsageError} from '../../../src/errors.js';
import {CommandError} from '../../../src/exec/runner.js';

describe('cli/user-error userFacingError', () => {
  it('maps a UserError to its message and exit 1', () => {
    assert.deepEqual(userFacingError(new NoSuchContainerError('web')), {
      message: 'no such container: web',
      exitCode: 1,
      json: {error: {kind: 'NoSuchContainerError', message: 'no such container: web'}},
    });
  });

  it('maps a UsageError to exit 2', () => {
    assert.equal(userFacingError(new UsageError('bad flags'))?.exitCode, 2);
  });

  it('prints a CniError msg (with details) and keeps its code in JSON', () => {
    const e = userFacingError(new CniError(ErrorCode.InvalidNetworkConfig, 'bad conf', 'missing name'));
    assert.equal(e?.message, 'bad conf: missing name');
    assert.equal(e?.exitCode, 1);
    assert.equal(e?.json.error.code, 7);
  });

  it('collapses a multi-line command error to one line', () => {
    const e = userFacingError(new CommandError(['ip', 'link'], 2, '', 'line one\nline two\n'));
    assert.equal(e?.message, 'ip link: line one; line two');
  });

  it('leaves unknown errors to oclif', () => {
    assert.equal(userFacingError(new TypeError('bug')), undefined);
    // An errno error without a path, or with a code we do not word, is not ours to word either.
    assert.equal(userFacingError(Object.assign(new Error('x'), {code: 'EACCES'})), undefined);
    assert.equal(userFacingError(Object.assign(new Error('x'), {code: 'EBUSY', path: '/x'})), undefined);
  });

  it('words a file-system error with a path as one line, with the root hint for permission errors', async () => {
    const {readdir, readFile} = await import('node:fs/promises');
    const denied = Object.assign(new Error("EACCES: permission denied, scandir '/var/lib/cni/results'"), {
      code: 'EACCES',
      syscall: 'scandir',
      path: '/var/lib/cni/results',
    });
    assert.deepEqual(userFacingError(denied), {
      message: '/var/lib/cni/results: permission denied (cni-docker needs root: run it with sudo)',
      exitCode: 1,
      json: {error: {kind: 'SystemError', message: '/var/lib/cni/results: permission denied (cni-docker needs root: run it with sudo)'}},
    });
    // Real errors from node:fs, as the commands meet them.
    const notDir = await readdir('/etc/hostname').catch((e: unknown) => e);
    assert.equal(userFacingError(notDir)?.message, '/etc/hostname: not a directory');
    // readFile of a directory fails in read(2), with no path: left alone (resolveNetwork words that case).
    assert.equal(userFacingError(await readFile('/tmp').catch((e: unknown) => e)), undefined);
    const missing = await readdir('/nonexistent-cni-docker-dir').catch((e: unknown) => e);
    assert.equal(userFacingError(missing)?.message, '/nonexistent-cni-docker-dir: no such file or directory');
  });

  it('oneLine trims and joins', () => {
    assert.equal(oneLine('  a\n  b \n'), 'a; b');
  });
});
