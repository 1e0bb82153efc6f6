import {strict as assert} from 'node:assert';
import {cidrString} from '../../../src/util/ip.js';
import {formatLeaseAttrs, parseLeaseAttrs, parseLeaseKv} from '../../../src/overlay/lease.js';

describe('overlay/lease (lease values)', () => {
  it("writes and reads flannel's value", () => {
    const text = formatLeaseAttrs({publicIP: '192.0.2.7', backendType: 'vxlan', vni: 1, vtepMac: '8A:3F:00:11:22:33'});
    assert.equal(text, '{"PublicIP":"192.0.2.7","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"8a:3f:00:11:22:33"}}');
    assert.deepEqual(parseLeaseAttrs(text), {publicIP: '192.0.2.7', backendType: 'vxlan', vni: 1, vtepMac: '8a:3f:00:11:22:33'});
  });

  it('reads what flannel itself writes (PublicIPv6 null) and bare reservations', () => {
    assert.deepEqual(
      parseLeaseAttrs(
        '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}',
      ),
      {publicIP: '192.168.64.3', backendType: 'vxlan', vni: 1, vtepMac: 'c6:d2:32:6f:8f:44'},
    );
    assert.deepEqual(parseLeaseAttrs('{"PublicIP":"10.0.0.5"}'), {publicIP: '10.0.0.5'});
    assert.deepEqual(parseLeaseAttrs('{"PublicIP":"10.0.0.5","BackendType":"host-gw"}'), {publicIP: '10.0.0.5', backendType: 'host-gw'});
  });

  it('refuses hostile or broken values in one line', () => {
    const bad: [string, RegExp][] = [
      ['', /unexpected end of JSON input|JSON/i],
      ['"x"', /not a JSON object/],
      ['{"PublicIP":"::1"}', /PublicIP "::1" is not a unicast IPv4 address/],
      ['{"PublicIP":"0.0.0.0"}', /not a unicast/],
      ['{"PublicIP":"239.1.1.1"}', /not a unicast/],
      [
        '{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VtepMAC":"ff:ff:ff:ff:ff:ff"}}',
        /VtepMAC "ff:ff:ff:ff:ff:ff" is not a unicast MAC/,
      ],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VtepMAC":"02:00:00:00:00:01 dev x"}}', /is not a unicast MAC/],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VNI":-1,"VtepMAC":"02:00:00:00:00:01"}}', /VNI -1/],
      ['{"PublicIP":1}', /cannot unmarshal number 1 into Go struct field LeaseAttrs\.PublicIP of type string/],
    ];
    for (const [text, re] of bad) assert.throws(() => parseLeaseAttrs(text), re, text);
    assert.throws(() => formatLeaseAttrs({publicIP: '10.0.0.1', backendType: 'vxlan', vni: 1, vtepMac: 'nope'}), /VtepMAC "nope"/);
  });

  it('reads a key-value as a lease or a reason to skip it', () => {
    const kv = {key: '/p/subnets/10.1.2.0-24', value: '{"PublicIP":"10.0.0.1"}', lease: '0', createRevision: 3, modRevision: 4, version: 1};
    const l = parseLeaseKv(kv, '/p');
    assert.ok(!(l instanceof Error));
    assert.deepEqual([cidrString(l.subnet), l.reservation, l.modRevision], ['10.1.2.0/24', true, 4]);
    assert.match(String(parseLeaseKv({...kv, key: '/p/subnets/other'}, '/p')), /\/p\/subnets\/other: not a subnet key/);
    assert.match(String(parseLeaseKv({...kv, key: '/q/subnets/10.1.2.0-24'}, '/p')), /not a subnet key/);
  });
});
