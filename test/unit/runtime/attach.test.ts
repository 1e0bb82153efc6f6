import assert from 'node:assert/strict';
import {buildCniArgs} from '../../../src/runtime/attach.js';
import {UserError} from '../../../src/errors.js';

describe('runtime/attach pure logic', () => {
  it('builds CNI_ARGS from --ip/--mac/--args with IgnoreUnknown first', () => {
    assert.deepEqual(buildCniArgs({ip: '10.15.30.150', mac: '02:00:00:00:00:50', args: ['K8S_POD_NAME=web']}), [
      ['IgnoreUnknown', '1'],
      ['IP', '10.15.30.150'],
      ['MAC', '02:00:00:00:00:50'],
      ['K8S_POD_NAME', 'web'],
    ]);
    assert.deepEqual(buildCniArgs({}), []);
  });

  it('refuses CNI_ARGS that would split into extra pairs', () => {
    for (const bad of ['IP=1.2.3.4;MAC=x', 'K=a=b', 'noequals', '=v', 'K=has space', 'K;x=1']) {
      assert.throws(() => buildCniArgs({args: [bad]}), UserError, bad);
    }
    assert.throws(() => buildCniArgs({ip: '10.0.0.1;IgnoreUnknown=0'}), /invalid --ip/);
    assert.throws(() => buildCniArgs({mac: 'zz:00:00:00:00:00'}), /invalid --mac/);
  });
});
