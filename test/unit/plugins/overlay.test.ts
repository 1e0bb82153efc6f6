import {strict as assert} from 'node:assert';
import {parseCidr} from '../../../src/util/ip.js';
import {checkNetworkConfig} from '../../../src/overlay/config.js';
import type {SubnetLease} from '../../../src/overlay/lease.js';
import {parseOverlayConf} from '../../../src/overlay/net-conf.js';
import {delegateConf, delegateFile} from '../../../src/plugins/overlay.js';

const lease = (subnet: string): SubnetLease => ({
  subnet: parseCidr(subnet)!, key: `/p/subnets/${subnet.replace('/', '-')}`, attrs: {publicIP: '192.0.2.1'}, etcdLease: '7', reservation: false, modRevision: 3,
});

describe('plugins/overlay: the delegate', () => {
  it('is our bridge + host-local over the host\'s subnet, gateway .1, a route to the whole network through it, masquerade left to the plugin', () => {
    const c = parseOverlayConf(JSON.stringify({cniVersion: '0.4.0', name: 'mesh', type: 'overlay', etcdEndpoints: ['http://e:2379'], bridge: 'mesh0', ipMasq: true, etcdPassword: 'pw', etcdUsername: 'u', dns: {nameservers: ['10.240.0.53']}}));
    const conf = delegateConf(c, {config: checkNetworkConfig({network: '10.240.0.0/16'}), lease: lease('10.240.7.0/24'), mtu: 1450});
    assert.deepEqual(conf, {
      cniVersion: '0.4.0', name: 'mesh', type: 'bridge', bridge: 'mesh0', isGateway: true, ipMasq: false, mtu: 1450, hairpinMode: false,
      ipam: {type: 'host-local', ranges: [[{subnet: '10.240.7.0/24', gateway: '10.240.7.1'}]], routes: [{dst: '10.240.0.0/16', gw: '10.240.7.1'}]},
      dns: {nameservers: ['10.240.0.53']},
    });
    assert.doesNotMatch(JSON.stringify(conf), /pw|etcd/, 'no etcd settings (or password) in the kept config');
  });

  it('is kept per attachment under the state dir', () => {
    assert.equal(delegateFile('/r/var/lib/cni-docker', 'mesh', 'c1', 'eth1'), '/r/var/lib/cni-docker/overlay/mesh-c1-eth1.json');
  });
});
