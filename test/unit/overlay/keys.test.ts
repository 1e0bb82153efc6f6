import {strict as assert} from 'node:assert';
import {cidrString, parseCidr} from '../../../src/util/ip.js';
import {parsePrefix, parseSubnetKeyName, subnetKey, subnetKeyName} from '../../../src/overlay/keys.js';

describe("overlay/keys (flannel's key layout)", () => {
  it('encodes a subnet as <ip>-<len> under <prefix>/subnets/', () => {
    assert.equal(subnetKeyName(parseCidr('10.240.3.0/24')!), '10.240.3.0-24');
    assert.equal(subnetKey('/coreos.com/network', parseCidr('10.240.3.0/24')!), '/coreos.com/network/subnets/10.240.3.0-24');
  });

  it('decodes only canonical IPv4 subnet names; a dual-stack name counts for its IPv4 part', () => {
    assert.equal(cidrString(parseSubnetKeyName('10.240.3.0-24')!), '10.240.3.0/24');
    assert.equal(cidrString(parseSubnetKeyName('10.5.52.0-24&fc00::-64')!), '10.5.52.0/24');
    for (const bad of [
      '10.240.3.1-24',
      '010.240.3.0-24',
      '10.240.3.0-33',
      '10.240.3.0/24',
      '10.240.3.0-24 ',
      'x',
      '',
      '10.240.3-24',
      '256.1.1.0-24',
      '10.240.3.0-24/extra',
    ]) {
      assert.equal(parseSubnetKeyName(bad), undefined, bad);
    }
  });

  it('accepts a prefix of plain parts, drops a trailing slash, refuses anything else', () => {
    assert.equal(parsePrefix('/coreos.com/network/'), '/coreos.com/network');
    assert.equal(parsePrefix('/a_b/c-d'), '/a_b/c-d');
    for (const bad of ['coreos.com/network', '/a//b', '/a/../b', '/a/./b', '/a b', '/a\nb', '/ä', `/${'a'.repeat(300)}`]) {
      assert.throws(() => parsePrefix(bad), /etcd prefix/, JSON.stringify(bad));
    }
  });
});
