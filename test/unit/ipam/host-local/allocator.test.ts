import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {PluginContext} from '../../../../src/exec/plugin.js';
import {pluginLoader} from '../../../../src/plugins/registry.js';
import type {CmdArgs} from '../../../../src/cni/types.js';
import {plugin} from '../../../../src/ipam/host-local/index.js';
import {DiskStore} from '../../../../src/ipam/host-local/store.js';
import {RangeIter, hasFreeAddress} from '../../../../src/ipam/host-local/allocator.js';
import {canonicalizeRangeSet} from '../../../../src/ipam/host-local/range.js';
import {ipString, parseCidr, parseIP} from '../../../../src/util/ip.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';
import {ip, raw} from '../../../helpers/ranges.js';
import {noEtcd} from '../../../helpers/fake-etcd.js';

const NET = 'thlunit';

describe('host-local allocation against a temp dataDir', () => {
  let dataDir: string;
  let dir: string;
  const ctx = (): PluginContext => ({
    runner: FakeRunner.none(),
    log: {debug: () => undefined, warn: () => undefined},
    paths: {networksDir: join(dataDir, 'default'), cacheDir: dataDir, stateDir: dataDir, dhcpSocket: ''},
    env: {},
    etcdClient: noEtcd,
    plugins: pluginLoader,
  });
  const stdin = (ipam: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    JSON.stringify({cniVersion: '1.0.0', name: NET, ...top, ipam: {type: 'host-local', dataDir, ...ipam}});
  const args = (containerId: string, conf: string, extra: Partial<CmdArgs> = {}): CmdArgs => ({
    containerId,
    netns: '/proc/self/ns/net',
    ifname: 'eth0',
    args: '',
    path: [],
    stdin: conf,
    ...extra,
  });
  const add = async (id: string, conf: string, extra: Partial<CmdArgs> = {}) =>
    (await plugin.add(ctx(), args(id, conf, extra))).ips?.map((i) => i.address);
  const addErr = (id: string, conf: string, extra: Partial<CmdArgs> = {}) =>
    plugin.add(ctx(), args(id, conf, extra)).then(
      () => assert.fail('ADD succeeded'),
      (e: Error) => e.message,
    );
  const files = () => readdirSync(dir).sort();
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');

  beforeEach(() => {
    dataDir = mkdtempSync('/tmp/thl-unit-');
    dir = join(dataDir, NET);
  });
  afterEach(() => rmSync(dataDir, {recursive: true, force: true}));

  it('allocates from rangeStart skipping the gateway, writes the reference store bytes and modes', async () => {
    const conf = stdin({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: 'fd00:211::/64'}]], routes: [{dst: '0.0.0.0/0'}]});
    const res = await plugin.add(ctx(), args('  dummy\n ', conf));
    assert.deepEqual(res.ips, [
      {address: '10.211.0.2/24', gateway: '10.211.0.1'},
      {address: 'fd00:211::2/64', gateway: 'fd00:211::1'},
    ]);
    assert.deepEqual(res.routes, [{dst: '0.0.0.0/0'}]);
    assert.equal('interface' in (res.ips?.[0] ?? {}), false);
    assert.deepEqual(files(), ['10.211.0.2', 'fd00:211::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    assert.equal(read('10.211.0.2'), 'dummy\r\neth0');
    assert.equal(read('last_reserved_ip.1'), 'fd00:211::2');
    assert.equal(statSync(join(dir, '10.211.0.2')).mode & 0o777, 0o644);
    assert.equal(statSync(join(dir, 'lock')).mode & 0o777, 0o750);
    assert.equal(statSync(dir).mode & 0o777, 0o755);
  });

  it('continues after last_reserved_ip, wraps, and never hands out network/broadcast/gateway', async () => {
    const conf = stdin({subnet: '10.211.0.0/29'});
    DiskStore.open(NET, dataDir);
    writeFileSync(join(dir, 'last_reserved_ip.0'), '10.211.0.5');
    assert.deepEqual(await add('c1', conf), ['10.211.0.6/29']);
    assert.deepEqual(await add('c2', conf), ['10.211.0.2/29']);
    for (const id of ['c3', 'c4', 'c5']) await add(id, conf);
    assert.deepEqual(
      files().filter((f) => f.startsWith('10.')),
      ['10.211.0.2', '10.211.0.3', '10.211.0.4', '10.211.0.5', '10.211.0.6'],
    );
    assert.equal(await addErr('c6', conf), 'failed to allocate for range 0: no IP addresses available in range set: 10.211.0.1-10.211.0.6');
    await plugin.del(ctx(), args('c3', conf));
    assert.deepEqual(await add('c7', conf), ['10.211.0.3/29'], 'the only free address (c3 had .3), reached last');
  });

  it('refuses a duplicate dynamic allocation but allows it on another ifname', async () => {
    const conf = stdin({subnet: '10.211.0.0/24'});
    await add('c1', conf);
    assert.equal(
      await addErr('c1', conf),
      'failed to allocate for range 0: 10.211.0.2 has been allocated to c1, duplicate allocation is not allowed',
    );
    assert.deepEqual(await add('c1', conf, {ifname: 'eth1'}), ['10.211.0.3/24']);
    await plugin.del(ctx(), args('c1', conf));
    assert.deepEqual(files(), ['10.211.0.3', 'last_reserved_ip.0', 'lock']);
  });

  it('serves requested IPs with the reference errors', async () => {
    const conf = stdin({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: 'fd00:211::/64'}]]});
    assert.deepEqual(await add('c1', conf, {args: 'IP=10.211.0.50'}), ['10.211.0.50/24', 'fd00:211::2/64']);
    assert.equal(read('last_reserved_ip.0'), '10.211.0.50');
    assert.equal(
      await addErr('c2', conf, {args: 'IP=10.211.0.1'}),
      "failed to allocate for range 0: requested ip 10.211.0.1 is subnet's gateway",
    );
    assert.equal(
      await addErr('c3', conf, {args: 'IP=10.211.0.50'}),
      'failed to allocate for range 0: requested IP address 10.211.0.50 is not available in range set 10.211.0.1-10.211.0.254',
    );
    assert.equal(await addErr('c4', conf, {args: 'IP=10.211.5.1'}), 'failed to allocate all requested IPs: 10.211.5.1');
    assert.deepEqual(
      await add(
        'c5',
        stdin({ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: 'fd00:211::/64'}]]}, {args: {cni: {ips: ['10.211.0.60', 'fd00:211::60']}}}),
      ),
      ['10.211.0.60/24', 'fd00:211::60/64'],
    );
    assert.deepEqual(
      files().filter((f) => !f.startsWith('l')),
      ['10.211.0.50', '10.211.0.60', 'fd00:211::2', 'fd00:211::60'],
      'failed ADDs left nothing',
    );
  });

  it('releases earlier sets when a later set is exhausted, keeping last_reserved_ip', async () => {
    const conf = stdin({
      ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: 'fd00:211::/120', rangeStart: 'fd00:211::10', rangeEnd: 'fd00:211::10'}]],
    });
    await add('c1', conf);
    assert.equal(
      await addErr('c2', conf),
      'failed to allocate for range 1: no IP addresses available in range set: fd00:211::10-fd00:211::10',
    );
    assert.deepEqual(files(), ['10.211.0.2', 'fd00:211::10', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    assert.equal(read('last_reserved_ip.0'), '10.211.0.3', 'never rolled back');
  });

  it('DEL is idempotent, releases legacy files, and CHECK reports a missing container', async () => {
    const conf = stdin({subnet: '10.211.0.0/24'});
    await plugin.del(ctx(), args('nobody', conf));
    assert.deepEqual(files(), ['lock'], 'DEL of a never-used network creates only the dir and lock');
    writeFileSync(join(dir, '10.211.0.9'), 'legacy\n');
    await plugin.check(ctx(), args('legacy', conf));
    await plugin.del(ctx(), args('legacy', conf));
    await plugin.del(ctx(), args('legacy', conf));
    assert.equal(existsSync(join(dir, '10.211.0.9')), false);
    await assert.rejects(plugin.check(ctx(), args('legacy', conf)), {
      message: 'host-local: Failed to find address added by container legacy',
    });
  });

  it('validates the network name before touching any file and uses paths.networksDir by default', async () => {
    const bad = JSON.stringify({cniVersion: '1.0.0', name: '../escape', ipam: {type: 'host-local', dataDir, subnet: '10.211.0.0/24'}});
    await assert.rejects(plugin.add(ctx(), args('c1', bad)), {code: 7, message: 'invalid characters found in network name'});
    assert.deepEqual(readdirSync(dataDir), []);
    const dflt = JSON.stringify({cniVersion: '1.0.0', name: NET, ipam: {type: 'host-local', subnet: '10.211.0.0/24'}});
    await plugin.add(ctx(), args('c1', dflt));
    assert.equal(existsSync(join(dataDir, 'default', NET, '10.211.0.2')), true);
    assert.throws(() => DiskStore.open('..', dataDir), /invalid characters/);
  });

  it('parses resolvConf into dns', async () => {
    const rc = join(dataDir, 'resolv.conf');
    writeFileSync(
      rc,
      '# c\nnameserver 10.211.0.53\n; x\nnameserver 10.211.0.54\nsearch a.thl b.thl\noptions ndots:2\ndomain thl.local\nbogus\n',
    );
    const res = await plugin.add(ctx(), args('c1', stdin({subnet: '10.211.0.0/24', resolvConf: rc})));
    assert.deepEqual(res.dns, {
      nameservers: ['10.211.0.53', '10.211.0.54'],
      search: ['a.thl', 'b.thl'],
      options: ['ndots:2'],
      domain: 'thl.local',
    });
    await assert.rejects(plugin.add(ctx(), args('c2', stdin({subnet: '10.211.0.0/24', resolvConf: join(dataDir, 'nope')}))), {
      message: `open ${join(dataDir, 'nope')}: no such file or directory`,
    });
  });
});

