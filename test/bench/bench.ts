/**
 * `npm run bench`: cni-docker against what a user would otherwise type, side by
 * side in one run on the same running containers (not part of npm test; needs
 * root and Docker).
 *
 *  (a) seed:   `docker inspect` for Id and SandboxKey, then the reference
 *              /usr/lib/cni/bridge ADD with the seed's bridge config; later DEL.
 *  (b) ours:   `cni-docker attach C --conf F`, later `cni-docker detach C --conf F`.
 *  (d) docker: `docker network connect NET C`, later `docker network disconnect`,
 *              NET a user-defined bridge network with a subnet.
 *  (c) bulk:   `cni-docker attach` / `detach` of N containers in one call each,
 *              against (a) and (d) in a loop over the same N.
 *  growth:     attach, detach and list with 0, 500 and 1,000 attachments on one
 *              network, beside the reference ADD/DEL (test/bench/growth.ts).
 *  watch:      start event to interface up under `cni-docker watch`
 *              (test/bench/watch-latency.ts).
 *
 * The containers run on Docker's default network (so Docker can connect them to
 * another); every side adds and removes their second interface, IFNAME. Every
 * attach is checked (its addresses present in the container's netns, and gone
 * after detach) before a round counts; the sides alternate which goes first.
 * (a) and (b) share one config file, bridge and host-local dataDir. Wall clock
 * is measured around each process, peak RSS with GNU time. Every process runs
 * without NODE_EXTRA_CA_CERTS: the test machines set it, our users rarely do,
 * and it would add the same CA parsing to every Node start (ours) but not to
 * Go (docker, the reference plugins). Env: BENCH_ONLY (side,growth,watch),
 * BENCH_CONTAINERS (50), BENCH_ROUNDS (7), BENCH_BULK_ROUNDS (3),
 * BENCH_STARTUP_RUNS (10), GROWTH_TARGETS (1000), GROWTH_ROUNDS (9),
 * WATCH_STARTS (20).
 */
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {BENCH_BRIDGE, benchConf, median, run, timed, type Timed} from './measure.js';
import {mapLimit} from '../../src/util/concurrency.js';
import {ipamIndexDir, resolveStateRoot, statePaths} from '../../src/deps.js';
import {pruneIndexes} from '../../src/ipam/host-local/reservation-index.js';
import {growthReport, growthRun} from './growth.js';
import {watchReport, watchRun} from './watch-latency.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The command npm links, run as a user runs it. */
const CLI = [join(ROOT, 'bin/cni-docker')];
const REF = '/usr/lib/cni';
const IMAGE = 'cni-docker/busybox:test';
const LABEL = 'cni-docker-bench=1';
const BRIDGE = BENCH_BRIDGE;
const IFNAME = 'eth1';
/** The user-defined Docker network of (d). */
const DOCKER_NET = 'cni-docker-bench';
const DOCKER_SUBNET = '10.217.0.0/16';
const DOCKER_PREFIX = '10.217.';
const num = (k: string, d: number): number => Number(process.env[k] ?? d);
const N = num('BENCH_CONTAINERS', 50);
const ROUNDS = num('BENCH_ROUNDS', 7);
const BULK_ROUNDS = num('BENCH_BULK_ROUNDS', 3);
const STARTUP_RUNS = num('BENCH_STARTUP_RUNS', 10);

/** Every timed process's environment: this one without NODE_EXTRA_CA_CERTS (see above). */
const benchEnv: NodeJS.ProcessEnv = {...process.env};
delete benchEnv.NODE_EXTRA_CA_CERTS;

const dir = mkdtempSync(join(tmpdir(), 'bench-'));
const confFile = join(dir, 'benchnet.conf');
const conf = benchConf(dir);
const names = Array.from({length: N}, (_, i) => `bench-${String(i).padStart(2, '0')}`);
const sandbox = new Map<string, {id: string; netns: string}>();

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root');
  for (const f of [`${REF}/bridge`, `${REF}/host-local`, '/usr/bin/time', join(ROOT, 'dist/cni-docker.cjs')]) {
    if (!existsSync(f)) throw new Error(`missing ${f} (run bin/setup and npm run build)`);
  }
}

