import assert from 'node:assert/strict';
import fc from 'fast-check';
import {loadConf, loadConfList} from '../../../src/cni/config.js';
import {parseConf as bridgeConf} from '../../../src/plugins/bridge-conf.js';
import {decodeConf as macvlanConf} from '../../../src/plugins/macvlan.js';
import {parseConf as hostLocalConf} from '../../../src/ipam/host-local/config.js';
import {ErrorCode, toCniError} from '../../../src/cni/errors.js';
import {RUNS, anyJson, assertOneLineCniError, deepJson, hostileName, junkText} from './arbitraries.js';

/**
 * Config parsing over generated input: every input either parses or is refused
 * with a one-line CNI error of an allowed code; never another exception.
 */
const LOAD_CODES = [ErrorCode.IncompatibleVersion, ErrorCode.DecodingFailure, ErrorCode.InvalidNetworkConfig];
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function refusedWith(fn: () => unknown, codes: number[]): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(err, codes);
    return;
  }
  throw new Error('accepted');
}

function parsesOrRefuses(fn: () => unknown, codes: number[]): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(err, codes);
  }
}

/** A plugin's own parseConf throws plain or CNI errors; the skel prints them as toCniError does. */
function pluginParse(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(toCniError(err), [ErrorCode.Internal, ErrorCode.InvalidNetworkConfig]);
  }
}

describe('hardening: config parsing (property)', function () {
  this.timeout(20000);
  const fields = fc.dictionary(fc.constantFrom('name', 'type', 'cniVersion', 'plugins', 'disableCheck', 'cniVersions', 'loadOnlyInlinedPlugins', 'NAME', 'Name'), anyJson, {maxKeys: 5});

  it('loadConf: any text parses or is refused with code 1/6/7', () => {
    fc.assert(fc.property(junkText, (t) => parsesOrRefuses(() => loadConf(t), LOAD_CODES)), {numRuns: RUNS});
  });

  it('loadConfList: any text parses or is refused with code 1/6/7', () => {
    fc.assert(fc.property(junkText, (t) => parsesOrRefuses(() => loadConfList(t), LOAD_CODES)), {numRuns: RUNS});
  });

  it('loadConf/loadConfList: wrong types in any field are refused cleanly, and an accepted name is valid', () => {
    fc.assert(
      fc.property(fields, (o) => {
        const text = JSON.stringify(o);
        for (const load of [loadConf, loadConfList]) {
          try {
            const r = load(text);
            const name = 'name' in r ? r.name : String(r.network.name);
            assert.match(name, NAME_RE);
          } catch (err) {
            assertOneLineCniError(err, LOAD_CODES);
          }
        }
      }),
      {numRuns: RUNS},
    );
  });

  it('a hostile network name is refused with code 7 by both loaders, also as a later duplicate key', () => {
    fc.assert(
      fc.property(hostileName, fc.boolean(), (name, dup) => {
        const n = JSON.stringify(name);
        const head = dup ? '"name":"thdok",' : '';
        refusedWith(() => loadConf(`{${head}"name":${n},"type":"bridge","cniVersion":"1.0.0"}`), [ErrorCode.InvalidNetworkConfig]);
        refusedWith(() => loadConfList(`{${head}"name":${n},"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}`), [ErrorCode.InvalidNetworkConfig]);
      }),
      {numRuns: RUNS},
    );
  });

  it('deeply nested JSON (up to 50,000 levels) is refused with code 6, not a stack overflow', function () {
    this.timeout(10000);
    fc.assert(
      fc.property(fc.integer({min: 1001, max: 50000}), fc.boolean(), (depth, obj) => {
        const conf = `{"name":"thdnet","type":"bridge","cniVersion":"1.0.0","x":${deepJson(depth, obj)}}`;
        refusedWith(() => loadConf(conf), [ErrorCode.DecodingFailure]);
        refusedWith(() => loadConfList(`{"name":"thdnet","cniVersion":"1.0.0","plugins":[${conf}]}`), [ErrorCode.DecodingFailure]);
      }),
      {numRuns: 30},
    );
  });

  it('a huge (8 MiB) config is parsed or refused within the time limit', () => {
    const big = `{"name":"thdnet","type":"bridge","cniVersion":"1.0.0","pad":"${'x'.repeat(8 << 20)}"}`;
    assert.equal(loadConf(big).network.name, 'thdnet');
    refusedWith(() => loadConf(big.slice(0, -2)), [ErrorCode.DecodingFailure]);
  });

  it('bridge parseConf: any text or wrong-typed field gives a one-line error', () => {
    const keys = fc.constantFrom('name', 'bridge', 'mtu', 'vlan', 'vlanTrunk', 'ipMasq', 'isGateway', 'ipam', 'args', 'runtimeConfig', 'hairpinMode', 'MTU', 'Bridge');
    fc.assert(fc.property(junkText, (t) => pluginParse(() => bridgeConf(t, ''))), {numRuns: RUNS});
    fc.assert(fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), (o) => pluginParse(() => bridgeConf(JSON.stringify(o), ''))), {numRuns: RUNS});
  });

  it('macvlan decodeConf: any text or wrong-typed field gives a one-line error', () => {
    const keys = fc.constantFrom('name', 'master', 'mode', 'mtu', 'mac', 'ipam', 'runtimeConfig', 'linkInContainer', 'Master');
    fc.assert(fc.property(junkText, (t) => pluginParse(() => macvlanConf(t))), {numRuns: RUNS});
    fc.assert(fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), (o) => pluginParse(() => macvlanConf(JSON.stringify(o)))), {numRuns: RUNS});
  });

  it('host-local parseConf: any text, wrong-typed field or CNI_ARGS gives a one-line error', () => {
    const keys = fc.constantFrom('subnet', 'rangeStart', 'rangeEnd', 'gateway', 'ranges', 'routes', 'dataDir', 'resolvConf', 'DataDir');
    fc.assert(fc.property(junkText, fc.string({maxLength: 30}), (t, a) => pluginParse(() => hostLocalConf(t, a))), {numRuns: RUNS});
    fc.assert(
      fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), fc.string({maxLength: 30}), (ipam, a) =>
        pluginParse(() => hostLocalConf(JSON.stringify({name: 'thdnet', cniVersion: '1.0.0', ipam: {type: 'host-local', ...ipam}}), a)),
      ),
      {numRuns: RUNS},
    );
  });
});
