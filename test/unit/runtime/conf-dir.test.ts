import {strict as assert} from 'node:assert';
import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {findNetwork, scanConfDir} from '../../../src/runtime/conf-dir.js';

describe('the conf dir', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync('/tmp/tcore-conf-')));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('finds by name: conflists first, then .conf/.json in lexical order, plus <dir>/<name>/*.conf', async () => {
    writeFileSync(`${dir}/10-a.conf`, '{"cniVersion":"1.0.0","name":"tcorex","type":"macvlan"}');
    writeFileSync(`${dir}/05-b.json`, '{"cniVersion":"1.0.0","name":"tcorex","type":"bridge"}');
    writeFileSync(`${dir}/99-z.conflist`, '{"cniVersion":"1.0.0","name":"tcorel","plugins":[{"type":"bridge"}]}');
    writeFileSync(`${dir}/ignored.txt`, '{"name":"tcorex","type":"x"}');
    mkdirSync(`${dir}/tcorel`);
    writeFileSync(`${dir}/tcorel/1.conf`, '{"type":"tuning"}');
    assert.equal((await findNetwork(dir, 'tcorex')).plugins[0].network.type, 'bridge');
    assert.deepEqual(
      (await findNetwork(dir, 'tcorel')).plugins.map((p) => p.network.type),
      ['bridge', 'tuning'],
    );
    await assert.rejects(findNetwork(dir, 'nope'), new RegExp(`no net configuration with name "nope" in ${dir}`));
    await assert.rejects(findNetwork(`${dir}/empty`, 'x'), /no net configurations found/);
  });

  it('scans every config in the same order, each loaded or with its error', async () => {
    writeFileSync(`${dir}/10-a.conf`, '{"cniVersion":"1.0.0","name":"tcorea","type":"bridge"}');
    writeFileSync(`${dir}/05-b.json`, '{"cniVersion":"1.0.0","name":"tcoreb","type":"macvlan"}');
    writeFileSync(`${dir}/99-z.conflist`, '{"cniVersion":"1.0.0","name":"tcorez","plugins":[{"type":"bridge"}]}');
    writeFileSync(`${dir}/50-bad.conf`, '{"cniVersion":"1.0.0","name":"tcorebad"}');
    writeFileSync(`${dir}/ignored.txt`, '{}');
    const scanned = await scanConfDir(dir);
    assert.deepEqual(
      scanned.map((c) => c.file.slice(dir.length + 1)),
      ['99-z.conflist', '05-b.json', '10-a.conf', '50-bad.conf'],
    );
    assert.deepEqual(
      scanned.map((c) => c.list?.name),
      ['tcorez', 'tcoreb', 'tcorea', undefined],
    );
    assert.match(scanned[3].error ?? '', /missing 'type'/);
    assert.deepEqual(await scanConfDir(`${dir}/none`), []);
  });
});
