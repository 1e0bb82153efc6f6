import {strict as assert} from 'node:assert';
import type {LinkAddrs} from '../../../src/net/addr.js';
import {chooseUplink} from '../../../src/overlay/uplink.js';

const link = (ifname: string, addrs: [string, string][]): LinkAddrs => ({
  ifindex: 1,
  ifname,
  flags: ['UP'],
  addr_info: addrs.map(([local, scope]) => ({family: 'inet', local, prefixlen: 24, scope})),
});
const LINKS = [link('lo', [['127.0.0.1', 'host']]), link('eth0', [['192.0.2.2', 'global']]), link('ov-ul0', [['10.199.0.1', 'global']])];

describe("overlay/uplink (this host's public IP and link)", () => {
  it("takes the default route's link and its address (lowest metric first)", () => {
    const routes = [
      {dst: 'default', dev: 'ov-ul0', metric: 200},
      {dst: 'default', dev: 'eth0', metric: 100},
      {dst: '10.0.0.0/8', dev: 'eth0'},
    ];
    assert.deepEqual(chooseUplink({}, LINKS, routes), {publicIP: '192.0.2.2', uplink: 'eth0'});
    assert.deepEqual(chooseUplink({}, LINKS, [{dst: 'default', dev: 'eth0', prefsrc: '192.0.2.9'}]), {
      publicIP: '192.0.2.9',
      uplink: 'eth0',
    });
  });

  it("takes iface's global address, or publicIP on the link that holds it", () => {
    assert.deepEqual(chooseUplink({iface: 'ov-ul0'}, LINKS, []), {publicIP: '10.199.0.1', uplink: 'ov-ul0'});
    assert.deepEqual(chooseUplink({publicIP: '10.199.0.1'}, LINKS, []), {publicIP: '10.199.0.1', uplink: 'ov-ul0'});
  });

  it('says what to set when it cannot tell', () => {
    assert.throws(() => chooseUplink({}, LINKS, []), /no IPv4 default route .*set "iface" or "publicIP"/);
    assert.throws(() => chooseUplink({iface: 'lo'}, LINKS, []), /iface lo has no global IPv4 address/);
    assert.throws(() => chooseUplink({iface: 'eth9'}, LINKS, []), /iface "eth9" does not exist/);
    assert.throws(() => chooseUplink({publicIP: '198.51.100.1'}, LINKS, []), /publicIP 198\.51\.100\.1 is not an address of this host/);
  });
});
