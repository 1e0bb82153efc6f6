import assert from 'node:assert/strict';
import {buildCniArgs} from '../../../src/runtime/attach.js';
import {summarize} from '../../../src/runtime/attachment.js';
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

  it('summarizes addresses, gateways and the container MAC of a result', () => {
    const s = summarize(
      {
        cniVersion: '1.0.0',
        interfaces: [{name: 'br0', mac: 'aa:aa:aa:aa:aa:aa'}, {name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb'}, {name: 'eth1', mac: 'cc:cc:cc:cc:cc:cc', sandbox: '/ns'}],
        ips: [
          {interface: 2, address: '10.0.0.2/24', gateway: '10.0.0.1'},
          {interface: 2, address: 'fd00::2/64', gateway: 'fd00::1'},
        ],
      },
      'eth1',
      '/ns',
    );
    assert.deepEqual(s, {addresses: ['10.0.0.2/24', 'fd00::2/64'], gateways: ['10.0.0.1', 'fd00::1'], mac: 'cc:cc:cc:cc:cc:cc'});
  });
});