describe('RangeIter (reference RangeIter tests on a /29)', () => {
  const set = canonicalizeRangeSet([raw('10.211.0.0/29')]);
  const walk = (last?: string) => {
    const it = new RangeIter(set, last ? ip(last) : undefined);
    const out: string[] = [];
    for (let a = it.next(); a; a = it.next()) out.push(ipString(a.ip));
    return out;
  };
  it('loops from the beginning, skipping the gateway', () =>
    assert.deepEqual(walk(), ['10.211.0.2', '10.211.0.3', '10.211.0.4', '10.211.0.5', '10.211.0.6']));
  it('loops from the end', () =>
    assert.deepEqual(walk('10.211.0.6'), ['10.211.0.2', '10.211.0.3', '10.211.0.4', '10.211.0.5', '10.211.0.6']));
  it('loops from the middle, ending at the last reserved IP', () =>
    assert.deepEqual(walk('10.211.0.3'), ['10.211.0.4', '10.211.0.5', '10.211.0.6', '10.211.0.2', '10.211.0.3']));
  it('ignores a last reserved IP outside the set', () => assert.deepEqual(walk('10.211.9.9')[0], '10.211.0.2'));
  it('walks several ranges with wrap-around and each range gateway', () => {
    const multi = canonicalizeRangeSet([raw('10.211.0.0/30'), raw('10.211.1.0/30', {gateway: '10.211.1.2'})]);
    const it = new RangeIter(multi, ip('10.211.0.2'));
    const out: string[] = [];
    for (let a = it.next(); a; a = it.next()) out.push(ipString(a.ip));
    assert.deepEqual(out, ['10.211.1.1', '10.211.0.2']);
  });
  it('walks IPv6 across the rangeEnd', () => {
    const v6 = canonicalizeRangeSet([raw('fd00:211::/120', {rangeStart: 'fd00:211::fe'})]);
    const it = new RangeIter(v6);
    const out: string[] = [];
    for (let a = it.next(); a; a = it.next()) out.push(ipString(a.ip));
    assert.deepEqual(out, ['fd00:211::fe', 'fd00:211::ff']);
  });
});

describe('hasFreeAddress', () => {
  it('a range set has a free address while fewer than its addresses (less the gateway) are reserved', () => {
    const set = canonicalizeRangeSet([{subnet: parseCidr('10.1.2.0/29'), rangeStart: parseIP('10.1.2.1'), rangeEnd: parseIP('10.1.2.3')}]);
    const ips = (...l: string[]) => l.map((x) => parseIP(x)!);
    assert.equal(hasFreeAddress(set, ips('10.1.2.2')), true);
    assert.equal(hasFreeAddress(set, ips('10.1.2.2', '10.1.2.3')), false, 'the gateway 10.1.2.1 is never handed out');
    assert.equal(
      hasFreeAddress(set, ips('10.1.2.2', '10.1.2.2', '10.1.2.5', '10.9.9.9')),
      true,
      'duplicates and addresses outside the set do not count',
    );
  });
});
