import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {makeBridgePlugin, type IpamOps} from '../../src/plugins/bridge.js';
import {execaRunner} from '../../src/exec/runner.js';
import {defaultPaths, type PluginContext} from '../../src/exec/plugin.js';
import {pluginLoader} from '../../src/plugins/registry.js';
import type {CmdArgs, Result} from '../../src/cni/types.js';
import {commentForInstance} from '../../src/net/nft-masq.js';
import {REF, refExec} from '../helpers/reference.js';
import {noEtcd} from '../helpers/fake-etcd.js';

/**
 * macspoofchk and ipMasqBackend "nftables" on real namespaces. IPAM is the
 * reference host-local; the reference 1.1.1 bridge is the comparator for the
 * spoof-check (it has no nftables masquerade: that is compared with the
 * reference HEAD text). Reserved: netns tsp-*, bridges tspbr*, networks tsp*,
 * 10.222.0.0/16.
 */
const quiet = (cmd: string, args: string[]): void => void spawnSync(cmd, args, {stdio: 'ignore'});
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, {encoding: 'utf8'});

const refIpam: IpamOps = {
  async add(_c, type, a) {
    const r = refExec(type, 'ADD', a);
    if (r.rc !== 0) throw new Error(r.out);
    return JSON.parse(r.out) as Result;
  },
  async del(_c, type, a) {
    const r = refExec(type, 'DEL', a);
    if (r.rc !== 0) throw new Error(r.out);
  },
  async check() {},
};

const ours = makeBridgePlugin({ipam: refIpam});
const ctx: PluginContext = {
  runner: execaRunner(),
  log: {debug() {}, warn() {}},
  paths: defaultPaths,
  env: {},
  plugins: pluginLoader,
  etcdClient: noEtcd,
};
const dataDir = mkdtempSync(join(tmpdir(), 'tsp-ipam-'));

function conf(name: string, bridge: string, subnet: string, extra: Record<string, unknown>): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name,
    type: 'bridge',
    bridge,
    isGateway: true,
    ...extra,
    ipam: {type: 'host-local', subnet, dataDir},
  });
}
const mkArgs = (stdin: string, ns: string, cid: string, ifname = 'eth0'): CmdArgs => ({
  containerId: cid,
  netns: `/var/run/netns/${ns}`,
  ifname,
  args: '',
  path: [REF],
  stdin,
});

interface Obj {
  chain?: {name: string; type?: string; hook?: string; prio?: number; policy?: string};
  rule?: {chain: string; handle: number; comment?: string; expr: unknown[]};
  table?: {name: string; comment?: string};
}
function nftJson(...what: string[]): Obj[] {
  const r = spawnSync('nft', ['-j', 'list', ...what], {encoding: 'utf8'});
  return r.status === 0 ? (JSON.parse(r.stdout) as {nftables: Obj[]}).nftables : [];
}

/** The spoof-check state of one attachment with its IDs, veth and MAC replaced by placeholders. */
function spoofState(cid: string, ifname: string, veth: string, mac: string): {base: unknown; chains: string[]; rules: string[]} {
  const objs = nftJson('table', 'bridge', 'nat');
  const norm = (s: string): string => s.replaceAll(cid, 'CID').replaceAll(veth, 'VETH').replaceAll(mac, 'MAC');
  const mine = `cni-br-iface-${cid}-${ifname}`;
  const base = objs.find((o) => o.chain?.name === 'PREROUTING')?.chain;
  return {
    base: base && {type: base.type, hook: base.hook, prio: base.prio, policy: base.policy},
    chains: objs.filter((o) => o.chain?.name.startsWith(mine)).map((o) => norm(o.chain!.name)),
    rules: objs
      .filter((o) => o.rule?.comment === `macspoofchk-${cid}-${ifname}`)
      .map((o) => norm(`${o.rule!.chain} ${JSON.stringify(o.rule!.expr)} ${o.rule!.comment}`)),
  };
}

