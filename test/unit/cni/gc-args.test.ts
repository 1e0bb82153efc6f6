import {strict as assert} from 'node:assert';
import {validAttachments} from '../../../src/cni/gc-args.js';

describe('cni/gc-args validAttachments', () => {
  it('matches (id, ifname) pairs, legacy records by id, and keeps nothing for an absent list', () => {
    const v = validAttachments(JSON.stringify({'cni.dev/valid-attachments': [{containerID: 'a', ifname: 'eth0'}]}));
    assert.equal(v.has('a', 'eth0'), true);
    assert.equal(v.has('a', 'eth1'), false);
    assert.equal(v.has('a'), true);
    assert.equal(v.has('b', 'eth0'), false);
    assert.equal(validAttachments('{}').has('a', 'eth0'), false);
    assert.equal(validAttachments(JSON.stringify({'cni.dev/attachments': [{containerID: 'a', ifname: 'eth0'}]})).has('a', 'eth0'), true);
  });
});
