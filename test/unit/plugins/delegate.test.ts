import {strict as assert} from 'node:assert';
import type {Plugin, PluginContext} from '../../../src/exec/plugin.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {defaultPaths} from '../../../src/exec/plugin.js';
import {delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus} from '../../../src/plugins/delegate.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

describe('plugins/delegate', () => {
  const args: CmdArgs = {
    containerId: 'c1',
    netns: '/var/run/netns/tdel',
    ifname: 'eth0',
    args: '',
    path: ['/x'],
    stdin: '{"cniVersion":"1.0.0","name":"n", "ipam":{"type":"ipam"}}',
  };
  const seen: [string, string, PluginContext, CmdArgs][] = [];
  const ipam: Plugin = {
    type: 'ipam',
    add: async (c, a) => {
      seen.push(['ADD', 'ipam', c, a]);
      return {cniVersion: '1.0.0', ips: [{address: '10.218.0.2/24'}]};
    },
    del: async (c, a) => void seen.push(['DEL', 'ipam', c, a]),
    check: async (c, a) => void seen.push(['CHECK', 'ipam', c, a]),
  };
  const ctx: PluginContext = {
    runner: FakeRunner.none(),
    log: {debug: () => undefined, warn: () => undefined},
    paths: defaultPaths,
    env: {},
    etcdClient: noEtcd,
    plugins: {
      load: async (type) => {
        seen.push(['load', type, ctx, args]);
        return ipam;
      },
    },
  };
  beforeEach(() => (seen.length = 0));

  it('hands the delegate the caller context and the very same CmdArgs', async () => {
    assert.deepEqual(await delegateAdd(ctx, 'ipam', args), {cniVersion: '1.0.0', ips: [{address: '10.218.0.2/24'}]});
    await delegateCheck(ctx, 'ipam', args);
    await delegateDel(ctx, 'ipam', args);
    assert.deepEqual(
      seen.map(([what, type]) => `${what} ${type}`),
      ['load ipam', 'ADD ipam', 'load ipam', 'CHECK ipam', 'load ipam', 'DEL ipam'],
    );
    for (const [, , c, a] of seen) {
      assert.equal(c, ctx);
      assert.equal(a, args);
    }
  });

  it('GC and STATUS succeed for a delegate without them', async () => {
    await delegateGc(ctx, 'ipam', args);
    await delegateStatus(ctx, 'ipam', args);
    assert.deepEqual(
      seen.map(([what]) => what),
      ['load', 'load'],
    );
  });

  it('an absent type is asked for as the empty name (the loader refuses it)', async () => {
    await delegateDel(ctx, undefined, args);
    assert.equal(seen[0][1], '');
  });
});
