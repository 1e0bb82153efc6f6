import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {cli, type CliResult} from '../helpers/cli.js';
import {assertDockerTestBed, TestContainers} from '../helpers/docker.js';
import {makeDeps} from '../../src/deps.js';
import {removeForward} from '../../src/runtime/forward.js';
import {quietSync as quiet} from '../helpers/host.js';

/**
 * The start-up fast path (bundle, no oclif) and the oclif commands must be
 * indistinguishable: same stdout, stderr and exit code for the same argv,
 * successes and user errors alike. Each case runs both ways on a real engine.
 */
const NET = 'tfp1';
const BR = 'tfpbr0';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('fast path and oclif give the same output (integration)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('tfp-');
  let tmp: string;
  let conf: string;
  let name: string;

  const both = async (args: string[]): Promise<{fast: CliResult; oclif: CliResult}> => {
    const fast = await cli(args);
    const oclif = await cli(args, {CNI_DOCKER_NO_FAST: '1'});
    return {fast, oclif};
  };
  const same = async (args: string[], normalise = (r: CliResult): CliResult => r): Promise<CliResult> => {
    const {fast, oclif} = await both(args);
    assert.deepEqual(normalise(fast), normalise(oclif), `cni-docker ${args.join(' ')}`);
    return fast;
  };

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/tfp-');
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(conf, JSON.stringify({cniVersion: '1.0.0', name: NET, type: 'bridge', bridge: BR, isGateway: true, ipMasq: true, ipam: {type: 'host-local', subnet: '10.215.9.0/24', dataDir: path.join(tmp, 'ipam')}}));
    name = (await containers.run({suffix: 'a'})).name;
  });
  after(async () => {
    await cli(['detach', name, '--conf', conf]);
    await containers.removeAll();
    quiet('ip', 'link', 'del', BR);
    await removeForward(makeDeps().runner, BR).catch(() => undefined);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('list and ls (rows and --json), attach of an attached container, detach twice', async () => {
    assert.equal((await same(['list', '--container', name])).stdout, '', 'nothing attached yet: no rows when piped');
    const a = await cli(['attach', name, '--conf', conf]);
    assert.equal(a.code, 0, a.stderr);
    const rows = await same(['list', '--container', name]);
    assert.match(rows.stdout, new RegExp(`^${name}\\t`), rows.stdout);
    await same(['ls', '--net', NET, '--container', name]);
    const json = await both(['list', '--container', name, '--json']);
    assert.equal(json.fast.code, 0);
    assert.deepEqual(JSON.parse(json.fast.stdout), JSON.parse(json.oclif.stdout));
    await same(['attach', name, '--conf', conf]);
    assert.equal((await cli(['detach', name, '--conf', conf])).code, 0);
    assert.match((await same(['detach', name, '--conf', conf])).stdout, /nothing to detach/);
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'dist/fast/fast-path.cjs.v8cache.json'), 'utf8')) as {commands: string[]};
    assert.ok(manifest.commands.includes('list'), `the bundle did not run list: ${manifest.commands.join(',')}`);
  });

  it('user errors: the same one line and exit code', async () => {
    const missing = await same(['attach', 'tfp-no-such-container', '--conf', conf]);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    await same(['attach', name, '--conf', path.join(tmp, 'missing.conf')]);
    await same(['detach', '--net', 'tfp-no-such-net', name]);
    // list takes no argument: the fast path leaves that (and its message) to oclif.
    const extra = await same(['list', 'extra']);
    assert.notEqual(extra.code, 0);
    const dir = await same(['attach', name, '--conf', tmp]);
    assert.deepEqual([dir.code, dir.stderr], [1, `Error: cannot read network config ${tmp}: it is a directory\n`]);
  });

  it('not root: the same one line with the hint, both ways', async () => {
    const asNobody = (env: NodeJS.ProcessEnv): CliResult => {
      const r = spawnSync('runuser', ['-u', 'nobody', '--', path.join(ROOT, 'bin/cni-docker'), 'list'], {encoding: 'utf8', env: {...process.env, ...env}});
      return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr};
    };
    const fast = asNobody({});
    assert.deepEqual(fast, asNobody({CNI_DOCKER_NO_FAST: '1'}));
    assert.equal(fast.code, 1);
    assert.match(fast.stderr, /^Error: \/var\/lib\/cni\/results: permission denied \(cni-docker needs root: run it with sudo\)\n$/);
  });
});
