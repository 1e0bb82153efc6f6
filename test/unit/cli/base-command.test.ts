import {strict as assert} from 'node:assert';
import {oneLine, userFacingError} from '../../../src/cli/base-command.js';
import {CniError, ErrorCode} from '../../../src/cni/errors.js';
import {NoSuchContainerError} from '../../../src/docker/errors.js';
import {UsageError} from '../../../src/errors.js';
import {CommandError} from '../../../src/exec/runner.js';

describe('cli/base-command userFacingError', () => {
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
  });

  it('oneLine trims and joins', () => {
    assert.equal(oneLine('  a\n  b \n'), 'a; b');
  });
});
