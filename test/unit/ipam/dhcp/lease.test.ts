import {strict as assert} from 'node:assert';
import {deadlines, leasePhase, leaseTimers, leaseToResult, nextWake} from '../../../../src/ipam/dhcp/lease.js';
import {Opt, encodeClasslessRoutes} from '../../../../src/ipam/dhcp/packet.js';

const ip = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function ack(extra: [number, Buffer][] = []): Map<number, Buffer> {
  return new Map<number, Buffer>([[Opt.SubnetMask, ip('255.255.255.0')], [Opt.Router, ip('192.168.77.1')], ...extra]);
}

describe('dhcp lease → result', () => {
  it('maps address/mask, gateway and a default route via the router', () => {
    const r = leaseToResult('192.168.77.5', ack(), '1.0.0');
    assert.deepEqual(r.ips, [{address: '192.168.77.5/24', gateway: '192.168.77.1'}]);
    assert.deepEqual(r.routes, [{dst: '0.0.0.0/0', gw: '192.168.77.1'}]);
    assert.deepEqual(r.dns, {});
  });

  it('uses only option 121 routes when present (scope 253 for on-link) and sets priority', () => {
    const o = ack([
      [
        Opt.ClasslessRoutes,
        encodeClasslessRoutes([
          {dst: '10.0.0.0/8', gw: '192.168.77.1'},
          {dst: '172.16.0.0/12', gw: '0.0.0.0'},
        ]),
      ],
      [Opt.StaticRoutes, Buffer.from([10, 0, 0, 0, 1, 1, 1, 1])],
    ]);
    assert.deepEqual(leaseToResult('192.168.77.5', o, '1.0.0').routes, [
      {dst: '10.0.0.0/8', gw: '192.168.77.1'},
      {dst: '172.16.0.0/12', scope: 253},
    ]);
    assert.deepEqual(
      leaseToResult('192.168.77.5', o, '1.0.0', 50).routes?.map((r) => r.priority),
      [50, 50],
    );
  });

  it('without 121, maps option 33 classful routes then the default route', () => {
    const o = ack([[Opt.StaticRoutes, Buffer.from([10, 9, 0, 0, 192, 168, 77, 2])]]);
    assert.deepEqual(leaseToResult('192.168.77.5', o, '1.0.0').routes, [
      {dst: '10.9.0.0/8', gw: '192.168.77.2'},
      {dst: '0.0.0.0/0', gw: '192.168.77.1'},
    ]);
  });

  it('maps DNS servers (6) and domain (15), unlike the reference', () => {
    const o = ack([
      [Opt.DNS, Buffer.concat([ip('10.214.0.1'), ip('10.214.0.2')])],
      [Opt.DomainName, Buffer.from('tdh.test')],
    ]);
    assert.deepEqual(leaseToResult('192.168.77.5', o, '1.0.0').dns, {nameservers: ['10.214.0.1', '10.214.0.2'], domain: 'tdh.test'});
  });

  it('fails without a subnet mask, with the reference message', () => {
    assert.throws(() => leaseToResult('1.2.3.4', new Map(), '1.0.0'), /DHCP option Subnet Mask not found in DHCPACK/);
  });
});

describe('dhcp lease timers (injected clock)', () => {
  it('uses options 51/58/59, else lease/2 and 7/8 of the lease, else a 1 h lease', () => {
    assert.deepEqual(
      leaseTimers(
        new Map([
          [Opt.LeaseTime, u32(120)],
          [Opt.RenewalTime, u32(60)],
          [Opt.RebindingTime, u32(105)],
        ]),
      ),
      {leaseTime: 120, t1: 60, t2: 105},
    );
    assert.deepEqual(leaseTimers(new Map([[Opt.LeaseTime, u32(120)]])), {leaseTime: 120, t1: 60, t2: 105});
    assert.deepEqual(leaseTimers(new Map()), {leaseTime: 3600, t1: 1800, t2: 3150});
    const bad = leaseTimers(
      new Map([
        [Opt.LeaseTime, u32(100)],
        [Opt.RenewalTime, u32(200)],
        [Opt.RebindingTime, u32(300)],
      ]),
    );
    assert.ok(bad.t1 <= bad.t2 && bad.t2 <= bad.leaseTime, JSON.stringify(bad));
  });

  it('walks bound → renewing → rebinding → expired and wakes at T1', () => {
    const l = {obtainedAt: 1_000_000, leaseTime: 120, t1: 60, t2: 105};
    const d = deadlines(l);
    assert.deepEqual(d, {renewAt: 1_060_000, rebindAt: 1_105_000, expiresAt: 1_120_000});
    assert.equal(leasePhase(l, 1_000_000), 'bound');
    assert.equal(leasePhase(l, 1_059_999), 'bound');
    assert.equal(nextWake(l, 1_010_000), 1_060_000);
    assert.equal(leasePhase(l, 1_060_000), 'renewing');
    assert.equal(nextWake(l, 1_070_000), 1_070_000);
    assert.equal(leasePhase(l, 1_105_000), 'rebinding');
    assert.equal(leasePhase(l, 1_120_000), 'expired');
  });
});
