import assert from 'node:assert/strict';
import fc from 'fast-check';
import {calcGateways, parseConf} from '../../../src/plugins/bridge-conf.js';
import {ipString} from '../../../src/util/ip.js';
import type {IPConfig} from '../../../src/cni/types.js';
import {RUNS, anyJson, junkText, pluginParse} from '../../helpers/arbitraries.js';

describe('bridge parseConf', () => {
  const base = {cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge'};
  it('fills the reference defaults', () => {
    const c = parseConf(JSON.stringify(base), '');
    assert.equal(c.bridge, 'cni0');
    assert.deepEqual(
      [c.isGateway, c.ipMasq, c.mtu, c.vlan, c.hairpinMode, c.promiscMode, c.ipamType],
      [false, false, 0, 0, false, false, ''],
    );
  });
  it('matches keys case-insensitively and treats null as the default', () => {
    const c = parseConf(JSON.stringify({...base, IPMASQ: true, Bridge: 'tbrbr9', mtu: null}), '');
    assert.deepEqual([c.ipMasq, c.bridge, c.mtu], [true, 'tbrbr9', 0]);
  });
  it('isDefaultGateway implies isGateway', () => {
    assert.equal(parseConf(JSON.stringify({...base, isDefaultGateway: true}), '').isGateway, true);
  });
  it('rejects a type mismatch with the reference prefix', () => {
    assert.throws(() => parseConf(JSON.stringify({...base, mtu: '1500'}), ''), {
      message: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int',
    });
  });
  it('rejects an out-of-range vlan with the exact text', () => {
    assert.throws(() => parseConf(JSON.stringify({...base, vlan: 5000}), ''), {
      message: 'invalid VLAN ID 5000 (must be between 0 and 4094)',
    });
    assert.throws(() => parseConf(JSON.stringify({...base, vlan: -100}), ''), {
      message: 'invalid VLAN ID -100 (must be between 0 and 4094)',
    });
  });
  it('takes the MAC from CNI_ARGS < args.cni.mac < runtimeConfig.mac', () => {
    const m = (extra: object, a = ''): string => parseConf(JSON.stringify({...base, ...extra}), a).mac;
    assert.equal(m({}, 'IgnoreUnknown=1;MAC=02:00:00:00:00:01'), '02:00:00:00:00:01');
    assert.equal(m({args: {cni: {mac: '02:00:00:00:00:02'}}}, 'MAC=02:00:00:00:00:01'), '02:00:00:00:00:02');
    assert.equal(m({args: {cni: {mac: '02:00:00:00:00:02'}}, runtimeConfig: {mac: '02:00:00:00:00:03'}}), '02:00:00:00:00:03');
    assert.throws(() => m({}, 'IP=10.212.0.5'), {message: 'ARGS: unknown args ["IP=10.212.0.5"]'});
  });
});

describe('bridge calcGateways', () => {
  it('sets interface 2, computes gateways and appends one default route per family', () => {
    const c = parseConf(JSON.stringify({cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge', isDefaultGateway: true}), '');
    const ips: IPConfig[] = [{address: '10.212.0.5/24'}, {address: 'fd00:212::5/64'}, {address: '10.212.3.5/24', gateway: '10.212.3.99'}];
    const routes: {dst: string; gw?: string}[] = [];
    const {gws} = calcGateways(ips, routes, c);
    assert.deepEqual(
      ips.map((i) => [i.interface, i.gateway]),
      [
        [2, '10.212.0.1'],
        [2, 'fd00:212::1'],
        [2, '10.212.3.99'],
      ],
    );
    assert.deepEqual(routes, [
      {dst: '0.0.0.0/0', gw: '10.212.0.1'},
      {dst: '::/0', gw: 'fd00:212::1'},
    ]);
    assert.deepEqual(
      gws[4].map((g) => `${ipString(g.ip)}/${g.prefix}`),
      ['10.212.0.1/24', '10.212.3.99/24'],
    );
  });
  it('keeps an IPAM default route that has a gw', () => {
    const c = parseConf(JSON.stringify({cniVersion: '1.0.0', name: 'tbrunit', type: 'bridge', isDefaultGateway: true}), '');
    const routes = [{dst: '0.0.0.0/0', gw: '10.212.0.254'}];
    calcGateways([{address: '10.212.0.5/24'}], routes, c);
    assert.equal(routes.length, 1);
  });
});

describe('hardening: config parsing (property)', function () {
  this.timeout(20000);
  it('bridge parseConf: any text or wrong-typed field gives a one-line error', () => {
    const keys = fc.constantFrom(
      'name',
      'bridge',
      'mtu',
      'vlan',
      'vlanTrunk',
      'ipMasq',
      'isGateway',
      'ipam',
      'args',
      'runtimeConfig',
      'hairpinMode',
      'MTU',
      'Bridge',
    );
    fc.assert(
      fc.property(junkText, (t) => pluginParse(() => parseConf(t, ''))),
      {numRuns: RUNS},
    );
    fc.assert(
      fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), (o) => pluginParse(() => parseConf(JSON.stringify(o), ''))),
      {numRuns: RUNS},
    );
  });
});
