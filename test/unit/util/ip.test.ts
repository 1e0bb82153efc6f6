import {strict as assert} from 'node:assert';
import {
  canonicalCidr,
  canonicalIp,
  cidrContains,
  cidrString,
  familyOf,
  ipCmp,
  ipString,
  isGlobalUnicast,
  isV4Text,
  lastOf,
  maskOf,
  networkOf,
  networkString,
  nextIP,
  normalizeIp,
  parseAddr,
  parseCidr,
  parseCidrAsWritten,
  parseIP,
} from '../../../src/util/ip.js';
import {parseResult, renderResult} from '../../../src/cni/results.js';
import {parseConf as hostLocalConf} from '../../../src/ipam/host-local/config.js';
import {parseLeaseAttrs} from '../../../src/overlay/lease.js';
import {parseNetworkConfig} from '../../../src/overlay/config.js';
import {planPeers} from '../../../src/net/link-vxlan.js';
import {masqComment, masqRuleLines, planDirectTeardown} from '../../../src/net/iptables-masq.js';
import {nftMasqSetupScript} from '../../../src/net/nft-masq.js';
import {prefixKey} from '../../../src/plugins/validate-expected.js';
import {calcGateways, parseConf as bridgeConf} from '../../../src/plugins/bridge-conf.js';
import {overlaps} from '../../../src/runtime/doctor.js';

const addr = (s: string) => parseAddr(s)!;
const text = (c: ReturnType<typeof parseCidr>) => (c ? {ip: ipString(c.ip), prefix: c.prefix, mappedV4: c.mappedV4} : undefined);

