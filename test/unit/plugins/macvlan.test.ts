import assert from 'node:assert/strict';
import fc from 'fast-check';
import type {PluginContext} from '../../../src/exec/plugin.js';
import {defaultPaths} from '../../../src/exec/plugin.js';
import {pluginLoader} from '../../../src/plugins/registry.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {CniError, ErrorCode} from '../../../src/cni/errors.js';
import {RUNS, anyJson, cmdArgs, junkText, kernelHostile, pluginParse, prop, refusedByAdd} from '../../helpers/arbitraries.js';
import {decodeConf, parseConf, parseMac, plugin} from '../../../src/plugins/macvlan.js';
import {FakeRunner, type Expectation} from '../../helpers/fake-runner.js';
import {noEtcd} from '../../helpers/fake-etcd.js';

// A path on nsfs that always exists, so checkNetnsPath passes without root.
const NS = '/proc/self/ns/net';
const IN_NS = ['nsenter', `--net=${NS}`, '--'];
const MASTER_JSON = JSON.stringify([{ifindex: 5, ifname: 'tmvm0', flags: ['UP'], mtu: 1500}]);

function ctxWith(expect: Expectation[]): {ctx: PluginContext; fake: FakeRunner; warnings: string[]} {
  // The random temporary link name becomes `vethTEMP` so argv can be scripted.
  const fake = new FakeRunner(expect, {normalize: (a) => a.replace(/^veth[0-9a-f]{8}$/, 'vethTEMP')});
  const warnings: string[] = [];
  const ctx: PluginContext = {
    runner: fake,
    log: {debug: () => undefined, warn: (m) => warnings.push(m)},
    paths: defaultPaths,
    env: {},
    etcdClient: noEtcd,
    plugins: pluginLoader,
  };
  return {ctx, fake, warnings};
}

function cmd(conf: Record<string, unknown>, extra: Partial<CmdArgs> = {}): CmdArgs {
  const stdin = JSON.stringify({cniVersion: '1.0.0', name: 'tmvnet', type: 'macvlan', ...conf});
  return {containerId: 'c1', netns: NS, ifname: 'net1', args: '', path: [], stdin, ...extra};
}

const masterLookup: Expectation = {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'tmvm0'], reply: {stdout: MASTER_JSON}};

async function rejects(p: Promise<unknown>, msg: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: Error & {code?: number}) => {
    if (typeof msg === 'string') assert.equal(err.message, msg);
    else assert.match(err.message, msg);
    assert.equal(err.code, 999);
    return true;
  });
}

