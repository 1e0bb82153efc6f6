/**
 * The growth run of `npm run bench`: what one attach, detach and `list` cost
 * with 0, 500 and 1,000 attachments already on one network (plain network
 * namespaces as targets), beside the reference bridge ADD/DEL at the same
 * points, and the peak RSS of one bulk attach of 1,000 namespaces.
 *
 * Order: the points at 0; one `attach` of all 1,000 (peak RSS); once the
 * bridge is quiet (quietBridge), the points at 1,000; one `detach` of half of them; the points at 500; then everything is
 * removed. Each point is the median of GROWTH_ROUNDS probes on one namespace of
 * its own (ours) and another (the reference), attached and detached again.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {median, run, timed} from './measure.js';

const REF = '/usr/lib/cni';
const NET = 'benchgrow';
const BRIDGE = 'benchgrowbr0';
const TARGETS = Number(process.env.GROWTH_TARGETS ?? 1000);
// Nine probes a point: with 1,000 attachments about one attach in five runs 40 ms or
// more over the median on a 2-core machine (nine in a row spread 148-221 ms), and a
// median of five moved a point by that much from one run to the next.
const ROUNDS = Number(process.env.GROWTH_ROUNDS ?? 9);
const ns = (i: number | string): string => `benchgr-${i}`;
const nsPath = (i: number | string): string => `/var/run/netns/${ns(i)}`;

function conf(dir: string): string {
  // A /20 holds 4,094 addresses: room for 1,000 attachments and the probes.
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: NET,
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipMasq: true,
    ipam: {type: 'host-local', subnet: '10.219.0.0/20', dataDir: join(dir, 'ipam')},
  });
}

export interface GrowthPoint {
  existing: number;
  attach: number;
  detach: number;
  list: number;
  refAdd: number;
  refDel: number;
}

/**
 * Wait until the bridge is quiet; how long that took. For about half a minute after
 * 1,000 interfaces come up at once, their IPv6 start-up (router solicitations, MLD
 * reports, each flooded to every port) keeps the kernel busy: a probe then times that
 * burst, which the reference's ADD meets as much as ours, not one more attachment.
 * Quiet: one port of the bridge is sent at most 3 packets in 2 s (at most 90 s).
 */
async function quietBridge(bridge: string): Promise<number> {
  const [port] = readdirSync(`/sys/class/net/${bridge}/brif`).sort();
  const sent = (): number => Number(readFileSync(`/sys/class/net/${port}/statistics/tx_packets`, 'utf8'));
  const t0 = Date.now();
  for (let last = sent(); Date.now() - t0 < 90_000;) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = sent();
    if (now - last <= 3) break;
    last = now;
  }
  return Date.now() - t0;
}

export interface Growth {
  points: GrowthPoint[];
  /** How long the bridge took to quiet down after the bulk attach, before the points at 1,000. */
  settledMs: number;
  bulkAttachMs: number;
  bulkRssKb: number;
}