/** The IPv4 addresses (CIDR) of each link in a netns. */
async function linkAddrs(netns: string): Promise<Map<string, string[]>> {
  const out = await run(['nsenter', `--net=${netns}`, '--', 'ip', '-j', '-4', 'addr', 'show']);
  const links = JSON.parse(out || '[]') as {ifname: string; addr_info: {local: string; prefixlen: number}[]}[];
  return new Map(links.map((l) => [l.ifname, l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)]));
}

/** The IPv4 addresses (CIDR) on IFNAME in a netns; [] when the link is absent. */
async function addrsIn(netns: string): Promise<string[]> {
  return (await linkAddrs(netns)).get(IFNAME) ?? [];
}

/** Addresses in the Docker network's subnet on any link (Docker does not reuse interface names). */
async function dockerAddrsIn(netns: string): Promise<string[]> {
  return [...(await linkAddrs(netns)).values()].flat().filter((a) => a.startsWith(DOCKER_PREFIX));
}

async function expectAttached(name: string, netns: string, want: string[]): Promise<void> {
  const have = await addrsIn(netns);
  if (want.length === 0 || !want.every((a) => have.includes(a)))
    throw new Error(`${name}: attach reported ${want.join(',') || 'no address'} but ${IFNAME} has ${have.join(',') || 'nothing'}`);
}

async function expectDetached(name: string, netns: string): Promise<void> {
  const have = await addrsIn(netns);
  if (have.length > 0) throw new Error(`${name}: ${IFNAME} still has ${have.join(',')} after detach`);
}

// ---- (a) the seed's workflow --------------------------------------------------

function pluginEnv(cmd: string, id: string, netns: string): NodeJS.ProcessEnv {
  return {...benchEnv, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: IFNAME, CNI_PATH: REF};
}

