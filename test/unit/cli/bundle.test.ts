import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {BUNDLE, bundleIsStale, loadBundle, SOURCE, STAMP} from '../../../src/cli/bundle-loader.js';
import {linkNamesViaPid} from '../../../src/net/netns.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const require = createRequire(path.join(ROOT, 'package.json'));

interface BuildBundle {
  IPNUM_LOAD: string;
  IPNUM_CONSTANTS: number;
  inlineIpNumLoad(src: string, file?: string): string;
  lazyIpNumConstants(src: string, file?: string): string;
}
const buildScript = path.join(ROOT, 'bin', 'build-bundle.mjs');
const loadBuildScript = (): Promise<BuildBundle> => import(buildScript) as Promise<BuildBundle>;

type Range = {toCidrString(): string};
type IpNumExports = Record<string, Record<string, unknown>>;

describe('start-up bundle (bin/build-bundle.mjs, src/cli/bundle-loader.ts)', () => {
  describe('ip-num transforms', () => {
    const ipNumberFile = require.resolve('ip-num/dist/src/IPNumber.js');

    it('makes every ip-num constant lazy with the same value as the real module', async () => {
      const {lazyIpNumConstants, IPNUM_CONSTANTS} = await loadBuildScript();
      const src = readFileSync(ipNumberFile, 'utf8');
      const out = lazyIpNumConstants(src, ipNumberFile);
      assert.equal(out.match(/__cniLazyStatic\((IPv4|IPv6), /g)?.length, IPNUM_CONSTANTS);
      // Evaluate the transformed module against ip-num's real siblings (loaded first: they form a cycle).
      const real = require('ip-num') as IpNumExports;
      const exports = {} as IpNumExports;
      new Function('exports', 'require', out)(exports, createRequire(ipNumberFile));
      const show = (v: unknown): unknown => (Array.isArray(v) ? v.map(show) : typeof (v as Range).toCidrString === 'function' ? (v as Range).toCidrString() : String(v));
      const names = [...src.matchAll(/^(IPv4|IPv6)\.([A-Z][A-Z0-9_]*) = /gm)].map((m) => [m[1], m[2]]);
      assert.equal(names.length, IPNUM_CONSTANTS);
      for (const [cls, name] of names) {
        const before = Object.getOwnPropertyDescriptor(exports[cls], name);
        assert.equal(typeof before?.get, 'function', `${cls}.${name} is not lazy`);
        assert.deepEqual(show(exports[cls][name]), show(real[cls][name]), `${cls}.${name}`);
        // After the first read the value is stored: the same object again.
        assert.equal(exports[cls][name], exports[cls][name]);
      }
    });

    it('refuses an ip-num whose constants changed, and a source without the createRequire load', async () => {
      const {lazyIpNumConstants, inlineIpNumLoad, IPNUM_LOAD} = await loadBuildScript();
      const src = readFileSync(ipNumberFile, 'utf8').replace(/^IPv4\.LOOPBACK_RANGE = .*$/m, '');
      assert.throws(() => lazyIpNumConstants(src, 'x.js'), /expected \d+ static constants, found/);
      assert.throws(() => inlineIpNumLoad('const m = 1;', 'y.js'), /y\.js: expected/);
      const ours = readFileSync(path.join(ROOT, 'dist/src/util/ip-num.js'), 'utf8');
      assert.ok(ours.includes(IPNUM_LOAD), 'src/util/ip-num.ts no longer loads ip-num the way the bundle rewrites');
      assert.match(inlineIpNumLoad(ours), /require\('ip-num'\)/);
    });
  });

  describe('loadBundle', () => {
    let root: string;
    const bundleFile = (): string => path.join(root, BUNDLE);
    const source = SOURCE;
    /** As bin/build-bundle.mjs leaves a tree: the bundle, and the stamp of both mtimes. */
    const write = (body: string): void => {
      writeFileSync(bundleFile(), body);
      const past = new Date(Date.now() - 60_000);
      utimesSync(path.join(root, source), past, past);
      writeFileSync(path.join(root, STAMP), JSON.stringify({bundle: statSync(bundleFile()).mtimeMs, source: statSync(path.join(root, source)).mtimeMs}));
    };
    const manifest = (): unknown => JSON.parse(readFileSync(`${bundleFile()}.v8cache.json`, 'utf8'));
    const body = (tag: string): string =>
      `exports.runFast = async (argv) => { globalThis.__cniBundleTest = ${JSON.stringify(tag)} + ':' + argv.join(' '); return true; };\n`
      + `exports.helper = function helper(x) { return x * 2; };\n`;

    beforeEach(() => {
      root = mkdtempSync(path.join(tmpdir(), 'cni-bundle-'));
      mkdirSync(path.join(root, 'dist', 'fast'), {recursive: true});
      mkdirSync(path.join(root, 'dist', 'src', 'cli'), {recursive: true});
      writeFileSync(path.join(root, source), '// tsc output\n');
    });
    afterEach(() => rmSync(root, {recursive: true, force: true}));

    it('runs the bundle, writes a cache for a command not yet covered, and takes it next time', async () => {
      write(body('one'));
      const first = loadBundle(root, {})!;
      assert.equal(first.cacheUsed, false);
      assert.equal(await first.mod.runFast(['attach', 'web'], root), true);
      assert.equal((globalThis as {__cniBundleTest?: string}).__cniBundleTest, 'one:attach web');
      first.saveCache('attach');
      assert.deepEqual(manifest(), {commands: ['attach']});
      const cacheMtime = statSync(`${bundleFile()}.v8cache`).mtimeMs;

      const second = loadBundle(root, {})!;
      assert.equal(second.cacheUsed, true, 'V8 rejected the cache it made');
      second.saveCache('attach');
      assert.equal(statSync(`${bundleFile()}.v8cache`).mtimeMs, cacheMtime, 'a covered command rewrote the cache');
      second.saveCache('detach');
      assert.deepEqual(manifest(), {commands: ['attach', 'detach']});
    });

    it('starts the cache over when the bundle changes (V8 rejects the old one)', async () => {
      write(body('one'));
      loadBundle(root, {})!.saveCache('attach');
      loadBundle(root, {})!.saveCache('detach');
      write(body('two-longer'));
      const b = loadBundle(root, {})!;
      assert.equal(b.cacheUsed, false);
      await b.mod.runFast(['detach'], root);
      assert.equal((globalThis as {__cniBundleTest?: string}).__cniBundleTest, 'two-longer:detach');
      b.saveCache('detach');
      assert.deepEqual(manifest(), {commands: ['detach']});
    });

    it('is not used when missing, unstamped, behind a later tsc run, or disabled', () => {
      assert.equal(loadBundle(root, {}), undefined, 'no bundle');
      write(body('one'));
      assert.ok(loadBundle(root, {}));
      assert.equal(loadBundle(root, {CNI_DOCKER_NO_BUNDLE: '1'}), undefined);
      // tsc ran again: it rewrote the source, the bundle kept its stamped mtime.
      const later = new Date(Date.now() + 60_000);
      utimesSync(path.join(root, source), later, later);
      assert.equal(bundleIsStale(root), true);
      assert.equal(loadBundle(root, {}), undefined, 'a stale bundle ran');
      rmSync(path.join(root, STAMP));
      assert.equal(bundleIsStale(root), true, 'no stamp');
    });

    it('is used in a copied or installed tree, whatever order the files got their mtimes in', () => {
      write(body('one'));
      // npm install extracts the tarball: new mtimes, the source after the bundle.
      const t1 = new Date(Date.now() + 10_000);
      const t2 = new Date(Date.now() + 20_000);
      utimesSync(bundleFile(), t1, t1);
      utimesSync(path.join(root, source), t2, t2);
      assert.equal(bundleIsStale(root), false);
      assert.ok(loadBundle(root, {}));
    });

    it('is not used when damaged (a syntax error, or no runFast): the compiled modules run instead', () => {
      write('exports.runFast = async (argv) => {');
      assert.equal(loadBundle(root, {}), undefined);
      write('exports.other = 1;\n');
      assert.equal(loadBundle(root, {}), undefined);
    });

    it('runs without a cache when the cache cannot be written', () => {
      write(body('one'));
      mkdirSync(`${bundleFile()}.v8cache`); // a directory where the file would go
      const b = loadBundle(root, {})!;
      assert.equal(b.cacheUsed, false);
      assert.doesNotThrow(() => b.saveCache('attach'));
    });

    it('the build made the real bundle from the current tsc output, so the CLI under test runs it', () => {
      assert.ok(statSync(path.join(ROOT, BUNDLE)).size > 0);
      assert.equal(bundleIsStale(ROOT), false, 'dist/fast/fast-path.cjs is behind dist/src: run npm run build');
    });
  });

  describe('linkNamesViaPid', () => {
    it('reads the link names of our own namespace through /proc/PID/net/dev', () => {
      const names = linkNamesViaPid(`/proc/${process.pid}/ns/net`, process.pid);
      assert.ok(names?.includes('lo'), `got ${JSON.stringify(names)}`);
    });

    it('answers nothing for a pid of another namespace, a dead pid, or no pid', () => {
      // /proc/1/ns/net may be ours too; a plain file is never a namespace.
      const file = path.join(tmpdir(), `cni-not-a-netns-${process.pid}`);
      writeFileSync(file, '');
      try {
        assert.equal(linkNamesViaPid(file, process.pid), undefined);
      } finally {
        rmSync(file);
      }
      assert.equal(linkNamesViaPid(`/proc/${process.pid}/ns/net`, 2 ** 22 + 12345), undefined);
      assert.equal(linkNamesViaPid(`/proc/${process.pid}/ns/net`, undefined), undefined);
      assert.equal(linkNamesViaPid(`/proc/${process.pid}/ns/net`, 0), undefined);
    });
  });
});
