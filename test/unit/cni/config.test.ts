import {strict as assert} from 'node:assert';
import {confToList, loadConf, loadConfList} from '../../../src/cni/config.js';
import {CniError} from '../../../src/cni/errors.js';

describe('network configs', () => {
  it('loads a single config and wraps it into a list', () => {
    const c = loadConf('{"cniVersion":"0.4.0","name":"tcorea","type":"bridge","bridge":"tcorebr9"}');
    assert.equal(c.network.type, 'bridge');
    const l = confToList(c);
    assert.deepEqual([l.name, l.cniVersion, l.plugins.length], ['tcorea', '0.4.0', 1]);
    assert.deepEqual(JSON.parse(l.bytes), {cniVersion: '0.4.0', name: 'tcorea', plugins: [c.raw]});
  });

  it('rejects unsupported versions with code 1 naming the supported list', () => {
    assert.throws(() => loadConf('{"cniVersion":"0.9.9","name":"n","type":"bridge"}'),
      (e: CniError) => e.code === 1 && e.message.includes('0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'));
  });

  it('validates name, type and JSON with codes 7 and 6', () => {
    assert.throws(() => loadConf('{"cniVersion":"1.0.0","name":"a b","type":"bridge"}'), (e: CniError) => e.code === 7);
    assert.throws(() => loadConf('{"cniVersion":"1.0.0","name":"n"}'), /missing 'type'/);
    assert.throws(() => loadConf('{x'), (e: CniError) => e.code === 6);
    assert.throws(() => loadConfList('{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}'), /no name/);
    assert.throws(() => loadConfList('{"cniVersion":"1.0.0","name":"n","plugins":[]}'), /no plugin configs found/);
  });

  it('conflist: string booleans, cniVersions highest supported wins', () => {
    const l = loadConfList('{"cniVersion":"0.4.0","cniVersions":["1.0.0","9.0.0"],"name":"n","disableCheck":"TRUE","plugins":[{"type":"bridge"},{"type":"portmap"}]}');
    assert.equal(l.cniVersion, '1.0.0');
    assert.equal(l.disableCheck, true);
    assert.deepEqual(l.plugins.map((p) => p.network.type), ['bridge', 'portmap']);
    assert.throws(() => loadConfList('{"name":"n","disableCheck":"maybe","plugins":[{"type":"bridge"}]}'), /invalid value "maybe" for disableCheck/);
  });
});
