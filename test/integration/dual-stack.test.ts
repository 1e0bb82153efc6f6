import {strict as assert} from 'node:assert';
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import {cli, cliJson, CONFIGS} from '../helpers/cli.js';
import {assertDockerTestBed, assertReferencePlugins, docker, REFERENCE_PLUGINS, TestContainers} from '../helpers/docker.js';
import {quietSync as quiet, shSync} from '../helpers/host.js';
import {refExec} from '../helpers/reference.js';
import {added, normaliseRules, saveRules} from '../helpers/rules.js';

/**
 * Dual-stack traffic through the real CLI: two --net=none containers on the
 * bridge of configs/dual-stack.conf (10.89.1.0/24 and fd00:89:1::/64, bridge
 * cnidual0) ping each other and their gateways over both families, and the
 * masquerade rules equal the reference bridge plugin's for the same conf on
 * plain namespaces. Reserved: the network dual-stack and its bridge,
 * containers pd-ds-*, netns pd-ds-r1 and pd-ds-r2.
 */
const CONF = path.join(CONFIGS, 'dual-stack.conf');
const REF_NS = ['pd-ds-r1', 'pd-ds-r2'];

interface Attached {
  containerId: string;
  addresses: string[];
  gateways: string[];
}

const plain = (cidr: string): string => cidr.split('/')[0];
const v6 = (cidrs: string[]): string => plain(cidrs.find((a) => a.includes(':'))!);
const v4 = (cidrs: string[]): string => plain(cidrs.find((a) => !a.includes(':'))!);
const ip6ForwardPolicy = (): string => /^-P FORWARD (\w+)/m.exec(shSync('ip6tables', '-S', 'FORWARD'))?.[1] ?? '?';

/** One ping from inside a container; `-6` for IPv6 (busybox). */
async function ping(container: string, address: string): Promise<boolean> {
  const family = address.includes(':') ? ['-6'] : [];
  return docker('exec', container, 'ping', ...family, '-c', '1', '-W', '2', address).then(
    () => true,
    () => false,
  );
}

