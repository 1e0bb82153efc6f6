import {join} from 'node:path';
import {spawn} from 'node:child_process';

/** One timed process: wall clock from the parent, peak RSS from GNU time (%M, KiB). */
export interface Timed {
  ms: number;
  rssKb: number;
  stdout: string;
  stderr: string;
  code: number;
}

const TIME = '/usr/bin/time';

/** Run argv under `/usr/bin/time -f %M` (no shell) and measure it. Throws on a non-zero exit. */
export function timed(argv: string[], opts: {input?: string; env?: NodeJS.ProcessEnv} = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME, ['-f', '__RSS_KB=%M', ...argv], {
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let stderr = Buffer.concat(err).toString('utf8');
      const m = /__RSS_KB=(\d+)\s*$/.exec(stderr);
      const rssKb = m ? Number(m[1]) : 0;
      if (m) stderr = stderr.slice(0, m.index).replace(/Command exited with non-zero status \d+\n$/, '');
      const r = {ms, rssKb, stdout: Buffer.concat(out).toString('utf8'), stderr, code: code ?? 1};
      if (r.code !== 0) reject(new Error(`${argv.join(' ')} exited ${r.code}: ${stderr.trim() || r.stdout.trim()}`));
      else resolve(r);
    });
  });
}

/** Run argv plainly (untimed helpers: docker run, checks); resolves stdout. */
export function run(argv: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    if (input !== undefined) child.stdin?.end(input);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8').trim()}`));
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The bench's bridge: the network of both the benchmark and the trace. */
export const BENCH_BRIDGE = 'benchbr0';

/** The seed's mybridge.conf with a bench-only name, bridge and subnet, its store under `dir`. */
export function benchConf(dir: string): string {
  return JSON.stringify({
    cniVersion: '0.2.0',
    name: 'benchnet',
    type: 'bridge',
    bridge: BENCH_BRIDGE,
    isGateway: true,
    ipMasq: true,
    ipam: {
      type: 'host-local',
      subnet: '10.216.0.0/16',
      dataDir: join(dir, 'ipam'),
      routes: [{dst: '0.0.0.0/0'}, {dst: '1.1.1.1/32', gw: '10.216.0.1'}],
    },
  });
}
