import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {cidrString, parseCidr, type Cidr} from '../../../src/util/ip.js';
import {parseNetworkConfig} from '../../../src/overlay/config.js';
import {freeSubnets, pickSubnet, subnetFits} from '../../../src/overlay/subnets.js';

const cfg = (text = '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}') => parseNetworkConfig(text);
const c = (s: string): Cidr => parseCidr(s)!;

describe('overlay/subnets (choosing a subnet)', () => {
  it('lists free subnets from SubnetMin, skipping taken ones, at most 100', () => {
    const free = freeSubnets(cfg(), [c('10.240.1.0/24'), c('10.240.3.0/24')]);
    assert.equal(free.length, 100);
    assert.deepEqual(free.slice(0, 3).map(cidrString), ['10.240.2.0/24', '10.240.4.0/24', '10.240.5.0/24']);
  });

  it('counts a taken block of another size against every subnet it overlaps', () => {
    const free = freeSubnets(cfg(), [c('10.240.0.0/22'), c('10.240.6.128/25'), c('10.240.8.0/24')], 3);
    assert.deepEqual(free.map(cidrString), ['10.240.4.0/24', '10.240.5.0/24', '10.240.7.0/24']);
  });

  it('ends at SubnetMax inclusive, and is empty when everything is taken', () => {
    const small = cfg('{"Network":"10.9.0.0/22","Backend":{"Type":"vxlan"}}');
    assert.deepEqual(freeSubnets(small, []).map(cidrString), ['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']);
    assert.equal(pickSubnet(small, [c('10.9.1.0/24'), c('10.9.2.0/24'), c('10.9.3.0/24')]), undefined);
  });

  it('picks at random among the free ones, or the preferred one when it is free and fits', () => {
    const cf = cfg();
    assert.equal(cidrString(pickSubnet(cf, [], () => 0.999999)!), '10.240.100.0/24');
    assert.equal(cidrString(pickSubnet(cf, [], () => 0)!), '10.240.1.0/24');
    assert.equal(cidrString(pickSubnet(cf, [], () => 0, c('10.240.77.0/24'))!), '10.240.77.0/24');
    assert.equal(cidrString(pickSubnet(cf, [c('10.240.77.0/24')], () => 0, c('10.240.77.0/24'))!), '10.240.1.0/24', 'taken');
    assert.equal(cidrString(pickSubnet(cf, [], () => 0, c('10.240.0.0/24'))!), '10.240.1.0/24', 'below SubnetMin');
    assert.equal(cidrString(pickSubnet(cf, [], () => 0, c('10.240.77.0/25'))!), '10.240.1.0/24', 'wrong size');
  });

  it('property: a picked subnet fits the config and overlaps nothing taken', () => {
    const cf = cfg('{"Network":"10.7.0.0/20","SubnetLen":26,"Backend":{"Type":"vxlan"}}');
    const arbTaken = fc.array(fc.tuple(fc.integer({min: 0, max: 4095}), fc.integer({min: 20, max: 30})), {maxLength: 40}).map((xs) =>
      xs.map(([off, len]) => {
        const v = (0x0a070000 + off) & (~((1 << (32 - len)) - 1) >>> 0);
        return c(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`);
      }),
    );
    fc.assert(
      fc.property(arbTaken, fc.double({min: 0, max: 0.999999, noNaN: true}), (taken, r) => {
        const s = pickSubnet(cf, taken, () => r);
        if (!s) return freeSubnets(cf, taken).length === 0;
        const [a, b] = [s.ip.getValue(), s.ip.getValue() + 64n];
        return (
          subnetFits(cf, s) &&
          taken.every((t) => {
            const [x, y] = [t.ip.getValue(), t.ip.getValue() + (1n << BigInt(32 - t.prefix))];
            return y <= a || x >= b;
          })
        );
      }),
    );
  });
});
