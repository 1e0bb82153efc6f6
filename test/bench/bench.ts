/**
 * `npm run bench`: cni-docker against the seed's workflow, side by side in one
 * run on the same containers (not part of npm test; needs root and Docker).
 *
 *  (a) seed:   `docker inspect` for Id and SandboxKey, then the reference
 *              /usr/lib/cni/bridge ADD with the seed's bridge config; later DEL.
 *  (b) ours:   `cni-docker attach C --conf F`, later `cni-docker detach C --conf F`.
 *  (c) bulk:   `cni-docker attach` / `detach` of N containers in one call each,
 *              against (a) in a loop over the same N.
 *  (b') and (c') the same with the resident service running
 *              (`cni-docker service start`, on a socket of this run): the
 *              commands go through bin/cni-docker-client. (b) and (c) run with
 *              CNI_DOCKER_NO_SERVICE=1, so a service running on this machine
 *              does not change them.
 *
 * Every attach is checked (its addresses present in the container's netns, and
 * gone after detach) before a round counts. Both sides share one config file,
 * bridge and host-local dataDir. Wall clock is measured around each process;
 * peak RSS comes from GNU time (for the service, its VmHWM). Env: BENCH_CONTAINERS (50), BENCH_ROUNDS (7),
 * BENCH_BULK_ROUNDS (3), BENCH_STARTUP_RUNS (10).
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {BENCH_BRIDGE, benchConf, median, run, timed, type Timed} from './measure.js';
import {mapLimit} from '../../src/util/concurrency.js';
import {bundleIsStale} from '../../src/cli/bundle-loader.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The command npm links, run as a user runs it. */
const CLI = [join(ROOT, 'bin/cni-docker')];
const REF = '/usr/lib/cni';
const IMAGE = 'cni-docker/busybox:test';
const LABEL = 'cni-docker-bench=1';
const BRIDGE = BENCH_BRIDGE;
const IFNAME = 'eth0';
const num = (k: string, d: number): number => Number(process.env[k] ?? d);
const N = num('BENCH_CONTAINERS', 50);
const ROUNDS = num('BENCH_ROUNDS', 7);
const BULK_ROUNDS = num('BENCH_BULK_ROUNDS', 3);
const STARTUP_RUNS = num('BENCH_STARTUP_RUNS', 10);

const dir = mkdtempSync(join(tmpdir(), 'bench-'));
const confFile = join(dir, 'benchnet.conf');
const conf = benchConf(dir);
const names = Array.from({length: N}, (_, i) => `bench-${String(i).padStart(2, '0')}`);
const sandbox = new Map<string, {id: string; netns: string}>();

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root');
  for (const f of [`${REF}/bridge`, `${REF}/host-local`, '/usr/bin/time', join(ROOT, 'dist/src/cli/fast-path.js')]) {
    if (!existsSync(f)) throw new Error(`missing ${f} (run bin/setup and npm run build)`);
  }
  // A tsc run after the last build leaves the start-up bundle behind: the CLI would run unbundled.
  if (bundleIsStale(ROOT)) throw new Error('the start-up bundle is older than dist/src (run npm run build)');
}

