import {strict as assert} from 'node:assert';
import type {CmdArgs, Result} from '../../../src/cni/types.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {defaultPaths, withContext, type Plugin, type PluginContext} from '../../../src/exec/plugin.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

const ctx: PluginContext = {
  runner: FakeRunner.none(),
  log: {debug: () => undefined, warn: () => undefined},
  paths: defaultPaths,
  env: {},
  etcdClient: noEtcd,
  plugins: {load: () => Promise.reject(new Error('no delegation expected'))},
};
const args: CmdArgs = {containerId: 'c1', netns: '/proc/self/ns/net', ifname: 'eth0', args: '', path: [], stdin: '{}'};

/** A plugin that records which of its methods ran, with which context and arguments, and as whose method. */
class Recorder implements Plugin {
  readonly type = 'recorder';
  readonly calls: string[] = [];
  private note(cmd: string, c: PluginContext, a: CmdArgs): void {
    assert.equal(c, ctx, `${cmd} got the bound context`);
    assert.equal(a, args);
    this.calls.push(cmd); // `this` must be the plugin: a method called unbound would throw here
  }
  async add(c: PluginContext, a: CmdArgs): Promise<Result> {
    this.note('add', c, a);
    return {cniVersion: '1.0.0'} as Result;
  }
  async del(c: PluginContext, a: CmdArgs): Promise<void> {
    this.note('del', c, a);
  }
  async check(c: PluginContext, a: CmdArgs): Promise<void> {
    this.note('check', c, a);
  }
  async gc(c: PluginContext, a: CmdArgs): Promise<void> {
    this.note('gc', c, a);
  }
  async status(c: PluginContext, a: CmdArgs): Promise<void> {
    this.note('status', c, a);
  }
}

describe('exec/plugin withContext', () => {
  it("binds the context to every command, each called as the plugin's own method", async () => {
    const p = new Recorder();
    const f = withContext(p, ctx);
    assert.deepEqual(await f.add(args), {cniVersion: '1.0.0'});
    await f.del(args);
    await f.check(args);
    await f.gc!(args);
    await f.status!(args);
    assert.deepEqual(p.calls, ['add', 'del', 'check', 'gc', 'status']);
  });

  it('leaves out GC and STATUS when the plugin has none (skel answers them itself)', () => {
    const {add, del, check} = new Recorder();
    const f = withContext({type: 'old', add, del, check}, ctx);
    assert.equal(f.gc, undefined);
    assert.equal(f.status, undefined);
  });
});
