import {strict as assert} from 'node:assert';
import {b64, int64, leaseId, parseKeyValue, prefixRangeEnd, unb64} from '../../../src/etcd/codec.js';
import {transportReason} from '../../../src/etcd/errors.js';
import {parseEndpoint, resolveOptions} from '../../../src/etcd/options.js';

const unb = (s: string) => Buffer.from(s, 'base64');

describe('etcd/codec (the JSON gateway\'s encoding)', () => {
  it('base64 both ways, refusing what is not base64', () => {
    assert.equal(b64('/coreos.com/network/config'), 'L2NvcmVvcy5jb20vbmV0d29yay9jb25maWc=');
    assert.equal(unb64('L3gvYQ==', 'key'), '/x/a');
    assert.equal(unb64(undefined, 'value'), '');
    assert.throws(() => unb64('not base64!', 'key'), /bad key in etcd's answer/);
    assert.throws(() => unb64(7, 'value'), /bad value/);
  });

  it('the range end of a prefix is the prefix with its last byte below 0xff incremented', () => {
    assert.equal(unb(prefixRangeEnd('/p/subnets/')).toString(), '/p/subnets0');
    assert.deepEqual([...unb(prefixRangeEnd('a\u00ff'))], [0x61, 0xc3, 0xc0]); // UTF-8 c3 bf: bf+1
    assert.deepEqual([...unb(prefixRangeEnd(Buffer.from([0xff]).toString('latin1')))], [0xc3, 0xc0]);
  });

  it('int64 fields are decimal strings; lease IDs keep all 64 bits', () => {
    assert.equal(int64('42', 'revision'), 42);
    assert.equal(int64(undefined, 'revision'), 0);
    assert.throws(() => int64('9007199254740993', 'revision'), /out of range/);
    assert.throws(() => int64('1e3', 'revision'), /bad revision/);
    assert.equal(leaseId('7587869370963425297'), '7587869370963425297');
    assert.equal(leaseId(undefined), '0');
    assert.throws(() => leaseId(12), /bad lease ID/);
  });

  it('parses a key-value, checking each field', () => {
    assert.deepEqual(parseKeyValue({key: 'L3gvYQ==', create_revision: '2', mod_revision: '3', version: '2', value: 'djE=', lease: '99'}),
      {key: '/x/a', value: 'v1', createRevision: 2, modRevision: 3, version: 2, lease: '99'});
    assert.throws(() => parseKeyValue([]), /bad key-value/);
    assert.throws(() => parseKeyValue({key: 'L3gvYQ==', version: 'x'}), /bad version/);
  });
});

describe('etcd/options (endpoints and settings, checked before any connection)', () => {
  it('keeps scheme, host and port only, with the default port spelled out', () => {
    assert.equal(parseEndpoint('http://10.0.0.1:2379'), 'http://10.0.0.1:2379');
    assert.equal(parseEndpoint('https://etcd.example/'), 'https://etcd.example:443');
    assert.equal(parseEndpoint('http://[fd00::1]:2379'), 'http://[fd00::1]:2379');
  });

  it('refuses anything else in one line', () => {
    for (const [text, re] of [
      ['10.0.0.1:2379', /scheme must be http or https|is not a URL/],
      ['unix:///run/etcd.sock', /scheme must be http or https/],
      ['http://user:pw@h:2379', /credentials do not belong in the URL/],
      ['http://h:2379/v3', /only scheme, host and port/],
      ['http://h:2379?x=1', /only scheme, host and port/],
      ['http://h :2379', /is not a URL/],
      ['http://a..b:2379', /"a\.\.b" is not a host name or address/],
      ['http://-a:2379', /is not a host name or address/],
      ['', /is not a URL/],
    ] as [string, RegExp][]) {
      const r = parseEndpoint(text);
      assert.ok(r instanceof Error && re.test(r.message), `${text}: ${String(r)}`);
    }
  });

  it('checks the settings together', () => {
    assert.deepEqual(resolveOptions({endpoints: ['http://a:1', 'http://a:1/']}).endpoints, ['http://a:1'], 'duplicates dropped');
    assert.throws(() => resolveOptions({endpoints: []}), /no etcd endpoints/);
    assert.throws(() => resolveOptions({endpoints: ['http://a:1'], tls: {caFile: '/ca'}}), /not every endpoint is https/);
    assert.throws(() => resolveOptions({endpoints: ['https://a:1'], tls: {certFile: '/c'}}), /needs its key/);
    assert.throws(() => resolveOptions({endpoints: ['https://a:1'], username: 'u'}), /both a user and a password/);
    assert.throws(() => resolveOptions({endpoints: ['https://a:1'], timeoutMs: 0}), /timeout must be/);
    assert.deepEqual([resolveOptions({endpoints: ['http://a:1']}).timeoutMs, resolveOptions({endpoints: ['http://a:1']}).attemptTimeoutMs], [5000, 2000]);
  });
});

describe('etcd/errors transportReason', () => {
  it('names the socket error under fetch\'s "fetch failed"', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {code: 'ECONNREFUSED'})});
    assert.equal(transportReason(refused), 'connection refused');
    assert.equal(transportReason(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 'timed out');
    const tls = Object.assign(new TypeError('fetch failed'), {cause: Object.assign(new Error('self-signed certificate in certificate chain'), {code: 'SELF_SIGNED_CERT_IN_CHAIN'})});
    assert.equal(transportReason(tls), 'TLS: self-signed certificate in the chain (give the CA file)');
    assert.equal(transportReason(Object.assign(new Error('odd thing'), {code: 'EODD'})), 'odd thing (EODD)');
  });
});
