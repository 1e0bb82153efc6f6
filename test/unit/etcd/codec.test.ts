import {strict as assert} from 'node:assert';
import {b64, int64, leaseId, parseKeyValue, prefixRangeEnd, unb64} from '../../../src/etcd/codec.js';

const unb = (s: string) => Buffer.from(s, 'base64');

describe("etcd/codec (the JSON gateway's encoding)", () => {
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
    assert.deepEqual(parseKeyValue({key: 'L3gvYQ==', create_revision: '2', mod_revision: '3', version: '2', value: 'djE=', lease: '99'}), {
      key: '/x/a',
      value: 'v1',
      createRevision: 2,
      modRevision: 3,
      version: 2,
      lease: '99',
    });
    assert.throws(() => parseKeyValue([]), /bad key-value/);
    assert.throws(() => parseKeyValue({key: 'L3gvYQ==', version: 'x'}), /bad version/);
  });
});