/** docker inspect + bridge ADD; returns the time and the addresses the plugin reported. */
async function seedAdd(name: string): Promise<{ms: number; addrs: string[]}> {
  const insp = await timed(['docker', 'inspect', name], {env: benchEnv});
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

async function ours(list: string[]): Promise<Ours> {
  const attach = await timed([...CLI, 'attach', ...list, '--conf', confFile, '--json'], {env: benchEnv});
  const out = JSON.parse(attach.stdout) as {done: {container: string; netns: string; addresses: string[]}[]; failures: {message: string}[]};
  if (out.failures.length > 0) throw new Error(`attach failed: ${out.failures.map((f) => f.message).join('; ')}`);
  if (out.done.length !== list.length) throw new Error(`attach returned ${out.done.length} of ${list.length} attachments`);
  await mapLimit(out.done, 8, (a) => expectAttached(a.container, a.netns, a.addresses));
  const detach = await timed([...CLI, 'detach', ...list, '--conf', confFile], {env: benchEnv});
  await mapLimit(list, 8, (n) => expectDetached(n, sandbox.get(n)!.netns));
  return {attach, detach};
}

// ---- (d) docker network connect / disconnect ------------------------------------

/** (d) for a list of containers, one after another: all connects, checks, then all disconnects. */
async function dockerLoop(list: string[]): Promise<{attach: number; detach: number}> {
  let attach = 0;
  let detach = 0;
  for (const n of list) attach += (await timed(['docker', 'network', 'connect', DOCKER_NET, n], {env: benchEnv})).ms;
  await mapLimit(list, 8, async (n) => {
    if ((await dockerAddrsIn(sandbox.get(n)!.netns)).length === 0)
      throw new Error(`${n}: docker network connect left no address of ${DOCKER_SUBNET}`);
  });
  for (const n of list) detach += (await timed(['docker', 'network', 'disconnect', DOCKER_NET, n], {env: benchEnv})).ms;
  await mapLimit(list, 8, async (n) => {
    const left = await dockerAddrsIn(sandbox.get(n)!.netns);
    if (left.length > 0) throw new Error(`${n}: ${left.join(',')} still there after docker network disconnect`);
  });
  return {attach, detach};
}

// ---- set-up, rounds, report ------------------------------------------------------

async function cleanup(): Promise<void> {
  const ids = (await run(['docker', 'ps', '-aq', '--filter', `label=${LABEL}`]).catch(() => '')).split('\n').filter(Boolean);
  if (sandbox.size > 0) {
    await run([...CLI, 'detach', ...sandbox.keys(), '--conf', confFile]).catch(() => '');
    for (const [, s] of sandbox) await timed([`${REF}/bridge`], {input: conf, env: pluginEnv('DEL', s.id, s.netns)}).catch(() => undefined);
  }
  if (ids.length > 0) await run(['docker', 'rm', '-f', ...ids]).catch(() => '');
  await run(['docker', 'network', 'rm', DOCKER_NET]).catch(() => '');
  await run(['ip', 'link', 'del', BRIDGE]).catch(() => '');
  rmSync(dir, {recursive: true, force: true});
  await removeIndexes();
}

/**
 * The CLI's reservation indexes of the bench's host-local stores (all under `dir`)
 * go with them: what gc does for any store that is gone.
 */
async function removeIndexes(): Promise<void> {
  await pruneIndexes(ipamIndexDir(statePaths(resolveStateRoot(benchEnv.CNI_DOCKER_STATE_ROOT, process.cwd())).stateDir));
}

async function startContainers(): Promise<void> {
  await run(['docker', 'network', 'rm', DOCKER_NET]).catch(() => '');
  await run(['docker', 'network', 'create', '--driver', 'bridge', '--subnet', DOCKER_SUBNET, '--label', LABEL, DOCKER_NET]);
  await mapLimit(names, 4, async (n) => {
    await run(['docker', 'rm', '-f', n]).catch(() => '');
    await run(['docker', 'run', '-d', '--name', n, '--label', LABEL, IMAGE, 'sleep', '3600']);
  });
  const out = JSON.parse(await run(['docker', 'inspect', ...names])) as {Id: string; Name: string; NetworkSettings: {SandboxKey: string}}[];
  for (const c of out) sandbox.set(c.Name.replace(/^\//, ''), {id: c.Id, netns: c.NetworkSettings.SandboxKey});
}

const fmt = (ms: number): string => `${ms.toFixed(0).padStart(6)} ms`;
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

/** Median wall time of a bare Node start in this run: the floor of any command of ours. */
let nodeStart = 0;

async function startup(): Promise<void> {
  const bare: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    bare.push((await timed([process.execPath, '-e', '0'], {env: benchEnv})).ms);
    version.push((await timed([...CLI, '--version'], {env: benchEnv})).ms);
    help.push((await timed([...CLI, 'attach', '--help'], {env: benchEnv})).ms);
    list.push((await timed([...CLI, 'list', '--net', 'no-such-network'], {env: benchEnv})).ms);
  }
  nodeStart = median(bare);
  const line = (what: string, xs: number[]): void =>
    console.log(`  ${what.padEnd(40)} ${fmt(median(xs))}   (${signed(median(xs) - nodeStart)} ms over node -e 0)`);
  console.log(`\nStart-up (median of ${STARTUP_RUNS}):`);
  console.log(`  ${'node -e 0'.padEnd(40)} ${fmt(nodeStart)}`);
  line('cni-docker --version (oclif)', version);
  line('cni-docker attach --help (oclif)', help);
  line('cni-docker list --net none (+ Docker)', list);
}

const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(0)}`;

interface Side {
  attach: number[];
  detach: number[];
  total: number[];
  rss: number;
}

interface Figures {
  seed: Side;
  ours: Side;
  docker: Side;
}

const side = (): Side => ({attach: [], detach: [], total: [], rss: 0});

function record(s: Side, attach: number, detach: number, rssKb = 0): void {
  s.attach.push(attach);
  s.detach.push(detach);
  s.total.push(attach + detach);
  s.rss = Math.max(s.rss, rssKb);
}

/** `n` rounds of (a), ours and (d) on the containers `list(r)`, rotating which side goes first. */
async function rounds(n: number, list: (r: number) => string[]): Promise<Figures> {
  const f: Figures = {seed: side(), ours: side(), docker: side()};
  for (let r = 0; r < n; r++) {
    const c = list(r);
    const steps = [
      async () => {
        const s = await seedLoop(c);
        record(f.seed, s.attach, s.detach);
      },
      async () => {
        const o = await ours(c);
        record(f.ours, o.attach.ms, o.detach.ms, Math.max(o.attach.rssKb, o.detach.rssKb));
      },
      async () => {
        const d = await dockerLoop(c);
        record(f.docker, d.attach, d.detach);
      },
    ];
    for (let i = 0; i < steps.length; i++) await steps[(r + i) % steps.length]();
  }
  return f;
}

const w = (t: string): string => t.padEnd(46);
const row = (label: string, s: Side, a = 'attach', d = 'detach'): string =>
  `  ${w(label)}${a.padEnd(7)}${fmt(median(s.attach))}   ${d.padEnd(10)}${fmt(median(s.detach))}   total ${fmt(median(s.total))}`;

function report(single: Figures, bulk: Figures): boolean {
  const vsDocker1 = median(single.ours.total) / median(single.docker.total);
  const vsDockerN = median(bulk.ours.total) / median(bulk.docker.total);
  const rss = Math.max(single.ours.rss, bulk.ours.rss);
  console.log(`\nSingle container, attach + detach (median of ${ROUNDS}; every attach verified):`);
  console.log(row('(a) seed: docker inspect + bridge ADD', single.seed, 'ADD', 'DEL'));
  console.log(row('(d) docker network connect', single.docker, 'conn', 'disconnect'));
  console.log(row('(b) cni-docker attach', single.ours));
  console.log(
    `  (b)/(d) ${vsDocker1.toFixed(2)}x   budget <= 2.5x: ${verdict(vsDocker1 <= 2.5)}   (b)/(a) ${(median(single.ours.total) / median(single.seed.total)).toFixed(2)}x`,
  );
  console.log(
    `  (our two bare Node starts, 2 x ${nodeStart.toFixed(0)} ms = ${fmt(2 * nodeStart)}, are ${((2 * nodeStart) / median(single.docker.total)).toFixed(2)}x (d) on their own)`,
  );
  console.log(`\n${N} containers, attach + detach (median of ${BULK_ROUNDS}; every attach verified):`);
  console.log(row(`(a) seed loop: ${N}x (inspect + ADD)`, bulk.seed, 'ADD', 'DEL'));
  console.log(row(`(d) docker loop: ${N}x connect`, bulk.docker, 'conn', 'disconnect'));
  console.log(row('(c) cni-docker, one call each', bulk.ours));
  console.log(
    `  (c)/(d) ${vsDockerN.toFixed(2)}x   budget <= 0.3x: ${verdict(vsDockerN <= 0.3)}   (c)/(a) ${(median(bulk.ours.total) / median(bulk.seed.total)).toFixed(2)}x`,
  );
  console.log(`\nPeak RSS of any command of ours ${mb(rss)}   budget < 100 MB: ${verdict(rss < 100 * 1024)}`);
  return vsDocker1 <= 2.5 && vsDockerN <= 0.3 && rss < 100 * 1024;
}

/** Which parts run: BENCH_ONLY=side,growth,watch (a comma list) picks some; default all. */
const only = new Set((process.env.BENCH_ONLY ?? 'side,growth,watch').split(','));

async function main(): Promise<number> {
  preflight();
  writeFileSync(confFile, conf);
  console.log(
    `cni-docker benchmark (${[...only].join(', ')}): ${N} containers, ${ROUNDS} single rounds, ${BULK_ROUNDS} bulk rounds, node ${process.version}, conf ${confFile}`,
  );
  console.log('Every timed process runs without NODE_EXTRA_CA_CERTS (a setting of the test machines, not of our users).');
  if (only.has('side')) {
    await startContainers();
    await startup();

    // Warm-up (not counted): the bridges exist for every side from here on.
    await seedLoop([names[0]]);
    await ours([names[0]]);
    await dockerLoop([names[0]]);

    const single = await rounds(ROUNDS, (r) => [names[r % names.length]]);
    const bulk = await rounds(BULK_ROUNDS, () => names);
    report(single, bulk);
  }
  if (only.has('growth')) growthReport(await growthRun(CLI, benchEnv, dir));
  if (only.has('watch')) watchReport(await watchRun(CLI, benchEnv, dir));
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
