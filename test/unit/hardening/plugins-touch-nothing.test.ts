import assert from 'node:assert/strict';
import fc from 'fast-check';
import {runSkel} from '../../../src/cni/skel.js';
import {builtinFuncs} from '../../../src/runtime/plugin-main.js';
import {plugin as bridge} from '../../../src/plugins/bridge.js';
import {plugin as macvlan} from '../../../src/plugins/macvlan.js';
import {plugin as overlay} from '../../../src/plugins/overlay.js';
import type {CmdArgs} from '../../../src/cni/types.js';
import {ErrorCode} from '../../../src/cni/errors.js';
import {BAD_PIECES, RUNS, assertOneLineCniError, hostile, hostileIfname, hostileName, junkText, oversizedIfname, sandbox, type Sandbox} from './arbitraries.js';

/**
 * "Refused before anything touches the system": every hostile input below runs
 * the real plugin with a runner that fails on any command and empty temp state
 * dirs; the run must end in a one-line CNI error with no command run and no
 * file created.
 */
const NETNS = '/var/run/netns/thd-prop-none';

function conf(extra: Record<string, unknown>): string {
  return JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', type: 'bridge', bridge: 'thdbr0', ...extra});
}

function ipam(box: Sandbox, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'host-local', subnet: '10.217.0.0/24', dataDir: `${box.root}/data`, ...extra};
}

function env(cmd: string, over: Record<string, string> = {}): Record<string, string> {
  return {CNI_COMMAND: cmd, CNI_CONTAINERID: 'thdctr', CNI_NETNS: NETNS, CNI_IFNAME: 'eth1', CNI_PATH: '/usr/lib/cni', ...over};
}

/** Run ADD and DEL through the exec-protocol entry; both must be refused untouched. */
async function refusedBySkel(box: Sandbox, e: Record<string, string>, stdin: string, codes: number[]): Promise<void> {
  for (const cmd of ['ADD', 'DEL']) {
    const out = await runSkel({...e, CNI_COMMAND: cmd}, stdin, builtinFuncs(box.ctx));
    assert.equal(out.exitCode, 1, `${cmd} accepted: ${out.stdout}`);
    const o = JSON.parse(out.stdout) as {code: number; msg: string};
    assert.ok(codes.includes(o.code), `${cmd}: code ${o.code} (${o.msg})`);
    assert.doesNotMatch(o.msg, /[\n\r]/);
  }
  assert.deepEqual(box.runner.calls, [], 'a command ran');
  assert.deepEqual(box.leftovers(), [], 'a file was created');
}

async function refusedByAdd(box: Sandbox, add: (a: CmdArgs) => Promise<unknown>, args: CmdArgs, codes: number[]): Promise<void> {
  await add(args).then(
    () => assert.fail('accepted'),
    (err: unknown) => assertOneLineCniError(err, codes),
  );
  assert.deepEqual(box.runner.calls, [], 'a command ran');
  assert.deepEqual(box.leftovers(), [], 'a file was created');
}

function cmdArgs(stdin: string, args = ''): CmdArgs {
  return {containerId: 'thdctr', netns: NETNS, ifname: 'eth1', args, path: ['/usr/lib/cni'], stdin};
}

const ENV_CODES = [ErrorCode.InvalidEnvironment];
/** Link names the kernel refuses (non-ASCII spaces are valid link names, as for the reference). */
const kernelHostile = fc.oneof(hostileIfname.filter((n) => !/^e[^\u00a0\u2028\u3000]*[\u00a0\u2028\u3000][^\u00a0\u2028\u3000]*$/.test(n)), oversizedIfname);

