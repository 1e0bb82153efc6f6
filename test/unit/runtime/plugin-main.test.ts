import assert from 'node:assert/strict';
import fc from 'fast-check';
import {runSkel} from '../../../src/cni/skel.js';
import {builtinFuncs} from '../../../src/runtime/plugin-main.js';
import {ErrorCode} from '../../../src/cni/errors.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {
  NETNS,
  bridgeConf,
  cmdArgs,
  hostLocalIpam,
  hostileIfname,
  hostileName,
  junkText,
  oversizedIfname,
  prop,
  sandbox,
  type Sandbox,
} from '../../helpers/arbitraries.js';

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

const ENV_CODES = [ErrorCode.InvalidEnvironment];

describe('runtime/plugin-main builtinFuncs', () => {
  it('gives a built-in type its plugin bound to the context, and nothing for any other type', async () => {
    const box = sandbox();
    try {
      const load = builtinFuncs(box.ctx);
      assert.equal(await load('portmap'), undefined);
      const hostLocal = await load('host-local');
      assert.ok(hostLocal?.gc && hostLocal.status, 'GC and STATUS are bound where the plugin has them');
      const r = await hostLocal.add(
        cmdArgs(JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', ipam: {type: 'host-local', subnet: '10.217.0.0/24'}})),
      );
      assert.equal(r.ips?.[0].address, '10.217.0.2/24');
      assert.ok(box.leftovers().includes('networks/thdnet/10.217.0.2'), "the store is under the context's networksDir");
    } finally {
      box.cleanup();
    }
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

  it('network name (skel, bridge + host-local): code 7', () =>
    prop(hostileName, (box, name) =>
      refusedBySkel(box, env('ADD'), bridgeConf({name, ipam: hostLocalIpam(box)}), [ErrorCode.InvalidNetworkConfig]),
    ));

  it('container id (skel): code 4', () =>
    prop(
      hostileName.filter((s) => s !== ''),
      (box, id) => refusedBySkel(box, env('ADD', {CNI_CONTAINERID: id}), bridgeConf({ipam: hostLocalIpam(box)}), ENV_CODES),
    ));

  it('ifname, hostile or oversized (skel): code 4', () =>
    prop(fc.oneof(hostileIfname, oversizedIfname), (box, ifname) =>
      refusedBySkel(box, env('ADD', {CNI_IFNAME: ifname}), bridgeConf({ipam: hostLocalIpam(box)}), ENV_CODES),
    ));

  it('random CNI_* environment and stdin (skel): refused or handled, never a command for invalid ids', () =>
    prop(
      fc.record({id: fc.string({maxLength: 10}), ifname: fc.string({maxLength: 18}), stdin: junkText}),
      async (box, v) => {
        const out = await runSkel(env('ADD', {CNI_CONTAINERID: v.id, CNI_IFNAME: v.ifname}), v.stdin, builtinFuncs(box.ctx));
        assert.doesNotThrow(() => JSON.parse(out.stdout));
        const idOk = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v.id);
        const ifOk =
          v.ifname !== '' &&
          Buffer.byteLength(v.ifname) <= 15 &&
          !/[/:\s\u0085\u00a0\p{Z}]/u.test(v.ifname) &&
          v.ifname !== '.' &&
          v.ifname !== '..';
        if (!idOk || !ifOk) assert.deepEqual(box.runner.calls, []);
      },
      FakeRunner.refusing,
    ));
});