const ping = (ns: string, ip: string): boolean =>
  spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '1', ip], {stdio: 'ignore'}).status === 0;

function cleanup(bridges: string[], nss: string[]): void {
  for (const ns of nss) quiet('ip', ['netns', 'del', ns]);
  for (const b of bridges) quiet('ip', ['link', 'del', b]);
  // Our own chains and rules, whatever a failed test left behind.
  for (const o of nftJson('table', 'bridge', 'nat')) {
    if (o.rule?.comment?.startsWith('macspoofchk-tsp'))
      quiet('nft', ['delete', 'rule', 'bridge', 'nat', o.rule.chain, 'handle', String(o.rule.handle)]);
  }
  for (const o of nftJson('table', 'bridge', 'nat'))
    if (o.chain?.name.startsWith('cni-br-iface-tsp')) quiet('nft', ['delete', 'chain', 'bridge', 'nat', o.chain.name]);
  for (const o of nftJson('table', 'inet', 'cni_plugins_masquerade')) {
    if (o.rule?.comment?.includes(', net: tsp'))
      quiet('nft', ['delete', 'rule', 'inet', 'cni_plugins_masquerade', o.rule.chain, 'handle', String(o.rule.handle)]);
  }
  // Tables nobody else uses any more (no rule left that is not the masquerade's fixed postrouting).
  if (!nftJson('table', 'bridge', 'nat').some((o) => o.rule)) quiet('nft', ['delete', 'table', 'bridge', 'nat']);
  if (!nftJson('table', 'inet', 'cni_plugins_masquerade').some((o) => o.rule && o.rule.chain !== 'postrouting'))
    quiet('nft', ['delete', 'table', 'inet', 'cni_plugins_masquerade']);
}

