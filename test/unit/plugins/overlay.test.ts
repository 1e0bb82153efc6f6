import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {ErrorCode} from '../../../src/cni/errors.js';
import {parseCidr} from '../../../src/util/ip.js';
import {checkNetworkConfig} from '../../../src/overlay/config.js';
import type {SubnetLease} from '../../../src/overlay/lease.js';
import {parseOverlayConf} from '../../../src/overlay/net-conf.js';
import {delegateConf, delegateFile, plugin as overlay} from '../../../src/plugins/overlay.js';
import {BAD_PIECES, cmdArgs, hostile, kernelHostile, prop, refusedByAdd} from '../../helpers/arbitraries.js';

const lease = (subnet: string): SubnetLease => ({
  subnet: parseCidr(subnet)!,
  key: `/p/subnets/${subnet.replace('/', '-')}`,
  attrs: {publicIP: '192.0.2.1'},
  etcdLease: '7',
  reservation: false,
  modRevision: 3,
});

describe('plugins/overlay: the delegate', () => {
  it("is our bridge + host-local over the host's subnet, gateway .1, a route to the whole network through it, masquerade left to the plugin", () => {
    const c = parseOverlayConf(
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'mesh',
        type: 'overlay',
        etcdEndpoints: ['http://e:2379'],
        bridge: 'mesh0',
        ipMasq: true,
        etcdPassword: 'pw',
        etcdUsername: 'u',
        dns: {nameservers: ['10.240.0.53']},
      }),
    );
    const conf = delegateConf(c, {config: checkNetworkConfig({network: '10.240.0.0/16'}), lease: lease('10.240.7.0/24'), mtu: 1450});
    assert.deepEqual(conf, {
      cniVersion: '0.4.0',
      name: 'mesh',
      type: 'bridge',
      bridge: 'mesh0',
      isGateway: true,
      ipMasq: false,
      mtu: 1450,
      hairpinMode: false,
      ipam: {
        type: 'host-local',
        ranges: [[{subnet: '10.240.7.0/24', gateway: '10.240.7.1'}]],
        routes: [{dst: '10.240.0.0/16', gw: '10.240.7.1'}],
      },
      dns: {nameservers: ['10.240.0.53']},
    });
    assert.doesNotMatch(JSON.stringify(conf), /pw|etcd/, 'no etcd settings (or password) in the kept config');
  });

  it('is kept per attachment under the state dir', () => {
    assert.equal(delegateFile('/r/var/lib/cni-docker', 'mesh', 'c1', 'eth1'), '/r/var/lib/cni-docker/overlay/mesh-c1-eth1.json');
  });
});

/**
 * "Refused before anything touches the system": every hostile input below runs
 * the real plugin with a runner that fails on any command and empty temp state
 * dirs; the run must end in a one-line CNI error with no command run and no
 * file created.
 */
describe('hardening: hostile input reaches no command and no file (property)', function () {
  this.timeout(20000);

  /** The overlay's values end up in etcd keys, URLs, link names and ip argv; none may reach a command, a file or etcd. */
  const overlayConf = (extra: Record<string, unknown>): string =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'thdnet',
      type: 'overlay',
      etcdEndpoints: ['http://127.0.0.1:1'],
      bridge: 'thdbr0',
      ...extra,
    });
  const urlLike = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/;
  const overlayHostile = fc.oneof(
    // '/' separates parts and '..' inside a part is only a name: both are fine where they stand here
    fc
      .tuple(fc.string({maxLength: 4}), fc.constantFrom(...BAD_PIECES.filter((p) => p !== '/' && p !== '..')), fc.string({maxLength: 4}))
      .map(([a, b, c]) => ({etcdPrefix: `/thd${a}${b}${c}`})),
    fc.constantFrom('/a/../b', '/..', '/.', '/a//b', '//').map((etcdPrefix) => ({etcdPrefix})),
    fc
      .string({maxLength: 12})
      .filter((p) => !p.startsWith('/'))
      .map((etcdPrefix) => ({etcdPrefix})),
    fc
      .oneof(hostile, fc.string({maxLength: 30}))
      .filter((u) => !urlLike.test(u))
      .map((u) => ({etcdEndpoints: [u]})),
    hostile.map((p) => ({etcdEndpoints: [`http://thd${p}:2379`]})),
    kernelHostile.map((bridge) => ({bridge})),
    kernelHostile.filter((i) => i !== '').map((iface) => ({iface})),
    fc
      .oneof(hostile, fc.string({minLength: 1, maxLength: 15}))
      .filter((ip) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip))
      .map((publicIP) => ({publicIP})),
  );

  it('overlay: hostile etcd prefix, endpoint, bridge, iface or publicIP: one-line CNI error, no command, no file', () =>
    prop(overlayHostile, (box, extra) =>
      refusedByAdd(box, (a) => overlay.add(box.ctx, a), cmdArgs(overlayConf(extra)), [ErrorCode.InvalidNetworkConfig, ErrorCode.Internal]),
    ));
});