describe('plugins/macvlan', () => {
  describe('decodeConf', () => {
    it('matches keys case-insensitively, the last one winning, and fills defaults', () => {
      const c = decodeConf(JSON.stringify({name: 'n', Master: 'a', master: 'b', RuntimeConfig: {mac: 'c2:11:22:33:44:55'}}));
      assert.equal(c.master, 'b');
      assert.equal(c.mode, '');
      assert.equal(c.mtu, 0);
      assert.equal(c.linkInContainer, false);
      assert.equal(c.ipamType, undefined);
      assert.equal(c.runtimeMac, 'c2:11:22:33:44:55');
    });

    it('rejects a type mismatch with the reference wording', () => {
      assert.throws(
        () => decodeConf(JSON.stringify({name: 'n', mtu: '1500'})),
        /^CniError: failed to load netconf: json: cannot unmarshal string into Go struct field NetConf\.mtu of type int$/,
      );
      assert.throws(() => decodeConf(JSON.stringify({name: 'n', mtu: 1.5})), /cannot unmarshal number 1\.5/);
    });
  });

  describe('parseMac', () => {
    it('normalises the 6-byte forms Go accepts', () => {
      assert.equal(parseMac('C2-11-22-33-44-55'), 'c2:11:22:33:44:55');
      assert.equal(parseMac('c211.2233.4455'), 'c2:11:22:33:44:55');
    });
    it('rejects anything else', () => {
      assert.throws(() => parseMac('c2:11:22'), /^CniError: invalid args c2:11:22 for MAC addr: address c2:11:22: invalid MAC address$/);
    });
  });

  describe('parseConf', () => {
    it('takes the master from the default route (IPv4 first) when none is set', async () => {
      const {ctx, fake} = ctxWith([
        {
          argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'main'],
          reply: {stdout: '[{"dst":"10.0.0.0/8","dev":"x","flags":[]},{"dst":"default","gateway":"10.0.0.1","dev":"tmvm0","flags":[]}]'},
        },
        masterLookup,
      ]);
      const c = await parseConf(ctx, cmd({}));
      assert.equal(c.master, 'tmvm0');
      assert.equal(c.mode, 'bridge');
      assert.equal(c.masterMtu, 1500);
      fake.assertDone();
    });

    it('fails with "no default route interface found" when there is none', async () => {
      const {ctx} = ctxWith([
        {argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: '[]'}},
        {argv: ['ip', '-j', '-6', 'route', 'show', 'table', 'main'], reply: {stdout: ''}},
      ]);
      await rejects(parseConf(ctx, cmd({})), 'no default route interface found');
    });

    it('names a missing master', async () => {
      const {ctx} = ctxWith([
        {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'tmvgone'], reply: {exitCode: 1, stderr: 'Device "tmvgone" does not exist.\n'}},
        {
          argv: [...IN_NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'tmvgone'],
          reply: {exitCode: 1, stderr: 'Device "tmvgone" does not exist.\n'},
        },
      ]);
      await rejects(parseConf(ctx, cmd({master: 'tmvgone'})), 'failed to lookup master "tmvgone": Link not found');
    });

    it('says so when the master is in the container namespace instead', async () => {
      const {ctx} = ctxWith([
        {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'tmvm0'], reply: {exitCode: 1, stderr: 'Device "tmvm0" does not exist.\n'}},
        {argv: [...IN_NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'tmvm0'], reply: {stdout: MASTER_JSON}},
      ]);
      await rejects(
        parseConf(ctx, cmd({master: 'tmvm0'})),
        /in the host namespace; it is in the container namespace \(set linkInContainer\)$/,
      );
    });

    it('bounds the MTU by the master MTU', async () => {
      const {ctx} = ctxWith([masterLookup]);
      await rejects(parseConf(ctx, cmd({master: 'tmvm0', mtu: 9000})), 'invalid MTU 9000, must be [0, master MTU(1500)]');
    });

    it('rejects an unknown mode', async () => {
      const {ctx} = ctxWith([masterLookup]);
      await rejects(parseConf(ctx, cmd({master: 'tmvm0', mode: 'foo'})), 'unknown macvlan mode: "foo"');
    });

    it('applies MAC precedence mac < CNI_ARGS MAC < runtimeConfig.mac', async () => {
      const base = {master: 'tmvm0', mac: '02:00:00:00:00:01'};
      let c = await parseConf(ctxWith([masterLookup]).ctx, cmd(base));
      assert.equal(c.mac, '02:00:00:00:00:01');
      c = await parseConf(ctxWith([masterLookup]).ctx, cmd(base, {args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:02;IP=1.2.3.4'}));
      assert.equal(c.mac, '02:00:00:00:00:02');
      c = await parseConf(
        ctxWith([masterLookup]).ctx,
        cmd({...base, runtimeConfig: {mac: '02:00:00:00:00:03'}}, {args: 'MAC=02:00:00:00:00:02'}),
      );
      assert.equal(c.mac, '02:00:00:00:00:03');
    });

    it('rejects unknown CNI_ARGS keys as the reference does', async () => {
      const {ctx} = ctxWith([masterLookup]);
      await rejects(parseConf(ctx, cmd({master: 'tmvm0'}, {args: 'IP=1.2.3.4'})), 'ARGS: unknown args ["IP=1.2.3.4"]');
    });
  });

  describe('ADD/DEL (L2, scripted)', () => {
    const created = JSON.stringify([{ifindex: 2, ifname: 'net1', flags: [], mtu: 1500, address: '02:aa:bb:cc:dd:ee'}]);

    it('creates, renames, sets up and reports interface 0 with the sandbox', async () => {
      const {ctx, fake} = ctxWith([
        masterLookup,
        {argv: ['ip', 'link', 'add', 'vethTEMP', 'txqueuelen', '0', 'link', 'tmvm0', 'netns', NS, 'type', 'macvlan', 'mode', 'vepa']},
        {argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'vethTEMP', 'name', 'net1']},
        {argv: [...IN_NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'net1'], reply: {stdout: created}},
        {argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'net1', 'up']},
      ]);
      const r = await plugin.add(ctx, cmd({master: 'tmvm0', mode: 'vepa', dns: {nameservers: ['10.213.0.1']}}));
      assert.deepEqual(r.interfaces, [{name: 'net1', mac: '02:aa:bb:cc:dd:ee', sandbox: NS}]);
      assert.equal(r.ips, undefined);
      assert.deepEqual(r.dns, {nameservers: ['10.213.0.1']});
      fake.assertDone();
    });

    it('rolls the link back when a later step fails', async () => {
      const {ctx, fake, warnings} = ctxWith([
        masterLookup,
        {argv: ['ip', 'link', 'add', 'vethTEMP', 'txqueuelen', '0', 'link', 'tmvm0', 'netns', NS, 'type', 'macvlan', 'mode', 'bridge']},
        {argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'vethTEMP', 'name', 'net1']},
        {argv: [...IN_NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'net1'], reply: {stdout: created}},
        {argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'net1', 'up'], reply: {exitCode: 2, stderr: 'RTNETLINK answers: Network is down\n'}},
        {argv: [...IN_NS, 'ip', 'link', 'del', 'dev', 'net1']},
      ]);
      await rejects(plugin.add(ctx, cmd({master: 'tmvm0'})), 'failed to set "net1" UP: network is down');
      fake.assertDone();
      assert.deepEqual(warnings, []);
    });

    it('DEL needs no master and treats a missing link as success', async () => {
      const {ctx, fake} = ctxWith([
        {argv: [...IN_NS, 'ip', 'link', 'del', 'dev', 'net1'], reply: {exitCode: 1, stderr: 'Cannot find device "net1"\n'}},
      ]);
      await plugin.del(ctx, cmd({master: 'tmvgone', mtu: 99999}));
      fake.assertDone();
    });

    it('DEL with a missing netns path or an empty CNI_NETNS runs nothing', async () => {
      const {ctx, fake} = ctxWith([]);
      await plugin.del(ctx, cmd({master: 'tmvm0'}, {netns: '/var/run/netns/tmv-does-not-exist'}));
      await plugin.del(ctx, cmd({master: 'tmvm0'}, {netns: ''}));
      fake.assertDone();
      assert.equal(fake.calls.length, 0);
    });
  });

  describe('GC and STATUS (spec 1.1)', () => {
    const v11 = (conf: Record<string, unknown>): CmdArgs => cmd({cniVersion: '1.1.0', ...conf}, {containerId: '', netns: '', ifname: ''});

    it("STATUS succeeds when the master is there, and is error 50 in ADD's words when it is not", async () => {
      const {ctx, fake} = ctxWith([
        masterLookup,
        {argv: ['ip', '-j', '-d', 'link', 'show', 'dev', 'tmvgone'], reply: {exitCode: 1, stderr: 'Device "tmvgone" does not exist.\n'}},
        {argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: '[]'}},
        {argv: ['ip', '-j', '-6', 'route', 'show', 'table', 'main'], reply: {stdout: '[]'}},
      ]);
      await plugin.status!(ctx, v11({master: 'tmvm0'}));
      await assert.rejects(plugin.status!(ctx, v11({master: 'tmvgone'})), {
        code: 50,
        message: 'failed to lookup master "tmvgone": Link not found',
      });
      await assert.rejects(plugin.status!(ctx, v11({})), {code: 50, message: 'no default route interface found'});
      fake.assertDone();
    });

    it('STATUS cannot see a master inside the container and does not look; a config ADD refuses is 50', async () => {
      const {ctx, fake} = ctxWith([masterLookup]);
      await plugin.status!(ctx, v11({master: 'tmvm0', linkInContainer: true}));
      await assert.rejects(plugin.status!(ctx, v11({master: 'tmvm0', mode: 'foo'})), {code: 50, message: 'unknown macvlan mode: "foo"'});
      fake.assertDone();
    });

    it('GC and STATUS go to IPAM, whose error is ours', async () => {
      const {ctx, fake} = ctxWith([masterLookup]);
      const calls: string[] = [];
      const fakeIpam = {
        type: 'tmvipam',
        add: async () => assert.fail('no ADD'),
        del: async () => assert.fail('no DEL'),
        check: async () => assert.fail('no CHECK'),
        gc: async (_c: PluginContext, a: CmdArgs) => void calls.push(`gc ${a.stdin.includes('valid-attachments')}`),
        status: async () => Promise.reject(new CniError(50, 'store full')),
      };
      ctx.plugins = {load: async (type) => (type === 'tmvipam' ? fakeIpam : assert.fail(`loaded ${type}`))};
      await plugin.gc!(ctx, v11({master: 'tmvgone', ipam: {type: 'tmvipam'}, 'cni.dev/valid-attachments': []}));
      await assert.rejects(plugin.status!(ctx, v11({master: 'tmvm0', ipam: {type: 'tmvipam'}})), {code: 50, message: 'store full'});
      assert.deepEqual(calls, ['gc true']);
      fake.assertDone();
    });
  });
});

