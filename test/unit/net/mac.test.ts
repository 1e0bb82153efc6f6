import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {parseUnicastMac, randomMac} from '../../../src/net/mac.js';

describe('net/mac', () => {
  it('parseUnicastMac accepts a unicast address and prints it as ip does (lower case)', () => {
    assert.equal(parseUnicastMac('02:42:AC:11:00:02'), '02:42:ac:11:00:02');
    assert.equal(parseUnicastMac('fe:ff:ff:ff:ff:ff'), 'fe:ff:ff:ff:ff:ff');
  });

  it('parseUnicastMac refuses multicast (low bit of the first octet), broadcast and all-zero', () => {
    assert.equal(parseUnicastMac('01:00:5e:00:00:01'), undefined);
    assert.equal(parseUnicastMac('ff:ff:ff:ff:ff:ff'), undefined);
    assert.equal(parseUnicastMac('03:00:00:00:00:01'), undefined);
    assert.equal(parseUnicastMac('00:00:00:00:00:00'), undefined);
  });

  it('parseUnicastMac refuses what is not six colon-separated octets', () => {
    for (const bad of [
      '',
      '02:42:ac:11:00',
      '02:42:ac:11:00:02:03',
      '02-42-ac-11-00-02',
      '2:42:ac:11:00:02',
      '02:42:ac:11:00:0g',
      ' 02:42:ac:11:00:02',
      '0242ac110002',
    ]) {
      assert.equal(parseUnicastMac(bad), undefined, bad);
    }
    assert.equal(parseUnicastMac(42 as unknown as string), undefined);
  });

  it('parseUnicastMac accepts exactly the addresses whose first octet is even, other than zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 6, maxLength: 6}), fc.boolean(), (bytes, upper) => {
        let text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
        if (upper) text = text.toUpperCase();
        const unicast = (bytes[0] & 1) === 0 && bytes.some((b) => b !== 0);
        assert.equal(parseUnicastMac(text), unicast ? text.toLowerCase() : undefined);
      }),
    );
  });

  it('randomMac is a unicast, locally administered address, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const mac = randomMac();
      assert.equal(parseUnicastMac(mac), mac, mac);
      assert.equal(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, `${mac}: locally administered, unicast`);
      seen.add(mac);
    }
    assert.ok(seen.size > 190, 'random, not a constant');
  });
});
