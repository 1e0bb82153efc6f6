import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {builtinTypes} from '../../../src/plugins/registry.js';
import {entryPath, installPlugins, wrapperScript} from '../../../src/runtime/install-plugins.js';

describe('runtime/install-plugins', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tinp-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it("the wrapper runs the CLI entry as `plugin <type>`: node puts the two words before the runtime's own arguments", () => {
    // Run the wrapper's code with a stand-in entry that prints the argv it sees.
    writeFileSync(`${tmp}/entry.mjs`, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const script = wrapperScript('bridge', process.execPath, `${tmp}/entry.mjs`);
    assert.ok(script.startsWith(`#!${process.execPath}\n`));
    writeFileSync(`${tmp}/bridge.mjs`, script);
    const out = execFileSync(process.execPath, [`${tmp}/bridge.mjs`, 'extra'], {encoding: 'utf8'});
    assert.deepEqual(JSON.parse(out), ['plugin', 'bridge', 'extra']);
  });

  it("the entry is the package's bin/run.cjs", () => {
    assert.match(entryPath(), /\/bin\/run\.cjs$/);
    assert.ok(existsSync(entryPath()));
  });

  it('writes one executable per type (every built-in by default) into a directory it creates, leaving no temp file', async () => {
    const dir = `${tmp}/a/b`;
    const written = await installPlugins(dir);
    assert.deepEqual(
      written,
      builtinTypes.map((t) => `${dir}/${t}`),
    );
    assert.deepEqual(readdirSync(dir).sort(), [...builtinTypes].sort());
    for (const f of written) assert.equal(statSync(f).mode & 0o777, 0o755);
    const again = await installPlugins(`${tmp}/c`, ['macvlan']);
    assert.deepEqual(readdirSync(`${tmp}/c`), ['macvlan']);
    assert.equal(again.length, 1);
  });
});
