import assert from 'node:assert/strict';
import {summarize} from '../../../src/runtime/attachment.js';

describe('runtime/attachment summarize', () => {
  it('summarizes addresses, gateways and the container MAC of a result', () => {
    const s = summarize(
      {
        cniVersion: '1.0.0',
        interfaces: [
          {name: 'br0', mac: 'aa:aa:aa:aa:aa:aa'},
          {name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb'},
          {name: 'eth1', mac: 'cc:cc:cc:cc:cc:cc', sandbox: '/ns'},
        ],
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
