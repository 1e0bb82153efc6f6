/**
 * The watch run of `npm run bench`: `cni-docker watch --json` follows Docker's
 * events while WATCH_STARTS containers labelled `cni-docker.networks=<net>` are
 * started one after another; each one's latency is the time from its `start`
 * event (the engine's own timestamp) to watch having attached it, as watch
 * reports it. Every attachment is checked from outside (the address is on the
 * container's interface) before it counts. p50 and p95, target p50 <= 150 ms.
 */
import {spawn} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {run} from './measure.js';

const NET = 'benchwatch';
const BRIDGE = 'benchwatchbr0';
const STARTS = Number(process.env.WATCH_STARTS ?? 20);
const IMAGE = 'cni-docker/busybox:test';
const LABEL = 'cni-docker-bench=1';

interface Action {
  action: string;
  containerId: string;
  ifname?: string;
  addresses?: string[];
  latencyMs?: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export async function watchRun(cli: string[], env: NodeJS.ProcessEnv, dir: string): Promise<number[]> {
  const confDir = join(dir, 'watch-net.d');
  mkdirSync(confDir, {recursive: true});
  writeFileSync(
    join(confDir, `${NET}.conf`),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: NET,
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      ipam: {type: 'host-local', subnet: '10.221.0.0/24', dataDir: join(dir, 'watch-ipam')},
    }),
  );
  const watcher = spawn(cli[0], [...cli.slice(1), 'watch', '--json'], {
    env: {...env, NETCONFPATH: confDir},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const actions: Action[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  watcher.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({input: watcher.stdout}).on('line', (line) => {
    try {
      actions.push(JSON.parse(line) as Action);
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  const attachedOf = async (id: string): Promise<Action> => {
    const end = Date.now() + 20_000;
    for (;;) {
      const a = actions.find((x) => x.containerId === id && x.action === 'attached');
      if (a) return a;
      if (Date.now() > end || watcher.exitCode !== null) throw new Error(`watch did not attach ${id.slice(0, 12)}: ${stderr.trim()}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const names: string[] = [];
  try {
    // watch reconciles once when it starts: give it a moment to be following events.
    await new Promise((r) => setTimeout(r, 1500));
    const latencies: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const name = `benchwatch-${i}`;
      names.push(name);
      await run(['docker', 'rm', '-f', name]).catch(() => '');
      const id = (
        await run([
          'docker',
          'run',
          '-d',
          '--name',
          name,
          '--label',
          LABEL,
          '--label',
          `cni-docker.networks=${NET}`,
          '--net=none',
          IMAGE,
          'sleep',
          '3600',
        ])
      ).trim();
      const a = await attachedOf(id);
      const sandbox = (await run(['docker', 'inspect', '-f', '{{.NetworkSettings.SandboxKey}}', id])).trim();
      const have = await run(['nsenter', `--net=${sandbox}`, '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', a.ifname ?? 'eth0']);
      const want = (a.addresses ?? [])[0];
      if (!want || !have.includes(want))
        throw new Error(`${name}: watch reported ${want ?? 'no address'} but the interface has: ${have.trim()}`);
      if (a.latencyMs === undefined) throw new Error(`${name}: watch reported no latency`);
      latencies.push(a.latencyMs);
    }
    return latencies;
  } finally {
    if (names.length) await run(['docker', 'rm', '-f', ...names]).catch(() => '');
    // watch releases what it attached on destroy; give it the events, then stop it.
    await new Promise((r) => setTimeout(r, 1000));
    watcher.kill('SIGTERM');
    await new Promise((r) => watcher.once('close', r));
    await run([...cli, 'detach', '--all', '--net', NET, '--conf-dir', confDir]).catch(() => '');
    await run(['ip', 'link', 'del', BRIDGE]).catch(() => '');
  }
}

export function watchReport(latencies: number[]): boolean {
  const p50 = percentile(latencies, 50);
  const p95 = percentile(latencies, 95);
  console.log(`\nwatch: start event to interface up, ${latencies.length} labelled containers started one after another:`);
  console.log(
    `  p50 ${p50.toFixed(0)} ms   p95 ${p95.toFixed(0)} ms   (min ${Math.min(...latencies).toFixed(0)}, max ${Math.max(...latencies).toFixed(0)})   target p50 <= 150 ms: ${p50 <= 150 ? 'MET' : 'NOT MET'}`,
  );
  return p50 <= 150;
}
