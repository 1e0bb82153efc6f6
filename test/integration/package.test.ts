import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

/**
 * The published package, as `npm pack` makes it from this build: it holds
 * what the CLI loads at run time, and an unpacked copy runs every command
 * from its one bundle through oclif, also through an npm-style bin link.
 * --ignore-scripts: the tests run on the build npm test just made.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('npm package (integration)', function () {
  this.timeout(120_000);
  let tmp: string;
  let pkg: string;
  let files: string[];

  before(() => {
    tmp = mkdtempSync('/tmp/tpkg-');
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out) as {filename: string; files: {path: string}[]}[];
    files = info.files.map((f) => f.path);
    execFileSync('tar', ['-xzf', path.join(tmp, info.filename), '-C', tmp]);
    pkg = path.join(tmp, 'package');
    // Dependencies as npm install would provide them.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  });
  after(() => {
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('holds the launcher, its entry, the CLI bundle, the DHCP worker and the configs, and nothing of the tests', () => {
    for (const f of [
      'bin/cni-docker',
      'bin/run.cjs',
      'dist/cni-docker.cjs',
      'dist/src/ipam/dhcp/ns-worker.js',
      'configs/cni-docker.conf',
      'package.json',
    ]) {
      assert.ok(files.includes(f), `${f} is not in the package`);
    }
    assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.endsWith('.v8')), 'tests or a code cache were packed');
  });

  it('runs from the unpacked copy through a bin link: oclif parses, the bundle runs, its code cache goes to XDG_CACHE_HOME', () => {
    const link = path.join(tmp, 'bin', 'cni-docker');
    execFileSync('mkdir', ['-p', path.dirname(link)]);
    symlinkSync(path.join(pkg, 'bin/cni-docker'), link);
    const cache = path.join(tmp, 'cache');
    const env = {...process.env, XDG_CACHE_HOME: cache};
    const run = (...args: string[]): string => execFileSync(link, args, {encoding: 'utf8', env});
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
    assert.match(run('--version'), new RegExp(`^cni-docker/${version.replace(/\./g, '\\.')} `));
    assert.equal(run('list', '--container', 'tpkg-no-such-container', '--json'), '[]\n');
    const covered = readdirSync(path.join(cache, 'cni-docker')).filter((f) => f.endsWith('.v8.json'));
    assert.equal(covered.length, 1, `expected one code cache, found ${covered.join(', ')}`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(cache, 'cni-docker', covered[0]), 'utf8')), ['list']);
    assert.match(run('attach', '--help'), /USAGE/);
  });
});
