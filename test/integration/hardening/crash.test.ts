import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {cli} from '../../helpers/cli.js';
import {iptablesLines, rc, sh} from '../../helpers/host.js';

/**
 * kill -9 of attach at every step boundary (CNI_DOCKER_CRASH_AFTER): a later
 * `detach` removes everything the killed attach made — link, reservation,
 * masquerade rules, cache and metadata.
 */
const NET = 'thdcrash';
const BRIDGE = 'thdbr9';
const STORE = `/var/lib/cni/networks/${NET}`;
const STEPS = ['attach:pending', 'bridge:bridge', 'bridge:veth', 'bridge:ipam', 'bridge:configured', 'chain:add:bridge', 'attach:cached'];

function reservations(): string[] {
  return existsSync(STORE) ? readdirSync(STORE).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.')) : [];
}

function ours(dir: string, id: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.includes(`-${id}-`)) : [];
}

describe('crash safety: kill -9 of attach at each step, then detach (real kernel)', function () {
  this.timeout(120_000);
  let tmp = '';
  let conf = '';

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('crash tests need root: run `sudo npm test` (after `sudo bin/setup`)');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'thd-crash-'));
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.217.200.0/24'},
      }),
    );
  });

  after(async () => {
    for (let i = 0; i < STEPS.length; i++) await rc('ip', 'netns', 'del', `thd-crash${i}`);
    await rc('ip', 'link', 'del', BRIDGE);
    rmSync(STORE, {recursive: true, force: true});
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  STEPS.forEach((step, i) => {
    it(`after ${step}`, async () => {
      const ns = `thd-crash${i}`;
      const nsPath = `/var/run/netns/${ns}`;
      await rc('ip', 'netns', 'del', ns);
      await sh('ip', 'netns', 'add', ns);
      const killed = await cli(['attach', '--netns', nsPath, '--conf', conf, '--ifname', 'eth1'], {CNI_DOCKER_CRASH_AFTER: step});
      assert.notEqual(killed.code, 0, `attach should have been killed after ${step}: ${killed.stdout}${killed.stderr}`);
      assert.match(killed.stderr, new RegExp(`crash-hook: SIGKILL after step \\d+ \\(${step}\\)`));

      const d = await cli(['detach', '--netns', nsPath]);
      assert.equal(d.code, 0, d.stderr);

      assert.deepEqual(reservations(), [], 'no address stays reserved');
      assert.deepEqual(await iptablesLines(new RegExp(`name: \\\\"${NET}\\\\"`)), [], 'no masquerade rule stays');
      assert.deepEqual(ours('/var/lib/cni/results', ns), [], 'no cache file');
      assert.deepEqual(ours('/var/lib/cni-docker/attachments', ns), [], 'no metadata');
      const inNs = JSON.parse(await sh('ip', '-n', ns, '-j', 'link')) as {ifname: string}[];
      assert.deepEqual(
        inNs.map((l) => l.ifname),
        ['lo'],
        'no interface left in the namespace',
      );
      const ports = (JSON.parse(await sh('ip', '-j', 'link')) as {ifname: string; master?: string}[]).filter((l) => l.master === BRIDGE);
      assert.deepEqual(ports, [], 'no veth left on the bridge');
      await sh('ip', 'netns', 'del', ns);
    });
  });
});