/** The IPv4 addresses (CIDR) on IFNAME in a netns; [] when the link is absent. */
async function addrsIn(netns: string): Promise<string[]> {
  const out = await run(['nsenter', `--net=${netns}`, '--', 'ip', '-j', '-4', 'addr', 'show']);
  const links = JSON.parse(out || '[]') as {ifname: string; addr_info: {local: string; prefixlen: number}[]}[];
  return (links.find((l) => l.ifname === IFNAME)?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

async function expectAttached(name: string, netns: string, want: string[]): Promise<void> {
  const have = await addrsIn(netns);
  if (want.length === 0 || !want.every((a) => have.includes(a))) throw new Error(`${name}: attach reported ${want.join(',') || 'no address'} but ${IFNAME} has ${have.join(',') || 'nothing'}`);
}

async function expectDetached(name: string, netns: string): Promise<void> {
  const have = await addrsIn(netns);
  if (have.length > 0) throw new Error(`${name}: ${IFNAME} still has ${have.join(',')} after detach`);
}

// ---- (a) the seed's workflow --------------------------------------------------

function pluginEnv(cmd: string, id: string, netns: string): NodeJS.ProcessEnv {
  return {...process.env, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: IFNAME, CNI_PATH: REF};
}

/** docker inspect + bridge ADD; returns the time and the addresses the plugin reported. */
async function seedAdd(name: string): Promise<{ms: number; addrs: string[]}> {
  const insp = await timed(['docker', 'inspect', name]);
  const [info] = JSON.parse(insp.stdout) as {Id: string; NetworkSettings: {SandboxKey: string}}[];
  const add = await timed([`${REF}/bridge`], {input: conf, env: pluginEnv('ADD', info.Id, info.NetworkSettings.SandboxKey)});
  const res = JSON.parse(add.stdout) as {ip4?: {ip: string}; ips?: {address: string}[]};
  return {ms: insp.ms + add.ms, addrs: res.ips ? res.ips.map((i) => i.address) : res.ip4 ? [res.ip4.ip] : []};
}

async function seedDel(name: string): Promise<number> {
  const s = sandbox.get(name)!;
  return (await timed([`${REF}/bridge`], {input: conf, env: pluginEnv('DEL', s.id, s.netns)})).ms;
}

/** (a) for a list of containers, one after another: all ADDs, checks, then all DELs. */
async function seedLoop(list: string[]): Promise<{attach: number; detach: number}> {
  let attach = 0;
  let detach = 0;
  const got: string[][] = [];
  for (const n of list) {
    const r = await seedAdd(n);
    attach += r.ms;
    got.push(r.addrs);
  }
  await mapLimit(list, 8, (n, i) => expectAttached(n, sandbox.get(n)!.netns, got[i]));
  for (const n of list) detach += await seedDel(n);
  await mapLimit(list, 8, (n) => expectDetached(n, sandbox.get(n)!.netns));
  return {attach, detach};
}

// ---- (b)/(c) cni-docker -------------------------------------------------------

interface Ours {
  attach: Timed;
  detach: Timed;
}

/** The environment our commands run with: plain (b)/(c), or through the service (b')/(c'). */
const plainEnv: NodeJS.ProcessEnv = {...process.env, CNI_DOCKER_NO_SERVICE: '1'};
const serviceSocket = join(dir, 'service.sock');
const serviceEnv: NodeJS.ProcessEnv = {...process.env, CNI_DOCKER_SERVICE_SOCKET: serviceSocket};
delete serviceEnv.CNI_DOCKER_NO_SERVICE;
let cliEnv = plainEnv;

async function ours(list: string[]): Promise<Ours> {
  const attach = await timed([...CLI, 'attach', ...list, '--conf', confFile, '--json'], {env: cliEnv});
  const out = JSON.parse(attach.stdout) as {done: {container: string; netns: string; addresses: string[]}[]; failures: {message: string}[]};
  if (out.failures.length > 0) throw new Error(`attach failed: ${out.failures.map((f) => f.message).join('; ')}`);
  if (out.done.length !== list.length) throw new Error(`attach returned ${out.done.length} of ${list.length} attachments`);
  await mapLimit(out.done, 8, (a) => expectAttached(a.container, a.netns, a.addresses));
  const detach = await timed([...CLI, 'detach', ...list, '--conf', confFile], {env: cliEnv});
  await mapLimit(list, 8, (n) => expectDetached(n, sandbox.get(n)!.netns));
  return {attach, detach};
}

interface ServiceInfo {
  pid: number;
  requests: number;
}

async function serviceStatus(): Promise<ServiceInfo> {
  return JSON.parse(await run([...CLI, 'service', 'status', '--socket', serviceSocket, '--json'])) as ServiceInfo;
}

/** Peak resident set of a running process (VmHWM), in kB. */
function peakRssKb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

// ---- set-up, rounds, report ------------------------------------------------------

async function cleanup(): Promise<void> {
  const ids = (await run(['docker', 'ps', '-aq', '--filter', `label=${LABEL}`]).catch(() => '')).split('\n').filter(Boolean);
  await run([...CLI, 'service', 'stop', '--socket', serviceSocket]).catch(() => '');
  if (sandbox.size > 0) {
    await run([...CLI, 'detach', ...sandbox.keys(), '--conf', confFile]).catch(() => '');
    for (const [, s] of sandbox) await timed([`${REF}/bridge`], {input: conf, env: pluginEnv('DEL', s.id, s.netns)}).catch(() => undefined);
  }
  if (ids.length > 0) await run(['docker', 'rm', '-f', ...ids]).catch(() => '');
  await run(['ip', 'link', 'del', BRIDGE]).catch(() => '');
  rmSync(dir, {recursive: true, force: true});
}

async function startContainers(): Promise<void> {
  await mapLimit(names, 4, async (n) => {
    await run(['docker', 'rm', '-f', n]).catch(() => '');
    await run(['docker', 'run', '-d', '--name', n, '--label', LABEL, '--net=none', IMAGE, 'sleep', '3600']);
  });
  const out = JSON.parse(await run(['docker', 'inspect', ...names])) as {Id: string; Name: string; NetworkSettings: {SandboxKey: string}}[];
  for (const c of out) sandbox.set(c.Name.replace(/^\//, ''), {id: c.Id, netns: c.NetworkSettings.SandboxKey});
}

const fmt = (ms: number): string => `${ms.toFixed(0).padStart(6)} ms`;
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

/**
 * Median wall time of a bare Node start in this run, as our fast-path commands
 * get it: the launcher starts Node without NODE_EXTRA_CA_CERTS for them
 * (bin/cni-docker). The floor of any command of ours.
 */
let nodeStart = 0;

async function startup(): Promise<void> {
  const base: number[] = [];
  const bare: number[] = [];
  const version: number[] = [];
  const oclif: number[] = [];
  const help: number[] = [];
  const {NODE_EXTRA_CA_CERTS: ca, ...clean} = process.env;
  for (let i = 0; i < STARTUP_RUNS; i++) {
    base.push((await timed([process.execPath, '-e', '0'])).ms);
    if (ca !== undefined) bare.push((await timed([process.execPath, '-e', '0'], {env: clean})).ms);
    version.push((await timed([...CLI, '--version'])).ms);
    oclif.push((await timed([...CLI, '--version'], {env: {...process.env, CNI_DOCKER_NO_FAST: '1'}})).ms);
    help.push((await timed([...CLI, '--help'])).ms);
  }
  nodeStart = median(bare.length ? bare : base);
  console.log(`\nStart-up (median of ${STARTUP_RUNS}):`);
  if (ca !== undefined) {
    console.log(`  node -e 0 (NODE_EXTRA_CA_CERTS set)      ${fmt(median(base))}   (Node parses that CA bundle at every start)`);
    console.log(`  node -e 0 without it                     ${fmt(nodeStart)}   (how bin/cni-docker starts Node for attach, detach, list, --version)`);
  } else {
    console.log(`  node -e 0                                ${fmt(nodeStart)}`);
  }
  console.log(`  cni-docker --version                     ${fmt(median(version))}   (${signed(median(version) - nodeStart)} ms over the bare Node start)`);
  console.log(`  cni-docker --version via oclif           ${fmt(median(oclif))}   (CNI_DOCKER_NO_FAST=1, the path without the fast start)`);
  console.log(`  cni-docker --help (oclif)                ${fmt(median(help))}`);
}

const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(0)}`;

interface Figures {
  seed: number[];
  seedA: number[];
  seedD: number[];
  ours: number[];
  oursA: number[];
  oursD: number[];
  rss: number;
}

/** `n` rounds of (a) and ours on the containers `list(r)`, alternating which side goes first. */
async function rounds(n: number, list: (r: number) => string[]): Promise<Figures> {
  const f: Figures = {seed: [], seedA: [], seedD: [], ours: [], oursA: [], oursD: [], rss: 0};
  for (let r = 0; r < n; r++) {
    const c = list(r);
    const doSeed = async (): Promise<void> => {
      const s = await seedLoop(c);
      f.seed.push(s.attach + s.detach);
      f.seedA.push(s.attach);
      f.seedD.push(s.detach);
    };
    const doOurs = async (): Promise<void> => {
      const o = await ours(c);
      f.ours.push(o.attach.ms + o.detach.ms);
      f.oursA.push(o.attach.ms);
      f.oursD.push(o.detach.ms);
      f.rss = Math.max(f.rss, o.attach.rssKb, o.detach.rssKb);
    };
    if (r % 2) await doOurs().then(doSeed);
    else await doSeed().then(doOurs);
  }
  return f;
}

function report(mark: string, who: string, single: Figures, bulk: Figures): void {
  const ratio1 = median(single.ours) / median(single.seed);
  const ratioN = median(bulk.ours) / median(bulk.seed);
  const w = (t: string): string => t.padEnd(46);
  console.log(`\nSingle container, attach + detach (median of ${ROUNDS}; every attach verified):`);
  console.log(`  ${w('(a) seed: docker inspect + bridge ADD')}${fmt(median(single.seedA))}   DEL    ${fmt(median(single.seedD))}   total ${fmt(median(single.seed))}`);
  console.log(`  ${w(`(b${mark}) ${who} attach`)}${fmt(median(single.oursA))}   detach ${fmt(median(single.oursD))}   total ${fmt(median(single.ours))}`);
  console.log(`  ratio (b${mark})/(a) ${ratio1.toFixed(2)}x   target <= 1.5x: ${verdict(ratio1 <= 1.5)}   peak RSS of our command ${mb(single.rss)}`);
  if (!mark) console.log(`  (our two bare Node starts, 2 x ${nodeStart.toFixed(0)} ms = ${fmt(2 * nodeStart)}, are ${((2 * nodeStart) / median(single.seed)).toFixed(2)}x the seed on their own)`);
  console.log(`\n${N} containers, attach + detach (median of ${BULK_ROUNDS}; every attach verified):`);
  console.log(`  ${w(`(a) seed loop: ${N}x (inspect + ADD)`)}${fmt(median(bulk.seedA))}   ${N}x DEL ${fmt(median(bulk.seedD))}   total ${fmt(median(bulk.seed))}`);
  console.log(`  ${w(`(c${mark}) ${who}, one call each`)}${fmt(median(bulk.oursA))}   detach ${fmt(median(bulk.oursD))}   total ${fmt(median(bulk.ours))}`);
  console.log(`  ratio (c${mark})/(a) ${ratioN.toFixed(2)}x   target <= 0.35x: ${verdict(ratioN <= 0.35)}`);
  console.log(`  peak RSS of our ${N}-container command ${mb(bulk.rss)}   target < 150 MB: ${verdict(bulk.rss < 150 * 1024)}`);
}

async function main(): Promise<number> {
  preflight();
  writeFileSync(confFile, conf);
  console.log(`cni-docker benchmark: ${N} containers, ${ROUNDS} single rounds, ${BULK_ROUNDS} bulk rounds, node ${process.version}, conf ${confFile}`);
  await startContainers();
  await startup();

  // Warm-up (not counted): the bridge exists for both sides from here on.
  await seedLoop([names[0]]);
  await ours([names[0]]);

  const single = await rounds(ROUNDS, (r) => [names[r % names.length]]);
  const bulk = await rounds(BULK_ROUNDS, () => names);
  report('', 'cni-docker', single, bulk);

  // The same with the service running; every command must have been served by it.
  await run([...CLI, 'service', 'start', '--socket', serviceSocket, '--log', join(dir, 'service.log')]);
  cliEnv = serviceEnv;
  await ours([names[0]]);
  const before = await serviceStatus();
  const singleS = await rounds(ROUNDS, (r) => [names[r % names.length]]);
  const bulkS = await rounds(BULK_ROUNDS, () => names);
  const after = await serviceStatus();
  const expected = 2 * (ROUNDS + BULK_ROUNDS);
  if (after.pid !== before.pid || after.requests - before.requests !== expected) {
    throw new Error(`the service served ${after.requests - before.requests} of the ${expected} commands (pid ${before.pid} -> ${after.pid})`);
  }
  console.log(`\nWith the resident service (cni-docker service start; pid ${after.pid} served all ${expected} timed commands):`);
  report("'", 'cni-docker via service', singleS, bulkS);
  console.log(`  peak RSS of the service process ${mb(peakRssKb(after.pid))}   target < 150 MB: ${verdict(peakRssKb(after.pid) < 150 * 1024)}`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await cleanup();
}
process.exitCode = code;