describe('hardening: hostile input reaches no command and no file (property)', function () {
  this.timeout(20000);
  const prop = <T>(arb: fc.Arbitrary<T>, body: (box: Sandbox, v: T) => Promise<void>) =>
    fc.assert(
      fc.asyncProperty(arb, async (v) => {
        const box = sandbox();
        try {
          await body(box, v);
        } finally {
          box.cleanup();
        }
      }),
      {numRuns: RUNS},
    );

  it('network name (skel, bridge + host-local): code 7', () =>
    prop(hostileName, (box, name) => refusedBySkel(box, env('ADD'), conf({name, ipam: ipam(box)}), [ErrorCode.InvalidNetworkConfig])));

  it('container id (skel): code 4', () => prop(hostileName.filter((s) => s !== ''), (box, id) => refusedBySkel(box, env('ADD', {CNI_CONTAINERID: id}), conf({ipam: ipam(box)}), ENV_CODES)));

  it('ifname, hostile or oversized (skel): code 4', () =>
    prop(fc.oneof(hostileIfname, oversizedIfname), (box, ifname) => refusedBySkel(box, env('ADD', {CNI_IFNAME: ifname}), conf({ipam: ipam(box)}), ENV_CODES)));

  it('random CNI_* environment and stdin (skel): refused or handled, never a command for invalid ids', () =>
    prop(fc.record({id: fc.string({maxLength: 10}), ifname: fc.string({maxLength: 18}), stdin: junkText}), async (box, v) => {
      const out = await runSkel(env('ADD', {CNI_CONTAINERID: v.id, CNI_IFNAME: v.ifname}), v.stdin, builtinFuncs(box.ctx));
      assert.doesNotThrow(() => JSON.parse(out.stdout));
      const idOk = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v.id);
      const ifOk = v.ifname !== '' && Buffer.byteLength(v.ifname) <= 15 && !/[/:\s\u0085\u00a0\p{Z}]/u.test(v.ifname) && v.ifname !== '.' && v.ifname !== '..';
      if (!idOk || !ifOk) assert.deepEqual(box.runner.calls, []);
    }));

  it('bridge name: code 999 as the reference ("could not add"), before any command', () =>
    prop(fc.oneof(kernelHostile, fc.constant('')), (box, br) =>
      refusedByAdd(box, (a) => bridge.add(box.ctx, a), cmdArgs(conf({bridge: br, ipam: ipam(box)})), [ErrorCode.Internal])));

  it('bridge MAC from CNI_ARGS / args / runtimeConfig: code 999 before any command', () =>
    // Through CNI_ARGS a ';' or '=' is pair syntax, not part of the value (covered by the CNI_ARGS property below).
    prop(fc.tuple(fc.string({maxLength: 20}).filter((m) => m !== '' && !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(m)), fc.nat(2)).filter(([m, where]) => where !== 0 || !/[;=]/.test(m)), (box, [mac, where]) => {
      const c = where === 0 ? conf({ipam: ipam(box)}) : where === 1 ? conf({ipam: ipam(box), args: {cni: {mac}}}) : conf({ipam: ipam(box), runtimeConfig: {mac}});
      return refusedByAdd(box, (a) => bridge.add(box.ctx, a), cmdArgs(c, where === 0 ? `IgnoreUnknown=1;MAC=${mac}` : ''), [ErrorCode.Internal]);
    }));

  it('host-local errors (bad subnet, CNI_ARGS IP, ipam name) stop bridge ADD before the bridge is made', () =>
    prop(fc.oneof(fc.string({maxLength: 20}).map((s) => ({subnet: s})), fc.string({maxLength: 20}).map((ip) => ({ip}))), (box, v) => {
      const extra = 'subnet' in v ? {subnet: v.subnet} : {};
      const args = 'ip' in v ? `IgnoreUnknown=1;IP=${v.ip}` : '';
      const stdin = conf({ipam: ipam(box, extra)});
      return bridge.add(box.ctx, cmdArgs(stdin, args)).then(
        () => assert.fail('accepted'), // the runner fails on any command, so acceptance cannot happen silently
        (err: unknown) => {
          assertOneLineCniError(err, [ErrorCode.Internal, ErrorCode.InvalidNetworkConfig]);
          if (box.runner.calls.length > 0) {
            // valid input: it got as far as the first read of the bridge, and no further
            assert.equal(box.runner.calls.length, 1);
            assert.deepEqual(box.runner.calls[0].argv.slice(0, 3), ['ip', '-j', '-d']);
          }
          assert.deepEqual(box.leftovers(), []);
        },
      );
    }));

  it('macvlan master name: code 999 "Link not found" before any command', () =>
    prop(kernelHostile, (box, master) =>
      refusedByAdd(box, (a) => macvlan.add(box.ctx, a), cmdArgs(JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', type: 'macvlan', master})), [ErrorCode.Internal])));

  it('CNI_ARGS with hostile pairs: code 999 from the ARGS parser before any command', () =>
    prop(fc.oneof(fc.constantFrom('a', 'a=b=c', ';', 'FOO=1', 'IgnoreUnknown=maybe'), fc.string({maxLength: 20}).map((s) => `X${s}=1;=`)), (box, a) =>
      refusedByAdd(box, (x) => bridge.add(box.ctx, x), cmdArgs(conf({ipam: ipam(box)}), a), [ErrorCode.Internal])));

  /** The overlay's values end up in etcd keys, URLs, link names and ip argv; none may reach a command, a file or etcd. */
  const overlayConf = (extra: Record<string, unknown>): string =>
    JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', type: 'overlay', etcdEndpoints: ['http://127.0.0.1:1'], bridge: 'thdbr0', ...extra});
  const urlLike = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/;
  const overlayHostile = fc.oneof(
    // '/' separates parts and '..' inside a part is only a name: both are fine where they stand here
    fc.tuple(fc.string({maxLength: 4}), fc.constantFrom(...BAD_PIECES.filter((p) => p !== '/' && p !== '..')), fc.string({maxLength: 4})).map(([a, b, c]) => ({etcdPrefix: `/thd${a}${b}${c}`})),
    fc.constantFrom('/a/../b', '/..', '/.', '/a//b', '//').map((etcdPrefix) => ({etcdPrefix})),
    fc.string({maxLength: 12}).filter((p) => !p.startsWith('/')).map((etcdPrefix) => ({etcdPrefix})),
    fc.oneof(hostile, fc.string({maxLength: 30})).filter((u) => !urlLike.test(u)).map((u) => ({etcdEndpoints: [u]})),
    hostile.map((p) => ({etcdEndpoints: [`http://thd${p}:2379`]})),
    kernelHostile.map((bridge) => ({bridge})),
    kernelHostile.filter((i) => i !== '').map((iface) => ({iface})),
    fc.oneof(hostile, fc.string({minLength: 1, maxLength: 15})).filter((ip) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)).map((publicIP) => ({publicIP})),
  );

  it('overlay: hostile etcd prefix, endpoint, bridge, iface or publicIP: one-line CNI error, no command, no file', () =>
    prop(overlayHostile, (box, extra) =>
      refusedByAdd(box, (a) => overlay.add(box.ctx, a), cmdArgs(overlayConf(extra)), [ErrorCode.InvalidNetworkConfig, ErrorCode.Internal])));
});
