import {strict as assert} from 'node:assert';
import {
  canonicalCidr,
  canonicalIp,
  cidrContains,
  cidrString,
  familyOf,
  ipCmp,
  ipString,
  isGlobalUnicast,
  isV4Text,
  lastOf,
  maskOf,
  networkOf,
  networkString,
  nextIP,
  normalizeIp,
  parseAddr,
  parseCidr,
  parseCidrAsWritten,
  parseIP,
} from '../../../src/util/ip.js';

const addr = (s: string) => parseAddr(s)!;
const text = (c: ReturnType<typeof parseCidr>) => (c ? {ip: ipString(c.ip), prefix: c.prefix, mappedV4: c.mappedV4} : undefined);

describe('util/ip', () => {
  it("reads an IPv4-mapped address as Go's net package does (IPv4) or as written (IPv6)", () => {
    assert.equal(ipString(parseIP('::ffff:10.219.0.7')!), '10.219.0.7');
    assert.equal(familyOf(parseIP('::ffff:10.219.0.7')!), 4);
    assert.equal(ipString(addr('::ffff:10.219.0.7')), '::ffff:adb:7');
    assert.equal(familyOf(addr('::ffff:10.219.0.7')), 6);
    for (const bad of ['10.219.0.07', '10.219.0', 'fe80::1%eth0', '', '1.2.3.4.']) assert.equal(parseAddr(bad), undefined, bad);
  });

  it('parseCidr is Go\'s ParseCIDR: the mapped address is IPv4 with a 128-bit mask, leading zeros in the prefix are fine', () => {
    assert.deepEqual(text(parseCidr('::ffff:10.219.0.3/120')), {ip: '10.219.0.3', prefix: 120, mappedV4: true});
    assert.deepEqual(text(parseCidr('10.219.0.3/0024')), {ip: '10.219.0.3', prefix: 24, mappedV4: undefined});
    for (const bad of ['10.219.0.3/33', '10.219.0.3', '10.219.0.3/', '10.219.0.3/+1', 'fd00::/129']) assert.equal(parseCidr(bad), undefined, bad);
  });

  it('parseCidrAsWritten keeps the written family and takes one to three prefix digits', () => {
    assert.deepEqual(text(parseCidrAsWritten('::ffff:10.219.0.3/120')), {ip: '::ffff:adb:3', prefix: 120, mappedV4: undefined});
    assert.equal(parseCidrAsWritten('10.219.0.3/0024'), undefined);
    assert.equal(parseCidrAsWritten('10.219.0.3/33'), undefined);
    assert.equal(cidrString(parseCidrAsWritten('FD00:219::3/64')!), 'fd00:219::3/64');
  });

  it('network arithmetic: network, last, containment (same family only), next, order, masks', () => {
    const c = parseCidr('10.219.4.9/22')!;
    assert.equal(ipString(networkOf(c)), '10.219.4.0');
    assert.equal(networkString(c), '10.219.4.0/22');
    assert.equal(ipString(lastOf(c)), '10.219.7.255');
    assert.ok(cidrContains(c, addr('10.219.7.1')));
    assert.ok(!cidrContains(c, addr('10.219.8.1')));
    assert.ok(!cidrContains(parseCidr('::/0')!, addr('10.219.7.1')));
    assert.equal(ipString(nextIP(addr('fd00::ffff'))), 'fd00::1:0');
    assert.equal(ipCmp(addr('10.0.0.9'), addr('10.0.0.10')), -1);
    assert.equal(maskOf(4, 24), 0xffffff00n);
    assert.equal(maskOf(6, 4), 0xfn << 124n);
  });

  it('global unicast as Go decides it for the addresses we meet', () => {
    for (const g of ['10.1.2.3', '8.8.8.8', 'fd00::1', '2001:db8::1']) assert.ok(isGlobalUnicast(addr(g)), g);
    for (const n of ['0.0.0.0', '127.0.0.1', '169.254.1.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'ff02::1']) assert.ok(!isGlobalUnicast(addr(n)), n);
  });

  it('text as Go prints it, with its errors; normalizeIp keeps the written form and leaves non-IPs alone', () => {
    assert.equal(canonicalIp('FD00:0:0::0001'), 'fd00::1');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '10.0.0.1');
    assert.throws(() => canonicalIp('10.0.0.01'), {message: 'invalid IP address: 10.0.0.01'});
    assert.equal(canonicalCidr('::ffff:10.0.0.1/120'), '10.0.0.1/120');
    assert.throws(() => canonicalCidr('10.0.0.1/0024'), {message: 'invalid CIDR address: 10.0.0.1/0024'});
    assert.deepEqual(['10.0.0.1/24', '::ffff:10.0.0.1', 'fd00::1/64', 'x'].map(isV4Text), [true, true, false, false]);
    assert.equal(normalizeIp('::FFFF:10.0.0.1'), '::ffff:a00:1');
    assert.equal(normalizeIp('not-an-ip'), 'not-an-ip');
  });
  it('prints IPv6 like Go (bridge gateways and results)', () => {
    for (const [i, o] of [['fd00:212:0:0:0:0:0:1', 'fd00:212::1'], ['fd00:0:1:0:0:1:0:0', 'fd00:0:1::1:0:0'], ['fd00:1:0:1:1:1:1:1', 'fd00:1:0:1:1:1:1:1'], ['::', '::']]) {
      assert.equal(ipString(parseAddr(i)!), o);
    }
    assert.equal(parseCidrAsWritten('10.1.2.3/33'), undefined);
  });
});