describe('dual-stack bridge through the CLI (configs/dual-stack.conf)', function () {
  this.timeout(180_000);
  const containers = new TestContainers('pd-ds-');
  const conf = JSON.parse(readFileSync(CONF, 'utf8')) as {name: string; bridge: string};
  const storeDir = `/var/lib/cni/networks/${conf.name}`;
  const names: string[] = [];
  const attached: Record<string, Attached> = {};
  let natBefore: {v4: string[]; v6: string[]};
  let bridgeMadeHere = false;

  before(async () => {
    await assertDockerTestBed();
    assertReferencePlugins();
    const taken = existsSync(storeDir) ? readdirSync(storeDir).filter((f) => /^[0-9a-f.:]+$/.test(f) && /\d/.test(f)) : [];
    if (taken.length > 0)
      throw new Error(`network ${conf.name} is in use on this host (${storeDir}: ${taken.join(' ')}); detach it before running this test`);
    bridgeMadeHere = !existsSync(`/sys/class/net/${conf.bridge}`);
    for (const n of REF_NS) quiet('ip', 'netns', 'del', n);
    natBefore = {v4: saveRules('iptables-save', ['nat']), v6: saveRules('ip6tables-save', ['nat'])};
    for (const suffix of ['a', 'b']) names.push((await containers.run({suffix})).name);
  });

  after(async () => {
    await cli(['detach', ...names, '--conf', CONF]);
    await containers.removeAll();
    for (const [i, n] of REF_NS.entries()) {
      refExec('bridge', 'DEL', {
        containerId: `pd-ds-ref-${i}`,
        netns: `/var/run/netns/${n}`,
        ifname: 'eth0',
        args: '',
        path: [REFERENCE_PLUGINS],
        stdin: readFileSync(CONF, 'utf8'),
      });
      quiet('ip', 'netns', 'del', n);
    }
    // The bridge plugin (ours and the reference) never removes the bridge on DEL.
    if (bridgeMadeHere) quiet('ip', 'link', 'del', conf.bridge);
    rmSync(storeDir, {recursive: true, force: true});
  });

  it('attach gives both containers an IPv4 and an IPv6 address with a gateway each', async () => {
    const r = await cliJson<{done: (Attached & {container: string})[]; failures: unknown[]}>(['attach', ...names, '--conf', CONF]);
    assert.deepEqual(r.failures, []);
    for (const d of r.done) attached[d.container] = d;
    for (const n of names) {
      const a = attached[n];
      assert.ok(a, `${n} was not attached`);
      assert.deepEqual(a.addresses.map((x) => (x.includes(':') ? 6 : 4)).sort(), [4, 6], a.addresses.join(' '));
      assert.match(v4(a.addresses), /^10\.89\.1\.\d+$/);
      assert.match(v6(a.addresses), /^fd00:89:1::[0-9a-f]+$/);
      assert.deepEqual([...a.gateways].sort(), ['10.89.1.1', 'fd00:89:1::1']);
    }
    assert.notEqual(v4(attached[names[0]].addresses), v4(attached[names[1]].addresses));
    assert.notEqual(v6(attached[names[0]].addresses), v6(attached[names[1]].addresses));
  });

  it('the containers ping each other over IPv4 and IPv6', async () => {
    const [a, b] = names;
    const results = {
      a_b_v4: await ping(a, v4(attached[b].addresses)),
      a_b_v6: await ping(a, v6(attached[b].addresses)),
      b_a_v4: await ping(b, v4(attached[a].addresses)),
      b_a_v6: await ping(b, v6(attached[a].addresses)),
    };
    // Bridged IPv6 passes ip6tables FORWARD (bridge netfilter); Docker 20.10 leaves that table alone.
    assert.deepEqual(results, {a_b_v4: true, a_b_v6: true, b_a_v4: true, b_a_v6: true}, `ip6tables FORWARD policy: ${ip6ForwardPolicy()}`);
  });

  it('both reach their gateways over both families', async () => {
    // A new bridge's IPv6 address is tentative (DAD) for about a second after its first ADD, with the
    // reference plugin as with ours: each gateway gets a few seconds to answer.
    const reach = async (c: string, gw: string): Promise<boolean> => {
      const end = Date.now() + 8000;
      while (Date.now() < end) {
        if (await ping(c, gw)) return true;
      }
      return false;
    };
    const results: Record<string, boolean> = {};
    for (const c of names) for (const gw of attached[c].gateways) results[`${c} -> ${gw}`] = await reach(c, gw);
    assert.ok(Object.values(results).every(Boolean), JSON.stringify(results));
    assert.equal(Object.keys(results).length, 4);
  });

  it("the IPv6 (and IPv4) masquerade rules equal the reference bridge plugin's for the same conf", async () => {
    const words = (atts: Attached[]): [string, string][] =>
      atts.flatMap(
        (a, i) =>
          [
            [`${v6(a.addresses)}/128`, `<ip6 ${'ab'[i]}>/128`],
            [`${v4(a.addresses)}/32`, `<ip4 ${'ab'[i]}>/32`],
          ] as [string, string][],
      );
    const ids = (atts: Attached[]): [string, string][] => atts.map((a, i) => [a.containerId, 'ab'[i]]);
    const state = (atts: Attached[]): {v4: string[]; v6: string[]} => ({
      v4: normaliseRules(added(natBefore.v4, saveRules('iptables-save', ['nat'])), words(atts), ids(atts)),
      v6: normaliseRules(added(natBefore.v6, saveRules('ip6tables-save', ['nat'])), words(atts), ids(atts)),
    });
    const ourAtts = names.map((n) => attached[n]);
    const ours = state(ourAtts);
    assert.ok(
      ours.v6.some((l) => l.includes('! -d ff00::/8') && l.endsWith('-j MASQUERADE')),
      ours.v6.join('\n'),
    );

    const detached = await cli(['detach', ...names, '--conf', CONF]);
    assert.equal(detached.code, 0, detached.stderr);
    assert.deepEqual(state(ourAtts), {v4: [], v6: []}, 'detach left masquerade rules');

    // The reference bridge (with the reference host-local) on plain namespaces, one after the other as attach does.
    const stdin = readFileSync(CONF, 'utf8');
    const refAtts: Attached[] = [];
    for (const [i, n] of REF_NS.entries()) {
      shSync('ip', 'netns', 'add', n);
      const r = refExec('bridge', 'ADD', {
        containerId: `pd-ds-ref-${i}`,
        netns: `/var/run/netns/${n}`,
        ifname: 'eth0',
        args: '',
        path: [REFERENCE_PLUGINS],
        stdin,
      });
      assert.equal(r.rc, 0, r.out);
      const res = JSON.parse(r.out) as {ips: {address: string; gateway?: string}[]};
      refAtts.push({
        containerId: `pd-ds-ref-${i}`,
        addresses: res.ips.map((x) => x.address),
        gateways: res.ips.map((x) => x.gateway ?? ''),
      });
    }
    const reference = state(refAtts);
    for (const [i, n] of REF_NS.entries()) {
      const r = refExec('bridge', 'DEL', {
        containerId: `pd-ds-ref-${i}`,
        netns: `/var/run/netns/${n}`,
        ifname: 'eth0',
        args: '',
        path: [REFERENCE_PLUGINS],
        stdin,
      });
      assert.equal(r.rc, 0, r.out);
      quiet('ip', 'netns', 'del', n);
    }
    assert.deepEqual(ours.v6, reference.v6);
    assert.deepEqual(ours.v4, reference.v4);
    assert.deepEqual(state(refAtts), {v4: [], v6: []}, 'the reference DEL left masquerade rules');
  });
});
