import {strict as assert} from 'node:assert';
import {cidrString, ipString} from '../../../src/util/ip.js';
import {formatNetworkConfig, parseNetworkConfig, sameNetworkConfig} from '../../../src/overlay/config.js';

const summary = (text: string) => {
  const c = parseNetworkConfig(text);
  return {
    network: cidrString(c.network),
    len: c.subnetLen,
    min: ipString(c.subnetMin),
    max: ipString(c.subnetMax),
    vni: c.backend.vni,
    port: c.backend.port,
  };
};

describe("overlay/config (flannel's network config)", () => {
  it("reads the documented example with flannel's defaults filled in", () => {
    assert.deepEqual(summary('{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}'), {
      network: '10.240.0.0/16',
      len: 24,
      min: '10.240.1.0',
      max: '10.240.255.0',
      vni: 1,
      port: 8472,
    });
  });

  it("defaults SubnetLen as flannel does: /24 up to a /22 network, else the network's length + 2", () => {
    assert.equal(summary('{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}').len, 24);
    assert.equal(summary('{"Network":"10.1.0.0/22","Backend":{"Type":"vxlan"}}').len, 24);
    assert.deepEqual(summary('{"Network":"10.1.2.0/26","Backend":{"Type":"vxlan"}}'), {
      network: '10.1.2.0/26',
      len: 28,
      min: '10.1.2.16',
      max: '10.1.2.48',
      vni: 1,
      port: 8472,
    });
    assert.throws(() => parseNetworkConfig('{"Network":"10.1.2.0/29","Backend":{"Type":"vxlan"}}'), /too small \(at most \/28\)/);
  });

  it('VNI and Port defaults: VNI 1, Port 0 or absent = 8472', () => {
    assert.deepEqual(
      [
        summary('{"Network":"10.2.0.0/16","Backend":{"Type":"vxlan","Port":0}}').port,
        summary('{"Network":"10.2.0.0/16","Backend":{"Type":"vxlan"}}').vni,
      ],
      [8472, 1],
    );
  });

  it('matches keys as Go does (case-insensitively) and clears host bits of Network', () => {
    assert.deepEqual(summary('{"network":"10.3.7.9/16","subnetlen":20,"backend":{"type":"vxlan","vni":7}}'), {
      network: '10.3.0.0/16',
      len: 20,
      min: '10.3.16.0',
      max: '10.3.240.0',
      vni: 7,
      port: 8472,
    });
  });

  it('honours SubnetMin and SubnetMax inside the network and on a boundary', () => {
    assert.deepEqual(
      summary('{"Network":"10.4.0.0/16","SubnetMin":"10.4.10.0","SubnetMax":"10.4.20.0","Backend":{"Type":"vxlan"}}').min,
      '10.4.10.0',
    );
    assert.throws(
      () => parseNetworkConfig('{"Network":"10.4.0.0/16","SubnetMin":"10.5.0.0","Backend":{"Type":"vxlan"}}'),
      /SubnetMin 10\.5\.0\.0 is not in 10\.4\.0\.0\/16/,
    );
    assert.throws(
      () => parseNetworkConfig('{"Network":"10.4.0.0/16","SubnetMax":"10.4.3.128","Backend":{"Type":"vxlan"}}'),
      /SubnetMax 10\.4\.3\.128 is not on a \/24 boundary/,
    );
    assert.throws(
      () => parseNetworkConfig('{"Network":"10.4.0.0/16","SubnetMin":"10.4.9.0","SubnetMax":"10.4.8.0","Backend":{"Type":"vxlan"}}'),
      /is above SubnetMax/,
    );
  });

  it('refuses what it cannot serve or what is wrong, in one line', () => {
    const bad: [string, RegExp][] = [
      ['[]', /not a JSON object/],
      ['{"Network":"10.0.0.0/16"}', /backend type "udp" is not supported/],
      ['{"Network":"10.0.0.0/16","Backend":{"Type":"host-gw"}}', /backend type "host-gw" is not supported/],
      ['{"Network":"fd00::/64","Backend":{"Type":"vxlan"}}', /is not an IPv4 CIDR/],
      ['{"Network":"::ffff:10.0.0.0/112","Backend":{"Type":"vxlan"}}', /is not an IPv4 CIDR/],
      ['{"Backend":{"Type":"vxlan"}}', /Network "" is not an IPv4 CIDR/],
      ['{"Network":"10.0.0.0/16","EnableIPv6":true,"Backend":{"Type":"vxlan"}}', /IPv6 networks/],
      ['{"Network":"10.0.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}', /SubnetLen must be at most 30/],
      ['{"Network":"10.0.0.0/16","SubnetLen":17,"Backend":{"Type":"vxlan"}}', /must hold at least four \/17 subnets/],
      [
        '{"Network":"10.0.0.0/16","SubnetLen":"24","Backend":{"Type":"vxlan"}}',
        /cannot unmarshal string into Go struct field Config\.SubnetLen of type int/,
      ],
      ['{"Network":"10.0.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}', /VNI 16777216 is not 0\.\.16777215/],
      ['{"Network":"10.0.0.0/16","Backend":{"Type":"vxlan","VNI":12345678}}', /device name flannel\.12345678 longer than 15/],
      ['{"Network":"10.0.0.0/16","Backend":{"Type":"vxlan","Port":70000}}', /Port 70000 is not 1\.\.65535/],
      ['{"Network":"10.0.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}', /DirectRouting is not supported/],
    ];
    for (const [text, re] of bad) assert.throws(() => parseNetworkConfig(text), re, text);
  });

  it("writes flannel's JSON with only what was given beyond Network and SubnetLen", () => {
    assert.equal(
      formatNetworkConfig({network: '10.240.0.0/16'}),
      '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}',
    );
    assert.equal(
      formatNetworkConfig({network: '10.5.0.0/16', subnetMin: '10.5.8.0', vni: 3, port: 4789}),
      '{"Network":"10.5.0.0/16","SubnetLen":24,"SubnetMin":"10.5.8.0","Backend":{"Type":"vxlan","VNI":3,"Port":4789}}',
    );
  });

  it('compares configs by effect, not by spelling', () => {
    const a = parseNetworkConfig('{"Network":"10.240.0.0/16","Backend":{"Type":"vxlan"}}');
    const b = parseNetworkConfig(
      '{"Network":"10.240.0.0/16","SubnetLen":24,"SubnetMax":"10.240.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}',
    );
    assert.ok(sameNetworkConfig(a, b));
    assert.ok(!sameNetworkConfig(a, parseNetworkConfig('{"Network":"10.240.0.0/16","Backend":{"Type":"vxlan","VNI":2}}')));
  });
});