describe('bridge (ours) with nftables: macspoofchk and ipMasqBackend "nftables"', function () {
  this.timeout(60000);
  const NSS = ['tsp-a', 'tsp-b', 'tsp-c'];
  const BRS = ['tspbr1', 'tspbr2'];
  before(() => assert.equal(process.getuid?.(), 0, 'integration tests must run as root'));
  beforeEach(() => {
    cleanup(BRS, NSS);
    for (const ns of NSS) sh('ip', ['netns', 'add', ns]);
  });
  afterEach(() => cleanup(BRS, NSS));
  after(() => rmSync(dataDir, {recursive: true, force: true}));

  const spoofConf = conf('tspspoof', 'tspbr1', '10.222.1.0/24', {macspoofchk: true});

  it('macspoofchk ADD creates the same nft state as the reference 1.1.1', async () => {
    const r = await ours.add(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    const mine = spoofState('tspc1', 'eth0', r.interfaces![1].name, r.interfaces![2].mac!);
    const refConf = conf('tspspoofref', 'tspbr2', '10.222.2.0/24', {macspoofchk: true});
    const rr = refExec('bridge', 'ADD', mkArgs(refConf, 'tsp-b', 'tspc2'));
    assert.equal(rr.rc, 0, rr.out);
    const ref = JSON.parse(rr.out) as Result;
    const theirs = spoofState('tspc2', 'eth0', ref.interfaces![1].name, ref.interfaces![2].mac!);
    assert.deepEqual(mine, theirs);
    assert.deepEqual(mine.base, {type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept'});
    assert.deepEqual(mine.chains, ['cni-br-iface-CID-eth0', 'cni-br-iface-CID-eth0-mac']);
    assert.equal(mine.rules.length, 4);
    assert.match(mine.rules[0], /^PREROUTING .*"iifname".*"VETH".*"jump":\{"target":"cni-br-iface-CID-eth0"\}.* macspoofchk-CID-eth0$/);
    assert.match(mine.rules[2], /^cni-br-iface-CID-eth0-mac .*"ether".*"saddr".*"MAC".*"return".* macspoofchk-CID-eth0$/);
    assert.match(mine.rules[3], /^cni-br-iface-CID-eth0-mac \[\{"drop":null\}\] macspoofchk-CID-eth0$/);
    assert.ok(refExec('bridge', 'DEL', mkArgs(refConf, 'tsp-b', 'tspc2')).rc === 0);
    await ours.del(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
  });

  it('a frame with a spoofed source MAC is dropped, the real MAC passes (and passes without macspoofchk)', async () => {
    /** Ping the gateway from tsp-a with eth0 set to `mac`, neighbour caches flushed so both sides ARP afresh. */
    const pingAs = (mac: string): boolean => {
      sh('ip', ['-n', 'tsp-a', 'link', 'set', 'eth0', 'address', mac]);
      quiet('ip', ['-n', 'tsp-a', 'neigh', 'flush', 'dev', 'eth0']);
      quiet('ip', ['neigh', 'flush', 'dev', 'tspbr1']);
      return ping('tsp-a', '10.222.1.1');
    };
    const spoofed = '02:22:22:00:00:99';
    const r = await ours.add(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    const realMac = r.interfaces![2].mac!;
    assert.ok(pingAs(realMac), 'ping of the gateway with the real MAC');
    assert.ok(!pingAs(spoofed), 'ping with a spoofed MAC must fail');
    assert.ok(pingAs(realMac), 'ping with the real MAC again');
    await ours.del(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    // Control: the same spoofed ping works when macspoofchk is off, so the drop above is the spoof-check's.
    sh('ip', ['netns', 'del', 'tsp-a']);
    sh('ip', ['netns', 'add', 'tsp-a']);
    const plain = conf('tspspoof', 'tspbr1', '10.222.1.0/24', {});
    await ours.add(ctx, mkArgs(plain, 'tsp-a', 'tspc1'));
    assert.ok(pingAs(spoofed), 'without macspoofchk the spoofed MAC passes');
    await ours.del(ctx, mkArgs(plain, 'tsp-a', 'tspc1'));
  });

  it("DEL removes only that interface's rules and chains; also after ip netns del", async () => {
    const r1 = await ours.add(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    const r2 = await ours.add(ctx, mkArgs(spoofConf, 'tsp-b', 'tspc2'));
    await ours.del(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    assert.deepEqual(spoofState('tspc1', 'eth0', r1.interfaces![1].name, 'x'), {
      base: {type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept'},
      chains: [],
      rules: [],
    });
    assert.equal(spoofState('tspc2', 'eth0', r2.interfaces![1].name, r2.interfaces![2].mac!).rules.length, 4);
    sh('ip', ['netns', 'del', 'tsp-b']);
    await ours.del(ctx, mkArgs(spoofConf, 'tsp-b', 'tspc2'));
    const left = spoofState('tspc2', 'eth0', r2.interfaces![1].name, 'x');
    assert.deepEqual([left.chains, left.rules], [[], []]);
  });

  it("cross-DEL: the reference removes our spoof-check and we remove the reference's", async () => {
    await ours.add(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1'));
    assert.equal(refExec('bridge', 'DEL', mkArgs(spoofConf, 'tsp-a', 'tspc1')).rc, 0);
    assert.deepEqual(spoofState('tspc1', 'eth0', 'v', 'm').rules, []);
    assert.equal(refExec('bridge', 'ADD', mkArgs(spoofConf, 'tsp-b', 'tspc2')).rc, 0);
    assert.equal(spoofState('tspc2', 'eth0', 'v', 'm').rules.length, 4);
    await ours.del(ctx, mkArgs(spoofConf, 'tsp-b', 'tspc2'));
    const left = spoofState('tspc2', 'eth0', 'v', 'm');
    assert.deepEqual([left.chains, left.rules], [[], []]);
  });

  it('a failed ADD leaves no spoof-check behind', async () => {
    // The bridge already carries another address in this subnet: ensureAddr fails after the spoof-check was set up.
    sh('ip', ['link', 'add', 'tspbr1', 'type', 'bridge']);
    sh('ip', ['addr', 'add', '10.222.1.1/16', 'dev', 'tspbr1']);
    await assert.rejects(ours.add(ctx, mkArgs(spoofConf, 'tsp-a', 'tspc1')), /already has an IP address different/);
    const left = spoofState('tspc1', 'eth0', 'v', 'm');
    assert.deepEqual([left.chains, left.rules], [[], []]);
  });

  const masqConf = conf('tspmasq', 'tspbr1', '10.222.3.0/24', {ipMasq: true, ipMasqBackend: 'nftables'});
  const masqText = (): string => sh('nft', ['list', 'table', 'inet', 'cni_plugins_masquerade']);

  it("ipMasqBackend nftables: ADD writes the reference's table, chains, comments and rules; DEL removes only that container's", async () => {
    const r1 = await ours.add(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1'));
    const r2 = await ours.add(ctx, mkArgs(masqConf, 'tsp-b', 'tspc2'));
    const [ip1, ip2] = [r1, r2].map((r) => r.ips![0].address.split('/')[0]);
    const c1 = commentForInstance('tspmasq', 'eth0', 'tspc1');
    const c2 = commentForInstance('tspmasq', 'eth0', 'tspc2');
    assert.equal(c1, `${c1.slice(0, 33)}, net: tspmasq, if: eth0, id: tspc1`);
    const text = masqText();
    assert.match(
      text,
      /^table inet cni_plugins_masquerade \{\n\tcomment "Masquerading for plugins from github\.com\/containernetworking\/plugins"\n/,
    );
    assert.match(
      text,
      /\tchain masq_checks \{\n\t\tcomment "Masquerade traffic from certain IPs to any \(non-multicast\) IP outside their subnet"\n/,
    );
    assert.ok(text.includes(`\t\tip saddr ${ip1} ip daddr != 10.222.3.0/24 masquerade comment "${c1}"\n`), text);
    assert.ok(text.includes(`\t\tip saddr ${ip2} ip daddr != 10.222.3.0/24 masquerade comment "${c2}"\n`), text);
    assert.ok(
      text.includes(
        '\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tip daddr 224.0.0.0/4 return\n\t\tip6 daddr ff00::/8 return\n\t\tgoto masq_checks\n\t}\n',
      ),
      text,
    );
    assert.ok(!sh('iptables-save', ['-t', 'nat']).includes('tspmasq'), 'the nftables backend adds no iptables rules');

    await ours.del(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1'));
    const after = masqText();
    assert.ok(!after.includes(c1), after);
    assert.ok(after.includes(c2), after);
    assert.ok(after.includes('goto masq_checks'), 'the table and postrouting stay, as with the reference');

    sh('ip', ['netns', 'del', 'tsp-b']);
    await ours.del(ctx, mkArgs(masqConf, 'tsp-b', 'tspc2'));
    assert.ok(!masqText().includes(', net: tspmasq'), 'DEL after ip netns del removes the rules too');
  });

  it('ipMasqBackend nftables: two ifnames of one container keep separate rules; DEL of one leaves the other', async () => {
    await ours.add(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1'));
    await ours.add(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1', 'net1'));
    const count = (s: string): number => masqText().split(s).length - 1;
    assert.equal(count(commentForInstance('tspmasq', 'eth0', 'tspc1')), 1);
    assert.equal(count(commentForInstance('tspmasq', 'net1', 'tspc1')), 1);
    await ours.del(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1', 'net1'));
    assert.equal(count(commentForInstance('tspmasq', 'eth0', 'tspc1')), 1);
    assert.equal(count(commentForInstance('tspmasq', 'net1', 'tspc1')), 0);
    await ours.del(ctx, mkArgs(masqConf, 'tsp-a', 'tspc1'));
    assert.equal(count(', net: tspmasq'), 0);
  });
});
