import {strict as assert} from 'node:assert';
import {transportReason} from '../../../src/etcd/errors.js';

describe('etcd/errors transportReason', () => {
  it('names the socket error under fetch\'s "fetch failed"', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {code: 'ECONNREFUSED'}),
    });
    assert.equal(transportReason(refused), 'connection refused');
    assert.equal(transportReason(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 'timed out');
    const tls = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('self-signed certificate in certificate chain'), {code: 'SELF_SIGNED_CERT_IN_CHAIN'}),
    });
    assert.equal(transportReason(tls), 'TLS: self-signed certificate in the chain (give the CA file)');
    assert.equal(transportReason(Object.assign(new Error('odd thing'), {code: 'EODD'})), 'odd thing (EODD)');
  });
});
