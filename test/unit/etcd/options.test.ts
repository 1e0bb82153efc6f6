import {strict as assert} from 'node:assert';
import {parseEndpoint, resolveOptions} from '../../../src/etcd/options.js';

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
    assert.deepEqual(
      [resolveOptions({endpoints: ['http://a:1']}).timeoutMs, resolveOptions({endpoints: ['http://a:1']}).attemptTimeoutMs],
      [5000, 2000],
    );
  });
});