describe('hardening: config parsing (property)', function () {
  this.timeout(20000);
  it('macvlan decodeConf: any text or wrong-typed field gives a one-line error', () => {
    const keys = fc.constantFrom('name', 'master', 'mode', 'mtu', 'mac', 'ipam', 'runtimeConfig', 'linkInContainer', 'Master');
    fc.assert(
      fc.property(junkText, (t) => pluginParse(() => decodeConf(t))),
      {numRuns: RUNS},
    );
    fc.assert(
      fc.property(fc.dictionary(keys, anyJson, {maxKeys: 4}), (o) => pluginParse(() => decodeConf(JSON.stringify(o)))),
      {numRuns: RUNS},
    );
  });
});

/**
 * "Refused before anything touches the system": every hostile input below runs
 * the real plugin with a runner that fails on any command and empty temp state
 * dirs; the run must end in a one-line CNI error with no command run and no
 * file created.
 */
describe('hardening: hostile input reaches no command and no file (property)', function () {
  this.timeout(20000);

  it('macvlan master name: code 999 "Link not found" before any command', () =>
    prop(kernelHostile, (box, master) =>
      refusedByAdd(
        box,
        (a) => plugin.add(box.ctx, a),
        cmdArgs(JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', type: 'macvlan', master})),
        [ErrorCode.Internal],
      ),
    ));
});
