import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

/**
 * The published package, as `npm pack` makes it from this build: it holds
 * what the CLI loads at run time, and an unpacked copy (new mtimes, no
 * dist/src next to a stale bundle) runs its fast path from the bundle.
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
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
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

  it('holds the entry point, the bundle and its stamp, the compiled modules, the oclif manifest and the configs', () => {
    for (const f of ['bin/cni-docker', 'bin/run.cjs', 'bin/cni-docker-client', 'dist/src/service/server.js', 'dist/fast/fast-path.cjs', 'dist/fast/loader.cjs', 'dist/fast/stamp.json', 'dist/src/cli/bundle-loader.js', 'dist/src/cli/fast-path.js', 'dist/src/cni/plugin-main.js', 'dist/src/ipam/dhcp/ns-worker.js', 'dist/commands/attach.js', 'oclif.manifest.json', 'configs/cni-docker.conf', 'package.json']) {
      assert.ok(files.includes(f), `${f} is not in the package`);
    }
    assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.endsWith('.v8cache')), 'tests or a code cache were packed');
  });

  it('runs from the unpacked copy: --version from the loader, list on the bundle, help through oclif', () => {
    const run = (...args: string[]): string => execFileSync(path.join(pkg, 'bin/cni-docker'), args, {encoding: 'utf8'});
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
    assert.match(run('--version'), new RegExp(`^cni-docker/${version.replace(/\./g, '\\.')} `));
    run('list', '--container', 'tpkg-no-such-container');
    const cacheManifest = path.join(pkg, 'dist/fast/fast-path.cjs.v8cache.json');
    assert.ok(existsSync(cacheManifest), 'the unpacked copy did not run its bundle');
    assert.deepEqual((JSON.parse(readFileSync(cacheManifest, 'utf8')) as {commands: string[]}).commands, ['list']);
    assert.match(run('attach', '--help'), /USAGE/);
  });

  it('its service runs the commands of the unpacked copy, reached through an npm-style bin link', () => {
    const link = path.join(tmp, 'bin', 'cni-docker');
    execFileSync('mkdir', ['-p', path.dirname(link)]);
    symlinkSync(path.join(pkg, 'bin/cni-docker'), link);
    const sock = path.join(tmp, 'run', 'service.sock');
    const env = {...process.env, CNI_DOCKER_SERVICE_SOCKET: sock};
    const run = (...args: string[]): string => execFileSync(link, args, {encoding: 'utf8', env});
    run('service', 'start', '--log', path.join(tmp, 'service.log'));
    try {
      assert.equal(run('list', '--container', 'tpkg-no-such-container', '--json'), '[]\n');
      const status = JSON.parse(run('service', 'status', '--json')) as {requests: number};
      assert.equal(status.requests, 1, 'the list was not served by the service');
    } finally {
      run('service', 'stop');
    }
  });
});
