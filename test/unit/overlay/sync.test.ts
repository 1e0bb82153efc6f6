import {strict as assert} from 'node:assert';
import {parseCidr, type Cidr} from '../../../src/util/ip.js';
import type {SubnetLease} from '../../../src/overlay/lease.js';
import {peersFromLeases} from '../../../src/overlay/sync.js';

const c = (s: string): Cidr => parseCidr(s)!;

describe('overlay/sync peersFromLeases', () => {
  const lease = (subnet: string, ip: string, mac?: string, vni = 1): SubnetLease => ({
    subnet: c(subnet),
    key: `/p/subnets/${subnet.replace('/', '-')}`,
    etcdLease: '1',
    reservation: false,
    modRevision: 1,
    attrs: mac ? {publicIP: ip, backendType: 'vxlan', vni, vtepMac: mac} : {publicIP: ip},
  });

  it("programs every other host's vxlan lease on this VNI, in subnet order", () => {
    const own = lease('10.240.5.0/24', '192.0.2.1', '02:00:00:00:00:01');
    const peers = peersFromLeases(
      [
        own,
        lease('10.240.9.0/24', '192.0.2.3', '02:00:00:00:00:03'),
        lease('10.240.2.0/24', '192.0.2.2', '02:00:00:00:00:02'),
        lease('10.240.3.0/24', '192.0.2.4'), // a reservation nobody took yet
        lease('10.240.4.0/24', '192.0.2.5', '02:00:00:00:00:05', 2), // another VNI
        lease('10.240.6.0/24', '192.0.2.1', '02:00:00:00:00:01'), // this host's stray second lease
      ],
      own,
      1,
    );
    assert.deepEqual(peers, [
      {subnet: '10.240.2.0/24', publicIP: '192.0.2.2', vtepMac: '02:00:00:00:00:02'},
      {subnet: '10.240.9.0/24', publicIP: '192.0.2.3', vtepMac: '02:00:00:00:00:03'},
    ]);
  });
});
