import {strict as assert} from 'node:assert';
import {confToList, loadConf, loadConfList} from '../../../src/cni/config.js';
import fc from 'fast-check';
import {CniError, ErrorCode} from '../../../src/cni/errors.js';
import {
  RUNS,
  anyJson,
  assertOneLineCniError,
  deepJson,
  hostileName,
  junkText,
  parsesOrRefuses,
  refusedWith,
} from '../../helpers/arbitraries.js';

describe('network configs', () => {
  it('loads a single config and wraps it into a list', () => {
    const c = loadConf('{"cniVersion":"0.4.0","name":"tcorea","type":"bridge","bridge":"tcorebr9"}');
    assert.equal(c.network.type, 'bridge');
    const l = confToList(c);
    assert.deepEqual([l.name, l.cniVersion, l.plugins.length], ['tcorea', '0.4.0', 1]);
    assert.deepEqual(JSON.parse(l.bytes), {cniVersion: '0.4.0', name: 'tcorea', plugins: [c.raw]});
  });

  it('rejects unsupported versions with code 1 naming the supported list', () => {
    assert.throws(
      () => loadConf('{"cniVersion":"0.9.9","name":"n","type":"bridge"}'),
      (e: CniError) => e.code === 1 && e.message.includes('0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'),
    );
  });

  it('validates name, type and JSON with codes 7 and 6', () => {
    assert.throws(
      () => loadConf('{"cniVersion":"1.0.0","name":"a b","type":"bridge"}'),
      (e: CniError) => e.code === 7,
    );
    assert.throws(() => loadConf('{"cniVersion":"1.0.0","name":"n"}'), /missing 'type'/);
    assert.throws(
      () => loadConf('{x'),
      (e: CniError) => e.code === 6,
    );
    assert.throws(() => loadConfList('{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}'), /no name/);
    assert.throws(() => loadConfList('{"cniVersion":"1.0.0","name":"n","plugins":[]}'), /no plugin configs found/);
  });

  it('conflist: string booleans, cniVersions highest supported wins', () => {
    const l = loadConfList(
      '{"cniVersion":"0.4.0","cniVersions":["1.0.0","9.0.0"],"name":"n","disableCheck":"TRUE","plugins":[{"type":"bridge"},{"type":"portmap"}]}',
    );
    assert.equal(l.cniVersion, '1.0.0');
    assert.equal(l.disableCheck, true);
    assert.deepEqual(
      l.plugins.map((p) => p.network.type),
      ['bridge', 'portmap'],
    );
    assert.throws(
      () => loadConfList('{"name":"n","disableCheck":"maybe","plugins":[{"type":"bridge"}]}'),
      /invalid value "maybe" for disableCheck/,
    );
  });
});

/**
 * Config parsing over generated input: every input either parses or is refused
 * with a one-line CNI error of an allowed code; never another exception.
 */
const LOAD_CODES = [ErrorCode.IncompatibleVersion, ErrorCode.DecodingFailure, ErrorCode.InvalidNetworkConfig];
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

describe('hardening: config parsing (property)', function () {
  this.timeout(20000);
  const fields = fc.dictionary(
    fc.constantFrom('name', 'type', 'cniVersion', 'plugins', 'disableCheck', 'cniVersions', 'loadOnlyInlinedPlugins', 'NAME', 'Name'),
    anyJson,
    {maxKeys: 5},
  );

  it('loadConf: any text parses or is refused with code 1/6/7', () => {
    fc.assert(
      fc.property(junkText, (t) => parsesOrRefuses(() => loadConf(t), LOAD_CODES)),
      {numRuns: RUNS},
    );
  });

  it('loadConfList: any text parses or is refused with code 1/6/7', () => {
    fc.assert(
      fc.property(junkText, (t) => parsesOrRefuses(() => loadConfList(t), LOAD_CODES)),
      {numRuns: RUNS},
    );
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
        refusedWith(
          () => loadConfList(`{${head}"name":${n},"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}`),
          [ErrorCode.InvalidNetworkConfig],
        );
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
});