describe('util/ip', () => {
  it("reads an IPv4-mapped address as Go's net package does (IPv4) or as written (IPv6)", () => {
    assert.equal(ipString(parseIP('::ffff:10.219.0.7')!), '10.219.0.7');
    assert.equal(familyOf(parseIP('::ffff:10.219.0.7')!), 4);
    assert.equal(ipString(addr('::ffff:10.219.0.7')), '::ffff:adb:7');
    assert.equal(familyOf(addr('::ffff:10.219.0.7')), 6);
    for (const bad of ['10.219.0.07', '10.219.0', 'fe80::1%eth0', '', '1.2.3.4.']) assert.equal(parseAddr(bad), undefined, bad);
  });

  it("parseCidr is Go's ParseCIDR: the mapped address is IPv4 with a 128-bit mask, leading zeros in the prefix are fine", () => {
    assert.deepEqual(text(parseCidr('::ffff:10.219.0.3/120')), {ip: '10.219.0.3', prefix: 120, mappedV4: true});
    assert.deepEqual(text(parseCidr('10.219.0.3/0024')), {ip: '10.219.0.3', prefix: 24, mappedV4: undefined});
    for (const bad of ['10.219.0.3/33', '10.219.0.3', '10.219.0.3/', '10.219.0.3/+1', 'fd00::/129'])
      assert.equal(parseCidr(bad), undefined, bad);
  });

  it('parseCidrAsWritten keeps the written family and takes one to three prefix digits', () => {
    assert.deepEqual(text(parseCidrAsWritten('::ffff:10.219.0.3/120')), {ip: '::ffff:adb:3', prefix: 120, mappedV4: undefined});
    assert.equal(parseCidrAsWritten('10.219.0.3/0024'), undefined);
    assert.equal(parseCidrAsWritten('10.219.0.3/33'), undefined);
    assert.equal(cidrString(parseCidrAsWritten('FD00:219::3/64')!), 'fd00:219::3/64');
  });

  it('network arithmetic: network, last, containment (same family only), next, order, masks', () => {
    const c = parseCidr('10.219.4.9/22')!;
    assert.equal(ipString(networkOf(c)), '10.219.4.0');
    assert.equal(networkString(c), '10.219.4.0/22');
    assert.equal(ipString(lastOf(c)), '10.219.7.255');
    assert.equal(networkOf(c), networkOf(c), 'worked out once per Cidr');
    const v6 = parseCidr('fd00:219::9:1/112')!;
    assert.equal(ipString(networkOf(v6)), 'fd00:219::9:0');
    assert.equal(ipString(lastOf(v6)), 'fd00:219::9:ffff');
    assert.throws(() => networkOf({ip: addr('10.0.0.1'), prefix: 120}), 'a prefix too long for the family is still refused');
    assert.ok(cidrContains(c, addr('10.219.7.1')));
    assert.ok(!cidrContains(c, addr('10.219.8.1')));
    assert.ok(!cidrContains(parseCidr('::/0')!, addr('10.219.7.1')));
    assert.equal(ipString(nextIP(addr('fd00::ffff'))), 'fd00::1:0');
    assert.equal(ipCmp(addr('10.0.0.9'), addr('10.0.0.10')), -1);
    assert.equal(maskOf(4, 24), 0xffffff00n);
    assert.equal(maskOf(6, 4), 0xfn << 124n);
  });

  it('global unicast as Go decides it for the addresses we meet', () => {
    for (const g of ['10.1.2.3', '8.8.8.8', 'fd00::1', '2001:db8::1']) assert.ok(isGlobalUnicast(addr(g)), g);
    for (const n of ['0.0.0.0', '127.0.0.1', '169.254.1.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'ff02::1'])
      assert.ok(!isGlobalUnicast(addr(n)), n);
  });

  it('text as Go prints it, with its errors; normalizeIp keeps the written form and leaves non-IPs alone', () => {
    assert.equal(canonicalIp('FD00:0:0::0001'), 'fd00::1');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '10.0.0.1');
    assert.throws(() => canonicalIp('10.0.0.01'), {message: 'invalid IP address: 10.0.0.01'});
    assert.equal(canonicalCidr('::ffff:10.0.0.1/120'), '10.0.0.1/120');
    assert.throws(() => canonicalCidr('10.0.0.1/0024'), {message: 'invalid CIDR address: 10.0.0.1/0024'});
    assert.deepEqual(['10.0.0.1/24', '::ffff:10.0.0.1', 'fd00::1/64', 'x'].map(isV4Text), [true, true, false, false]);
    assert.equal(normalizeIp('::FFFF:10.0.0.1'), '::ffff:a00:1');
    assert.equal(normalizeIp('not-an-ip'), 'not-an-ip');
  });
  it('prints IPv6 like Go (bridge gateways and results)', () => {
    for (const [i, o] of [
      ['fd00:212:0:0:0:0:0:1', 'fd00:212::1'],
      ['fd00:0:1:0:0:1:0:0', 'fd00:0:1::1:0:0'],
      ['fd00:1:0:1:1:1:1:1', 'fd00:1:0:1:1:1:1:1'],
      ['::', '::'],
    ]) {
      assert.equal(ipString(parseAddr(i)!), o);
    }
    assert.equal(parseCidrAsWritten('10.1.2.3/33'), undefined);
  });
});

/**
 * Two readings of an IPv4-mapped IPv6 address (::ffff:a.b.c.d) live side by
 * side, each where its callers need it:
 * - Go's net package (ParseIP, ParseCIDR, IP.String): the address is IPv4; a
 *   CIDR written in IPv6 notation keeps its 128-bit mask. The reference
 *   plugins read configs and results this way, and so do host-local, the
 *   result codec and the overlay.
 * - As written: the address stays IPv6 and prints in IPv6 notation. The
 *   kernel-facing code (masquerade rules, routes, gateways, CHECK) and doctor
 *   keep it in the family it was written in.
 * Result text also takes a prefix of at most three digits; Go's ParseCIDR,
 * which host-local and the overlay follow, takes any number.
 */
const T = {chain: 'CNI-x', comment: masqComment('tipnet', 'c1')};

describe('IPv4-mapped addresses and CIDR text, caller by caller', () => {
  describe("Go's net semantics: the address is IPv4", () => {
    it('results: mapped addresses print as IPv4 and count as IPv4 at 0.2.0; a 4-digit prefix or a bad IP is refused', () => {
      const r = parseResult({
        cniVersion: '1.0.0',
        ips: [{address: '::ffff:10.219.0.3/120', gateway: '::ffff:10.219.0.1'}],
        routes: [{dst: '::ffff:10.219.9.0/120', gw: '::ffff:10.219.0.1'}],
      });
      assert.deepEqual(r.ips, [{address: '10.219.0.3/120', gateway: '10.219.0.1'}]);
      assert.deepEqual(r.routes, [{dst: '10.219.9.0/120', gw: '10.219.0.1'}]);
      const raw = {cniVersion: '1.0.0', ips: [{address: '::ffff:10.219.0.3/120', gateway: '::ffff:10.219.0.1'}]};
      assert.equal(
        renderResult(raw, '0.2.0'),
        '{\n    "cniVersion": "0.2.0",\n    "ip4": {\n        "ip": "10.219.0.3/120",\n        "gateway": "10.219.0.1"\n    },\n    "dns": {}\n}',
      );
      assert.throws(
        () => parseResult({cniVersion: '1.0.0', ips: [{address: '10.219.0.3/0024'}]}),
        /invalid CIDR address: 10.219.0.3\/0024/,
      );
      assert.throws(
        () => parseResult({cniVersion: '1.0.0', ips: [{address: '10.219.0.3/24', gateway: '10.219.0.01'}]}),
        /invalid IP address: 10.219.0.01/,
      );
    });

    it('host-local: a mapped requested IP is IPv4, a mapped subnet is refused, a prefix may have leading zeros', () => {
      const conf = (ipam: Record<string, unknown>, top: Record<string, unknown> = {}) =>
        JSON.stringify({cniVersion: '1.0.0', name: 'tipnet', ...top, ipam: {type: 'host-local', ...ipam}});
      const c = hostLocalConf(conf({subnet: '10.219.0.0/0024'}, {args: {cni: {ips: ['::ffff:10.219.0.20']}}}), '');
      assert.deepEqual(c.requestedIPs.map(ipString), ['10.219.0.20']);
      assert.equal(c.ranges[0][0].subnet.prefix, 24);
      assert.throws(() => hostLocalConf(conf({subnet: '::ffff:10.219.0.0/120'}), ''), {
        message: 'invalid range set 0: IPNet IP and Mask version mismatch',
      });
      assert.throws(() => hostLocalConf(conf({subnet: '::ffff:10.219.0.0/24'}), ''), {
        message: 'invalid range set 0: IPNet IP and Mask version mismatch',
      });
    });

    it('overlay: a mapped public IP is IPv4, a mapped network is not an IPv4 CIDR, SubnetMin may be mapped', () => {
      assert.equal(parseLeaseAttrs('{"PublicIP":"::ffff:10.0.0.5"}').publicIP, '10.0.0.5');
      assert.throws(() => parseNetworkConfig('{"Network":"::ffff:10.0.0.0/112","Backend":{"Type":"vxlan"}}'), /is not an IPv4 CIDR/);
      const min = parseNetworkConfig('{"Network":"10.7.0.0/16","SubnetMin":"::ffff:10.7.4.0","Backend":{"Type":"vxlan"}}').subnetMin;
      assert.equal(ipString(min), '10.7.4.0');
    });

    it('vxlan: a mapped peer address is IPv4, a mapped subnet is not an IPv4 CIDR', () => {
      const peer = {subnet: '10.240.4.0/24', publicIP: '::ffff:192.0.2.4', vtepMac: '02:00:00:00:00:04'};
      const plan = planPeers('flannel.1', {routes: [], neighbours: [], fdb: []}, [peer]);
      assert.deepEqual(plan.bridge, [['fdb', 'replace', '02:00:00:00:00:04', 'dev', 'flannel.1', 'dst', '192.0.2.4', 'self', 'permanent']]);
      assert.throws(
        () => planPeers('flannel.1', {routes: [], neighbours: [], fdb: []}, [{...peer, subnet: '::ffff:10.240.4.0/120'}]),
        /is not an IPv4 CIDR/,
      );
    });
  });

  describe('as written: the address stays IPv6', () => {
    it('iptables: a mapped address is masqueraded by ip6tables, in IPv6 notation', () => {
      const {family, lines} = masqRuleLines(T, '::ffff:10.219.0.3/120');
      assert.equal(family, 6);
      assert.match(lines.join('\n'), /-d ::ffff:adb:0\/120 /);
      assert.match(lines.join('\n'), /-s ::ffff:adb:3\/128 /);
      assert.match(
        planDirectTeardown(T, 6, ['::ffff:10.219.0.3', 'not-an-ip']),
        /-s ::ffff:adb:3\/128 [^\n]*\n-D POSTROUTING -s not-an-ip\/128 /,
      );
    });

    it('nftables: a mapped address is an ip6 rule in IPv6 notation', () => {
      const script = nftMasqSetupScript({network: 'tipnet', ifname: 'eth0', containerId: 'c1'}, ['::ffff:10.219.0.3/120'], []);
      assert.ok(
        script.some((l) => l.includes('ip6 saddr == ::ffff:adb:3 ip6 daddr != ::ffff:adb:0/120 masquerade')),
        script.join('\n'),
      );
    });

    it('bridge: the gateway of a mapped address is computed and added in IPv6', () => {
      const c = bridgeConf(JSON.stringify({cniVersion: '1.0.0', name: 'tipnet', type: 'bridge', isDefaultGateway: true}), '');
      const ips = [{address: '::ffff:10.219.0.3/120'}];
      const routes: {dst: string; gw?: string}[] = [];
      const {gws} = calcGateways(ips, routes, c);
      assert.deepEqual(ips, [{address: '::ffff:10.219.0.3/120', interface: 2, gateway: '::ffff:adb:1'}]);
      assert.deepEqual(routes, [{dst: '::/0', gw: '::ffff:adb:1'}]);
      assert.deepEqual([gws[4].length, gws[6].map((g) => `${ipString(g.ip)}/${g.prefix}`)], [0, ['::ffff:adb:1/120']]);
    });

    it('CHECK: a mapped route is keyed as IPv6; a 4-digit prefix is no route', () => {
      assert.equal(prefixKey('::ffff:10.219.9.7/120', 6), `6|${0xffff0adb0900n}|120`);
      assert.equal(prefixKey('10.219.9.0/0024', 4), undefined);
    });

    it('doctor: a mapped subnet overlaps no IPv4 network; a 4-digit prefix is not read', () => {
      assert.equal(overlaps(parseCidrAsWritten('::ffff:10.0.0.0/104')!, parseCidrAsWritten('10.0.0.0/8')!), false);
      assert.equal(parseCidrAsWritten('10.0.0.0/0008'), undefined);
    });

    it('bridge DEL: a mapped loopback address counts as an IPv6 global unicast address', () => {
      assert.equal(isGlobalUnicast(parseAddr('::ffff:127.0.0.1')!), true);
      assert.equal(isGlobalUnicast(parseAddr('127.0.0.1')!), false);
    });
  });
});
