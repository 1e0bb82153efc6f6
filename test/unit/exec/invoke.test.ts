import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync, mkdirSync} from 'node:fs';
import type {PluginContext} from '../../../src/exec/plugin.js';
import {defaultPaths} from '../../../src/exec/plugin.js';
import type {RunOptions} from '../../../src/exec/runner.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {execFailure, execPlugin, execPluginAdd, execPluginCommand, findPlugin} from '../../../src/exec/invoke.js';
import {pluginLoader} from '../../../src/plugins/registry.js';
import {CniError} from '../../../src/cni/errors.js';
import {FakeRunner, type Reply} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

interface Call {
  file: string;
  options: RunOptions;
}

describe('exec/invoke: executing a plugin from CNI_PATH', () => {
  let dir: string;
  let args: CmdArgs;
  /** A context whose runner expects one run of the `fake` plugin, answers `reply` and notes the call in `calls`. */
  const ctxWith = (reply: Reply, calls: Call[]): PluginContext => ({
    runner: new FakeRunner([{argv: [`${dir}/b/fake`], reply: ({argv, options}) => (calls.push({file: argv[0], options}), reply)}]),
    log: {debug: () => undefined, warn: () => undefined},
    paths: defaultPaths,
    env: {PATH: '/usr/bin', CNI_COMMAND: 'ADD', KEEP: '1'},
    etcdClient: noEtcd,
    plugins: pluginLoader,
  });
  before(() => {
    dir = mkdtempSync('/tmp/tcore-exec-');
    mkdirSync(`${dir}/a`);
    mkdirSync(`${dir}/b`);
    mkdirSync(`${dir}/a/dirplugin`);
    writeFileSync(`${dir}/b/dirplugin`, '');
    writeFileSync(`${dir}/b/fake`, '');
    args = {
      containerId: 'c1',
      netns: '/var/run/netns/tcore-x',
      ifname: 'eth0',
      args: 'IgnoreUnknown=1',
      path: [`${dir}/a`, `${dir}/b`],
      stdin: '{"cniVersion":"0.4.0","name":"n"}',
    };
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('finds the first regular file over CNI_PATH and names the path when missing', async () => {
    assert.equal(await findPlugin('dirplugin', [`${dir}/a`, `${dir}/b`]), `${dir}/b/dirplugin`);
    await assert.rejects(
      findPlugin('nope', ['/x', '/y']),
      (e: CniError) => e.code === 999 && e.message === 'failed to find plugin "nope" in path [/x /y]',
    );
    await assert.rejects(findPlugin('a/b', ['/x']), /invalid plugin name: a\/b/);
    await assert.rejects(findPlugin('', ['/x']), /no plugin name provided/);
  });

  it('runs with the caller env plus all six CNI_* vars and the config bytes on stdin', async () => {
    const calls: Call[] = [];
    await execPluginCommand(ctxWith({}, calls), 'fake', 'DEL', args);
    assert.equal(calls[0].file, `${dir}/b/fake`);
    assert.equal(calls[0].options.input, args.stdin);
    assert.equal(calls[0].options.extendEnv, false);
    assert.deepEqual(calls[0].options.env, {
      PATH: '/usr/bin',
      KEEP: '1',
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/var/run/netns/tcore-x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1',
      CNI_PATH: `${dir}/a:${dir}/b`,
    });
  });

  it('ADD parses the result from its own version, inserting the config version when absent', async () => {
    const r = await execPluginAdd(ctxWith({stdout: '{"ip4":{"ip":"10.210.0.2/24"}}'}, []), 'fake', args);
    assert.deepEqual(r, {cniVersion: '0.4.0', ips: [{address: '10.210.0.2/24'}]});
    const r2 = await execPluginAdd(
      ctxWith({stdout: '{"cniVersion":"0.2.0","ip4":{"ip":"10.210.0.3/24","routes":[{"dst":"0.0.0.0/0"}]},"dns":{}}'}, []),
      'fake',
      args,
    );
    assert.deepEqual(r2, {cniVersion: '0.2.0', ips: [{address: '10.210.0.3/24'}], routes: [{dst: '0.0.0.0/0'}]});
  });

  it('passes a delegate error code/msg/details through unchanged', async () => {
    const stdout = '{"code":7,"msg":"bad config","details":"d"}';
    await assert.rejects(
      execPluginCommand(ctxWith({stdout, exitCode: 1}, []), 'fake', 'CHECK', args),
      (e: CniError) => e.code === 7 && e.message === 'bad config' && e.details === 'd',
    );
  });

  it('runs every command of an executed plugin as its executable with that CNI_COMMAND', async () => {
    const calls: Call[] = [];
    const fake = execPlugin('fake');
    assert.equal(fake.type, 'fake');
    await fake.del(ctxWith({}, calls), args);
    await fake.check(ctxWith({}, calls), args);
    await fake.gc!(ctxWith({}, calls), args);
    await fake.status!(ctxWith({}, calls), args);
    assert.deepEqual(
      calls.map((c) => [c.file, c.options.env?.CNI_COMMAND]),
      ['DEL', 'CHECK', 'GC', 'STATUS'].map((cmd) => [`${dir}/b/fake`, cmd]),
    );
  });

  it('maps failures without JSON as the reference does', () => {
    assert.equal(execFailure('', 'oops\n', 2).message, 'netplugin failed: "oops\\n"');
    assert.equal(execFailure('', '', 2).message, 'netplugin failed with no error message: exit status 2');
    assert.match(execFailure('garbage', '', 1).message, /^netplugin failed but error parsing its diagnostic message "garbage": /);
  });
});
