import {strict as assert} from 'node:assert';
import {spawn, spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {DiskStore} from '../../src/ipam/host-local/store.js';

/**
 * Our host-local (through the test runner and src/cni/skel.ts) against the
 * reference /usr/lib/cni/host-local, on shared and mirrored stores.
 */
type Impl = 'ours' | 'ref';
const REF_BIN = '/usr/lib/cni/host-local';
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = join(DIST, '..');
let runner = '';

/**
 * Other engineers' `tsc` runs rewrite dist/ while we test, and a process that
 * loads a half-written module fails. Run our plugin from a private copy.
 */
function snapshotRunner(): string {
  for (let attempt = 0; attempt < 5; attempt++) {
    const root = mkdtempSync('/tmp/thl-dist-');
    cpSync(join(DIST, 'src'), join(root, 'dist/src'), {recursive: true});
    cpSync(join(DIST, 'test/helpers'), join(root, 'dist/test/helpers'), {recursive: true});
    cpSync(join(PROJECT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(PROJECT, 'node_modules'), join(root, 'node_modules'));
    const file = join(root, 'dist/test/helpers/run-plugin.js');
    const probe = spawnSync(process.execPath, [file, 'host-local'], {env: {CNI_COMMAND: 'VERSION'}, encoding: 'utf8'});
    const loads = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(join(root, 'dist/src/ipam/host-local/index.js'))})`], {
      encoding: 'utf8',
    });
    if (probe.status === 0 && loads.status === 0) return file;
    rmSync(root, {recursive: true, force: true});
  }
  throw new Error('could not take a consistent copy of dist/');
}

interface Run {
  stdout: string;
  code: number | null;
  ms: number;
}

interface RunOpts {
  args?: string;
  ifname?: string;
}

function start(impl: Impl, cmd: string, id: string, conf: string, opts: RunOpts = {}): {done: Promise<Run>; exited: () => boolean} {
  const [file, argv] = impl === 'ref' ? [REF_BIN, []] : [process.execPath, [runner, 'host-local']];
  const env: Record<string, string> = {
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: id,
    CNI_NETNS: '/proc/self/ns/net',
    CNI_IFNAME: opts.ifname ?? 'eth0',
    CNI_PATH: '/usr/lib/cni',
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  if (opts.args) env.CNI_ARGS = opts.args;
  const t0 = Date.now();
  const child = spawn(file, argv, {env, stdio: ['pipe', 'pipe', 'pipe']});
  let stdout = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.resume();
  child.stdin.end(conf);
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      resolve({stdout, code, ms: Date.now() - t0});
    });
  });
  return {done, exited: () => exited};
}

const run = (impl: Impl, cmd: string, id: string, conf: string, opts: RunOpts = {}) => start(impl, cmd, id, conf, opts).done;
const msg = (r: Run) => (JSON.parse(r.stdout) as {msg: string}).msg;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** name → [mode, content] of every file in a store directory. */
function snapshot(dir: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const f of readdirSync(dir).sort())
    out[f] = [(statSync(join(dir, f)).mode & 0o7777).toString(8), readFileSync(join(dir, f), 'latin1')];
  return out;
}

describe('host-local against the reference binary (integration)', function () {
  this.timeout(120000);
  const dirs: string[] = [];
  const newDataDir = () => {
    const d = mkdtempSync('/tmp/thl-int-');
    dirs.push(d);
    return d;
  };
  const conf = (name: string, dataDir: string, ipam: Record<string, unknown>, cniVersion = '1.0.0') =>
    JSON.stringify({cniVersion, name, type: 'bridge', ipam: {type: 'host-local', dataDir, ...ipam}});

  before(() => {
    if (process.getuid?.() !== 0) throw new Error('host-local integration tests must run as root');
    statSync(REF_BIN);
    runner = snapshotRunner();
  });
  after(() => {
    for (const d of dirs) rmSync(d, {recursive: true, force: true});
    if (runner) rmSync(join(runner, '../../../..'), {recursive: true, force: true});
  });

  it('produces byte-identical stdout and store files to the reference for the same sequence', async () => {
    const [dRef, dOurs] = [newDataDir(), newDataDir()];
    const ipam = {
      ranges: [
        [{subnet: '10.211.1.0/29'}, {subnet: '10.211.2.0/29', gateway: '10.211.2.6'}],
        [{subnet: 'fd00:211::/120', rangeStart: 'fd00:211::10', rangeEnd: 'fd00:211::12'}],
      ],
      routes: [{dst: '0.0.0.0/0'}, {dst: '::/0'}, {dst: '10.211.9.3/24', gw: '10.211.1.1', priority: 100}],
    };
    const steps: [string, string, RunOpts, string?][] = [
      ['ADD', 'thlc1', {}],
      ['ADD', 'thlc2', {args: 'IgnoreUnknown=1;IP=10.211.2.3'}],
      ['ADD', 'thlc3', {}],
      ['ADD', 'thlc4', {}],
      ['DEL', 'thlc2', {}],
      ['ADD', 'thlc4', {}],
      ['ADD', 'thlc1', {}],
      ['ADD', 'thlc5', {args: 'IP=10.211.1.1'}],
      ['ADD', 'thlc6', {args: 'IP=10.211.7.1'}],
      ['CHECK', 'thlc1', {}],
      ['CHECK', 'thlzz', {}],
      ['ADD', 'thlc7', {}, '0.2.0'],
      ['ADD', 'thlc1', {ifname: 'eth1'}, '0.4.0'],
      ['DEL', 'thlc3', {}],
      ['DEL', 'thlc3', {}],
    ];
    for (const [cmd, id, opts, ver] of steps) {
      const ipamFor = (d: string) => (ver === '0.2.0' ? conf('thlsame', d, {subnet: '10.211.1.0/29'}, ver) : conf('thlsame', d, ipam, ver));
      const ref = await run('ref', cmd, id, ipamFor(dRef), opts);
      const ours = await run('ours', cmd, id, ipamFor(dOurs), opts);
      const label = `${cmd} ${id} ${JSON.stringify(opts)}`;
      assert.equal(ours.stdout, ref.stdout, label);
      assert.equal(ours.code === 0, ref.code === 0, label);
      assert.deepEqual(snapshot(join(dOurs, 'thlsame')), snapshot(join(dRef, 'thlsame')), label);
    }
    assert.ok(Object.keys(snapshot(join(dRef, 'thlsame'))).length >= 6, 'the sequence left allocations to compare');
  });

  it('gives the reference error text for invalid configs', async () => {
    const d = newDataDir();
    const bad: [Record<string, unknown>, string, string?][] = [
      [
        {subnet: '10.211.0.1/24'},
        'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.211.0.0',
      ],
      [{subnet: '10.211.0.0/31'}, 'invalid range set 0: Network 10.211.0.0/31 too small to allocate from'],
      [{routes: [{dst: '0.0.0.0/0'}]}, 'no IP ranges specified'],
      [{ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: '10.211.0.0/25'}]]}, 'range set 0 overlaps with 1'],
      [{ranges: [[{subnet: '10.211.0.0/24'}, {subnet: 'fd00:211::/64'}]]}, 'invalid range set 0: mixed address families'],
      [
        {subnet: '10.211.0.0/24', rangeStart: '10.211.0.50', rangeEnd: '10.211.0.40'},
        'invalid range set 0: RangeStart 10.211.0.50 not in network 10.211.0.0/24',
      ],
      [
        {ranges: [[{subnet: '10.211.0.0/24'}], [{subnet: '10.211.1.0/24'}]]},
        'CNI version 0.2.0 does not support more than 1 address per family',
        '0.2.0',
      ],
    ];
    for (const [ipam, text, ver] of bad) {
      const c = conf('thlbad', d, ipam, ver);
      const [ref, ours] = [await run('ref', 'ADD', 'thlb1', c), await run('ours', 'ADD', 'thlb1', c)];
      assert.equal(msg(ref), text);
      assert.equal(ours.stdout, ref.stdout);
      assert.equal(ours.code, 1);
    }
    const noIpam = JSON.stringify({cniVersion: '1.0.0', name: 'thlbad', type: 'bridge'});
    const [ref, ours] = [await run('ref', 'ADD', 'thlb1', noIpam), await run('ours', 'ADD', 'thlb1', noIpam)];
    assert.equal(msg(ref), "IPAM config missing 'ipam' key");
    assert.equal(ours.stdout, ref.stdout);
  });

  it('exhaustion of a small range gives the reference error and allocates nothing', async () => {
    const d = newDataDir();
    const c = conf('thlsmall', d, {subnet: '10.211.3.0/30'});
    assert.equal((await run('ref', 'ADD', 'thls1', c)).code, 0);
    const before = snapshot(join(d, 'thlsmall'));
    const ours = await run('ours', 'ADD', 'thls2', c);
    const ref = await run('ref', 'ADD', 'thls3', c);
    assert.equal(msg(ours), 'failed to allocate for range 0: no IP addresses available in range set: 10.211.3.1-10.211.3.2');
    assert.equal(ours.stdout, ref.stdout.replace('thls3', 'thls2'));
    assert.deepEqual(snapshot(join(d, 'thlsmall')), before);
  });

  it('refuses a static IP= outside the range and returns one v4 + one v6 for dual-stack', async () => {
    const d = newDataDir();
    const c = conf('thldual', d, {ranges: [[{subnet: '10.211.4.0/24'}], [{subnet: 'fd00:211::/64'}]]});
    const out = await run('ours', 'ADD', 'thld1', c, {args: 'IP=10.211.5.1'});
    assert.equal(msg(out), 'failed to allocate all requested IPs: 10.211.5.1');
    assert.deepEqual(
      Object.keys(snapshot(join(d, 'thldual'))).filter((f) => !f.startsWith('l')),
      [],
    );
    const ok = await run('ours', 'ADD', 'thld2', c);
    const ips = (JSON.parse(ok.stdout) as {ips: {address: string}[]}).ips.map((i) => i.address);
    // .2/::2 went to the failed ADD and were released; last_reserved_ip is never rolled back.
    assert.deepEqual(ips, ['10.211.4.3/24', 'fd00:211::3/64']);
  });

  it('our lock excludes the reference binary, and flock(1) excludes us', async () => {
    const d = newDataDir();
    const c = conf('thllock', d, {subnet: '10.211.6.0/24'});
    const store = DiskStore.open('thllock', d);
    const held = await store.lock();
    const ref = start('ref', 'ADD', 'thll1', c);
    await sleep(800);
    assert.equal(ref.exited(), false, 'reference ADD must block while we hold the lock');
    assert.deepEqual(Object.keys(snapshot(store.dir)), ['lock']);
    held.release();
    const r = await ref.done;
    assert.equal(r.code, 0, r.stdout);
    assert.ok(r.ms >= 800);
    assert.ok(Object.keys(snapshot(store.dir)).includes('10.211.6.2'));

    const holder = spawn('flock', [join(store.dir, 'lock'), 'sleep', '1'], {stdio: 'ignore'});
    const holderDone = new Promise((res) => holder.on('close', res));
    await sleep(150);
    const ours = await run('ours', 'ADD', 'thll2', c);
    await holderDone;
    assert.equal(ours.code, 0, ours.stdout);
    assert.ok(ours.ms >= 700, `our ADD returned after ${ours.ms} ms while flock(1) held the lock`);
  });

  it('reference ADD → our CHECK/DEL, and our ADD → reference CHECK/DEL', async () => {
    const d = newDataDir();
    const c = conf('thlx', d, {subnet: '10.211.7.0/24'}, '0.4.0');
    assert.equal((await run('ref', 'ADD', 'thlx1', c)).code, 0);
    assert.equal((await run('ours', 'ADD', 'thlx2', c)).code, 0);
    assert.equal((await run('ours', 'CHECK', 'thlx1', c)).code, 0);
    assert.equal((await run('ref', 'CHECK', 'thlx2', c)).code, 0);
    assert.equal((await run('ours', 'DEL', 'thlx1', c)).code, 0);
    assert.equal((await run('ref', 'DEL', 'thlx2', c)).code, 0);
    assert.deepEqual(Object.keys(snapshot(join(d, 'thlx'))), ['last_reserved_ip.0', 'lock']);
  });

  it('64 concurrent ADDs (32 ours + 32 reference) get 64 distinct addresses; 64 DELs leave lock + last_reserved_ip', async () => {
    const d = newDataDir();
    const c = conf('thlconc', d, {subnet: '10.211.8.0/24'});
    const jobs = Array.from({length: 64}, (_, i) => ({impl: (i % 2 ? 'ref' : 'ours') as Impl, id: `thlconc${i}`}));
    const adds = await Promise.all(jobs.map((j) => run(j.impl, 'ADD', j.id, c)));
    for (const [i, r] of adds.entries()) assert.equal(r.code, 0, `${jobs[i].impl} ${jobs[i].id}: ${r.stdout}`);
    const addrs = adds.map((r) => (JSON.parse(r.stdout) as {ips: {address: string}[]}).ips[0].address);
    assert.equal(new Set(addrs).size, 64);
    const files = snapshot(join(d, 'thlconc'));
    const ipFiles = Object.keys(files).filter((f) => f.startsWith('10.'));
    assert.equal(ipFiles.length, 64);
    assert.deepEqual(ipFiles.map((f) => `${f}/24`).sort(), [...addrs].sort());
    for (const [i, a] of addrs.entries()) assert.equal(files[a.split('/')[0]][1], `${jobs[i].id}\r\neth0`);
    // each DEL by the other implementation
    const dels = await Promise.all(jobs.map((j) => run(j.impl === 'ref' ? 'ours' : 'ref', 'DEL', j.id, c)));
    for (const r of dels) assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(Object.keys(snapshot(join(d, 'thlconc'))), ['last_reserved_ip.0', 'lock']);
    console.log(
      `      measured: ${new Set(addrs).size} distinct addresses, ${ipFiles.length} store files, ${Object.keys(snapshot(join(d, 'thlconc'))).length} files after DEL`,
    );
  });
});
