import {strict as assert} from 'node:assert';
import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {confToList, findNetwork, loadConf, loadConfList} from '../../../src/cni/config.js';
import {CniError} from '../../../src/cni/errors.js';

describe('network configs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync('/tmp/tcore-conf-')));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

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

  it('finds by name: conflists first, then .conf/.json in lexical order, plus <dir>/<name>/*.conf', async () => {
    writeFileSync(`${dir}/10-a.conf`, '{"cniVersion":"1.0.0","name":"tcorex","type":"macvlan"}');
    writeFileSync(`${dir}/05-b.json`, '{"cniVersion":"1.0.0","name":"tcorex","type":"bridge"}');
    writeFileSync(`${dir}/99-z.conflist`, '{"cniVersion":"1.0.0","name":"tcorel","plugins":[{"type":"bridge"}]}');
    writeFileSync(`${dir}/ignored.txt`, '{"name":"tcorex","type":"x"}');
    mkdirSync(`${dir}/tcorel`);
    writeFileSync(`${dir}/tcorel/1.conf`, '{"type":"tuning"}');
    assert.equal((await findNetwork(dir, 'tcorex')).plugins[0].network.type, 'bridge');
    assert.deepEqual((await findNetwork(dir, 'tcorel')).plugins.map((p) => p.network.type), ['bridge', 'tuning']);
    await assert.rejects(findNetwork(dir, 'nope'), new RegExp(`no net configuration with name "nope" in ${dir}`));
    await assert.rejects(findNetwork(`${dir}/empty`, 'x'), /no net configurations found/);
  });
});
