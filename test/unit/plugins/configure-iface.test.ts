import assert from 'node:assert/strict';
import {configureIface} from '../../../src/plugins/configure-iface.js';
import type {Result} from '../../../src/cni/types.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = '/run/netns/x';
const IN_NS = ['nsenter', `--net=${NS}`, '--'];
const result = (extra: Partial<Result> = {}): Result => ({
  cniVersion: '1.0.0',
  interfaces: [{name: 'br0'}, {name: 'veth0'}, {name: 'eth0', sandbox: NS}],
  ips: [{interface: 2, address: '10.1.2.3/24', gateway: '10.1.2.1'}],
  routes: [{dst: '0.0.0.0/0'}, {dst: '1.1.1.1/32', gw: '10.1.2.9'}],
  ...extra,
});

describe('plugins/configure-iface (the reference ipam.ConfigureIface)', () => {
  it("addresses, up and routes (via the family's gateway unless the route names one) in one batch in the namespace", async () => {
    const r = new FakeRunner([
      {
        argv: [...IN_NS, 'ip', '-batch', '-'],
        input:
          'addr add 10.1.2.3/24 broadcast + dev eth0\nlink set dev eth0 up\nroute prepend 0.0.0.0/0 via 10.1.2.1 dev eth0\nroute prepend 1.1.1.1/32 via 10.1.2.9 dev eth0\n',
      },
    ]);
    await configureIface(r, NS, 'eth0', result());
    r.assertDone();
  });

  it("a refused command fails with the reference's message for that command", async () => {
    const r = new FakeRunner([
      {
        argv: [...IN_NS, 'ip', '-batch', '-'],
        reply: {exitCode: 1, stderr: 'RTNETLINK answers: Network is unreachable\nCommand failed -:4\n'},
      },
    ]);
    await assert.rejects(configureIface(r, NS, 'eth0', result()), {
      code: 999,
      message: "failed to add route '1.1.1.1/32 via 10.1.2.9 dev eth0': network is unreachable",
    });
    const gone = new FakeRunner([
      {argv: [...IN_NS, 'ip', '-batch', '-'], reply: {exitCode: 1, stderr: 'Cannot find device "eth0"\nCommand failed -:1\n'}},
    ]);
    await assert.rejects(configureIface(gone, NS, 'eth0', result()), {message: 'failed to lookup "eth0": Link not found'});
  });

  it('refuses an address for another interface before running anything', async () => {
    const r = new FakeRunner([]);
    await assert.rejects(configureIface(r, NS, 'eth0', result({ips: [{interface: 1, address: '10.1.2.3/24'}]})), {
      message: 'failed to add IP addr {Interface:1 Address:10.1.2.3/24 Gateway:<nil>} to "eth0": invalid interface index',
    });
    r.assertDone();
  });

  it('with an IPv6 gateway: IPv6 enabled, addresses, then the routes once DAD is done', async () => {
    const r = new FakeRunner([
      {argv: [...IN_NS, 'sysctl', '-q', '-w', 'net/ipv6/conf/lo/disable_ipv6=0', 'net/ipv6/conf/eth0/disable_ipv6=0']},
      {argv: [...IN_NS, 'ip', '-batch', '-'], input: 'addr add fd00::3/64 dev eth0\nlink set dev eth0 up\n'},
      {
        argv: [...IN_NS, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'],
        reply: {
          stdout:
            '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet6","local":"fd00::3","prefixlen":64,"scope":"global","tentative":true}]}]',
        },
      },
      {
        argv: [...IN_NS, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'],
        reply: {
          stdout:
            '[{"ifindex":2,"ifname":"eth0","flags":[],"addr_info":[{"family":"inet6","local":"fd00::3","prefixlen":64,"scope":"global"}]}]',
        },
      },
      {argv: [...IN_NS, 'ip', 'route', 'prepend', '::/0', 'via', 'fd00::1', 'dev', 'eth0']},
    ]);
    const slept: number[] = [];
    await configureIface(
      r,
      NS,
      'eth0',
      result({ips: [{interface: 2, address: 'fd00::3/64', gateway: 'fd00::1'}], routes: [{dst: '::/0'}]}),
      {sleep: async (ms) => void slept.push(ms)},
    );
    assert.deepEqual(slept, [50]);
    r.assertDone();
  });
});
