import {strict as assert} from 'node:assert';
import fc from 'fast-check';
import {parseConf} from '../../../../src/ipam/host-local/config.js';
import {ipString} from '../../../../src/util/ip.js';
import {rangeSetString} from '../../../../src/ipam/host-local/range.js';
import {RUNS, anyJson, junkText, pluginParse} from '../../../helpers/arbitraries.js';

const conf = (ipam: unknown, top: Record<string, unknown> = {}) => JSON.stringify({cniVersion: '1.0.0', name: 'thlconf', ...top, ipam});
const sets = (stdin: string, args = '') => parseConf(stdin, args).ranges.map(rangeSetString);
const wanted = (stdin: string, args = '') => parseConf(stdin, args).requestedIPs.map(ipString);

describe('host-local config', () => {
  it('prepends the legacy range, and runtimeConfig.ipRanges before everything', () => {
    const stdin = conf(
      {
        type: 'host-local',
        subnet: '10.211.0.0/24',
        rangeStart: '10.211.0.10',
        ranges: [[{subnet: '10.211.1.0/24'}], [{subnet: 'fd00:211::/64'}]],
      },
      {runtimeConfig: {ipRanges: [[{subnet: '10.211.9.0/30'}]]}},
    );
    assert.deepEqual(sets(stdin), [
      '10.211.9.1-10.211.9.2',
      '10.211.0.10-10.211.0.254',
      '10.211.1.1-10.211.1.254',
      'fd00:211::1-fd00:211::ffff:ffff:ffff:ffff',
    ]);
  });

  it('matches keys case-insensitively like Go, later key wins, null means default', () => {
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      Name: 'thlconf',
      IPAM: {Subnet: '10.211.0.0/24', RANGEEND: '10.211.0.9', dataDir: null},
    });
    const c = parseConf(stdin, '');
    assert.equal(c.name, 'thlconf');
    assert.deepEqual(c.ranges.map(rangeSetString), ['10.211.0.1-10.211.0.9']);
    assert.equal(c.dataDir, '');
  });

  it('collects requested IPs: CNI_ARGS IP first (prefix dropped), then args.cni.ips, then runtimeConfig.ips', () => {
    const stdin = conf(
      {subnet: '10.211.0.0/24'},
      {args: {cni: {ips: ['10.211.0.20', 'fd00:211::20/64']}}, runtimeConfig: {ips: ['10.211.0.30/24']}},
    );
    assert.deepEqual(wanted(stdin, 'IgnoreUnknown=1;IP=10.211.0.11/24;MAC=aa'), [
      '10.211.0.11',
      '10.211.0.20',
      'fd00:211::20',
      '10.211.0.30',
    ]);
    assert.deepEqual(wanted(stdin, 'IP='), ['10.211.0.20', 'fd00:211::20', '10.211.0.30']);
  });

  it('keeps only dst/gw of routes, dst with its host bits (as 1.1.1 prints it)', () => {
    const c = parseConf(
      conf({subnet: '10.211.0.0/24', routes: [{dst: '10.211.9.3/24', gw: '10.211.0.1', priority: 100}, {dst: '::/0'}]}),
      '',
    );
    assert.deepEqual(c.routes, [{dst: '10.211.9.3/24', gw: '10.211.0.1'}, {dst: '::/0'}]);
  });

  it('gives the reference error messages', () => {
    const cases: [string, string, string][] = [
      [
        conf({subnet: '10.211.0.1/24'}),
        '',
        'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.211.0.0',
      ],
      [conf({subnet: '10.211.0.0/31'}), '', 'invalid range set 0: Network 10.211.0.0/31 too small to allocate from'],
      [conf({type: 'host-local', routes: [{dst: '0.0.0.0/0'}]}), '', 'no IP ranges specified'],
      [JSON.stringify({cniVersion: '1.0.0', name: 'thlconf'}), '', "IPAM config missing 'ipam' key"],
      [conf({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: '10.211.0.0/25'}]]}), '', 'range set 0 overlaps with 1'],
      [conf({ranges: [[{subnet: '10.211.0.0/24'}, {subnet: 'fd00:211::/64'}]]}), '', 'invalid range set 0: mixed address families'],
      [
        conf({ranges: [[{subnet: '10.211.0.0/22'}, {subnet: '10.211.2.0/24'}]]}),
        '',
        'invalid range set 0: subnets 10.211.0.1-10.211.3.254 and 10.211.2.1-10.211.2.254 overlap',
      ],
      [conf({ranges: [[]]}), '', 'invalid range set 0: empty range set'],
      [
        conf({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: '10.211.1.0/24'}]]}, {cniVersion: '0.2.0'}),
        '',
        'CNI version 0.2.0 does not support more than 1 address per family',
      ],
      [conf({subnet: '10.211.0.0/24', gateway: '10.211.0.x'}), '', 'invalid IP address: 10.211.0.x'],
      [conf({subnet: '10.211.0.0/33'}), '', 'invalid CIDR address: 10.211.0.0/33'],
      [conf({subnet: '10.211.0.0/24'}), 'MAC=aa', 'ARGS: unknown args ["MAC=aa"]'],
      [conf({subnet: '10.211.0.0/24'}), 'IP=nope', 'ARGS: error parsing value of pair "IP=nope": invalid IP address nope'],
      [conf({subnet: '10.211.0.0/24'}, {args: {cni: {ips: ['bad']}}}), '', 'invalid IP address bad'],
    ];
    for (const [stdin, args, msg] of cases) assert.throws(() => parseConf(stdin, args), {message: msg}, msg);
  });

  it('allows one v4 plus one v6 set at 0.2.0 and a missing version with one set', () => {
    assert.equal(
      parseConf(conf({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: 'fd00:211::/64'}]]}, {cniVersion: '0.2.0'}), '').ranges.length,
      2,
    );
    assert.equal(parseConf(JSON.stringify({name: 'thlconf', ipam: {subnet: '10.211.0.0/24'}}), '').cniVersion, '');
  });
});

describe('hardening: config parsing (property)', function () {
  this.timeout(20000);
  it('host-local parseConf: any text, wrong-typed field or CNI_ARGS gives a one-line error', () => {
    const keys = fc.constantFrom('subnet', 'rangeStart', 'rangeEnd', 'gateway', 'ranges', 'routes', 'dataDir', 'resolvConf', 'DataDir');
    fc.assert(
      fc.property(junkText, fc.string({maxLength: 30}), (t, a) => pluginParse(() => parseConf(t, a))),
      {numRuns: RUNS},
    );
    fc.assert(
      fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), fc.string({maxLength: 30}), (ipam, a) =>
        pluginParse(() => parseConf(JSON.stringify({name: 'thdnet', cniVersion: '1.0.0', ipam: {type: 'host-local', ...ipam}}), a)),
      ),
      {numRuns: RUNS},
    );
  });
});