export async function growthRun(cli: string[], env: NodeJS.ProcessEnv, dir: string): Promise<Growth> {
  const confFile = join(dir, `${NET}.conf`);
  writeFileSync(confFile, conf(dir));
  const all = Array.from({length: TARGETS}, (_, i) => i);
  const refEnv = (cmd: string): NodeJS.ProcessEnv => ({
    ...env,
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: ns('ref'),
    CNI_NETNS: nsPath('ref'),
    CNI_IFNAME: 'eth0',
    CNI_PATH: REF,
  });
  const ours = (verb: string, targets: (number | string)[]): string[] => [
    ...cli,
    verb,
    ...targets.flatMap((t) => ['--netns', nsPath(t)]),
    '--conf',
    confFile,
  ];

  const point = async (existing: number): Promise<GrowthPoint> => {
    const f = {attach: [] as number[], detach: [] as number[], list: [] as number[], refAdd: [] as number[], refDel: [] as number[]};
    for (let r = 0; r < ROUNDS; r++) {
      f.attach.push((await timed(ours('attach', ['probe']), {env})).ms);
      const listed = await timed([...cli, 'list', '--json'], {env});
      f.list.push(listed.ms);
      const mine = (JSON.parse(listed.stdout) as {network: string}[]).filter((a) => a.network === NET).length;
      if (mine !== existing + 1) throw new Error(`list shows ${mine} attachments on ${NET}, expected ${existing + 1}`);
      f.detach.push((await timed(ours('detach', ['probe']), {env})).ms);
      f.refAdd.push((await timed([`${REF}/bridge`], {input: conf(dir), env: refEnv('ADD')})).ms);
      f.refDel.push((await timed([`${REF}/bridge`], {input: conf(dir), env: refEnv('DEL')})).ms);
    }
    return {
      existing,
      attach: median(f.attach),
      detach: median(f.detach),
      list: median(f.list),
      refAdd: median(f.refAdd),
      refDel: median(f.refDel),
    };
  };

  const cleanup = async (): Promise<void> => {
    await run(ours('detach', ['probe', ...all])).catch(() => '');
    await timed([`${REF}/bridge`], {input: conf(dir), env: refEnv('DEL')}).catch(() => undefined);
    for (const i of [...all, 'probe', 'ref']) await run(['ip', 'netns', 'del', ns(i)]).catch(() => '');
    await run(['ip', 'link', 'del', BRIDGE]).catch(() => '');
  };

  try {
    for (const i of [...all, 'probe', 'ref']) await run(['ip', 'netns', 'add', ns(i)]);
    // Warm-up (not counted): the bridge and the chains exist from here on.
    await run(ours('attach', ['probe']));
    await run(ours('detach', ['probe']));
    const points = [await point(0)];
    const bulk = await timed(ours('attach', all), {env});
    const settledMs = await quietBridge(BRIDGE);
    points.push(await point(TARGETS));
    await run(ours('detach', all.slice(TARGETS / 2)));
    points.splice(1, 0, await point(TARGETS / 2));
    return {points, settledMs, bulkAttachMs: bulk.ms, bulkRssKb: bulk.rssKb};
  } finally {
    await cleanup();
  }
}

export function growthReport(g: Growth): boolean {
  const fmt = (ms: number): string => `${ms.toFixed(0).padStart(6)} ms`;
  const [first] = g.points;
  const last = g.points[g.points.length - 1];
  console.log(`\nGrowth: one call with N attachments already on one network (median of ${ROUNDS}; plain namespaces):`);
  console.log('  existing    attach    detach      list   | reference ADD   DEL');
  for (const p of g.points)
    console.log(
      `  ${String(p.existing).padStart(8)} ${fmt(p.attach)} ${fmt(p.detach)} ${fmt(p.list)}   |   ${fmt(p.refAdd)} ${fmt(p.refDel)}`,
    );
  const a = last.attach / first.attach;
  const d = last.detach / first.detach;
  const ok = (b: boolean): string => (b ? 'MET' : 'NOT MET');
  console.log(
    `  (the probes at ${last.existing} began once the bridge was quiet, ${(g.settledMs / 1000).toFixed(0)} s after the bulk attach)`,
  );
  console.log(
    `  attach at ${last.existing} / at 0 ${a.toFixed(2)}x  budget <= 1.3x: ${ok(a <= 1.3)}   detach ${d.toFixed(2)}x  budget <= 1.3x: ${ok(d <= 1.3)}`,
  );
  console.log(
    `  list at ${last.existing} ${fmt(last.list)}  budget <= 500 ms: ${ok(last.list <= 500)}   (reference ADD ${(last.refAdd / first.refAdd).toFixed(2)}x, DEL ${(last.refDel / first.refDel).toFixed(2)}x over the same growth)`,
  );
  const rssMb = g.bulkRssKb / 1024;
  console.log(
    `  one attach of ${TARGETS} namespaces: ${fmt(g.bulkAttachMs)}, peak RSS ${rssMb.toFixed(1)} MB  budget < 150 MB: ${ok(rssMb < 150)}`,
  );
  return a <= 1.3 && d <= 1.3 && last.list <= 500 && rssMb < 150;
}
