import assert from 'node:assert/strict';
import {formatPort} from '../../../src/runtime/port-mapping.js';

describe('runtime/port-mapping formatPort', () => {
  it('formats ports as list prints them', () => {
    assert.equal(formatPort({hostPort: 18080, containerPort: 8080, protocol: 'tcp'}), '18080->8080/tcp');
    assert.equal(formatPort({hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1'}), '127.0.0.1:53->53/udp');
    assert.equal(formatPort({hostPort: 1, containerPort: 2, protocol: 'tcp', hostIP: 'fd00::1'}), '[fd00::1]:1->2/tcp');
  });
});
