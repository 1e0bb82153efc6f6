/**
 * A 3-member etcd cluster for integration tests, from Debian's etcd-server
 * (installed by bin/setup). Each member listens on its own address and
 * ports and keeps its data in its own temporary directory; the ports are
 * the first free block at or above `basePort` (never 2379/2380, which a
 * system etcd would use).
 *
 * Where members listen: by default 127.0.0.1, .2, .3 (every 127/8 address is
 * local on Linux), which only the real host can reach. For simulated hosts
 * in network namespaces, give the real host's underlay address (see
 * sim-hosts.ts): it is on-link for every simulated host and local to the
 * real host, so all of them reach every member the same way.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';

const SETUP_HINT = "run `sudo bin/setup` on this machine (it installs Debian's etcd-server and etcd-client)";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function assertEtcdInstalled(): string {
  const r = spawnSync('etcd', ['--version'], {encoding: 'utf8'});
  if (r.error || r.status !== 0)
    throw new Error(`the etcd binary is missing or broken (${r.error?.message ?? r.stderr.trim()}): ${SETUP_HINT}`);
  const v = /etcd Version: (\S+)/.exec(r.stdout);
  return v ? v[1] : 'unknown';
}

export interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  proc?: ChildProcess;
}

export interface ClusterOptions {
  /** One address per member, or one for all (members then differ by port). Default 127.0.0.1..3. */
  hosts?: string[];
  /** Lowest port to try (default 23790). */
  basePort?: number;
  /** Extra flags for every member (e.g. TLS). */
  extraArgs?: (m: Member) => string[];
  /** URL scheme of the client URLs (default http). */
  clientScheme?: 'http' | 'https';
  /** Extra etcdctl flags for the health check (e.g. --cacert, --cert, --key). */
  ctlArgs?: string[];
}

export class EtcdCluster {
  readonly members: Member[] = [];
  private dir = '';

  constructor(private readonly opts: ClusterOptions = {}) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Start all members and wait until each reports healthy. */
  async start(): Promise<void> {
    assertEtcdInstalled();
    const hosts = this.opts.hosts ?? ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const addrs = [0, 1, 2].map((i) => hosts[Math.min(i, hosts.length - 1)]);
    const base = await freePortBlock(addrs, this.opts.basePort ?? 23790);
    this.dir = mkdtempSync('/tmp/ov-etcd-');
    const scheme = this.opts.clientScheme ?? 'http';
    const url = (s: string, a: string, p: number) => `${s}://${a.includes(':') ? `[${a}]` : a}:${p}`;
    for (let i = 0; i < 3; i++) {
      const name = `ov-m${i + 1}`;
      this.members.push({
        name,
        clientUrl: url(scheme, addrs[i], base + i),
        peerUrl: url('http', addrs[i], base + 10 + i),
        dataDir: join(this.dir, name),
        logFile: join(this.dir, `${name}.log`),
      });
    }
    const token = `ov-${process.pid}-${Date.now()}`;
    const initial = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    for (const m of this.members)
      this.launch(m, ['--initial-cluster', initial, '--initial-cluster-token', token, '--initial-cluster-state', 'new']);
    await this.waitHealthy(this.members, 20_000);
  }

  /** Index of the member that is the Raft leader now (from `etcdctl endpoint status`). */
  async leaderIndex(): Promise<number> {
    const r = spawnSync(
      'etcdctl',
      ['--endpoints', this.endpoints.join(','), ...(this.opts.ctlArgs ?? []), 'endpoint', 'status', '-w', 'json'],
      {encoding: 'utf8'},
    );
    const status = JSON.parse(r.stdout || '[]') as {Endpoint: string; Status: {header: {member_id: number}; leader: number}}[];
    const i = status.findIndex((s) => s.Status.header.member_id === s.Status.leader);
    if (i < 0) throw new Error(`no leader among ${this.endpoints.join(', ')}: ${r.stderr.trim()}`);
    return this.endpoints.indexOf(status[i].Endpoint);
  }

  /** SIGKILL one member (index 0..2), as a crash would. */
  async kill(i: number): Promise<void> {
    await stopProc(this.members[i], 'SIGKILL');
  }

  /** Start a killed member again with its data. */
  async restart(i: number): Promise<void> {
    const m = this.members[i];
    if (m.proc) throw new Error(`${m.name} is still running`);
    this.launch(m, []);
    await this.waitHealthy([m], 20_000);
  }

  /** Stop every member (SIGTERM, then SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => stopProc(m, 'SIGTERM')));
  }

  /** Stop everything and remove the data directories. */
  async cleanup(): Promise<void> {
    await this.stopAll();
    if (this.dir) rmSync(this.dir, {recursive: true, force: true});
    this.dir = '';
  }

  /** The last lines of a member's log, for a failure message. */
  logTail(i: number, lines = 15): string {
    try {
      return readFileSync(this.members[i].logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private launch(m: Member, clusterArgs: string[]): void {
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--logger',
      'zap',
      '--log-outputs',
      m.logFile,
      ...clusterArgs,
      ...(this.opts.extraArgs?.(m) ?? []),
    ];
    m.proc = spawn('etcd', args, {stdio: 'ignore'});
    m.proc.on('exit', () => (m.proc = undefined));
  }

  private async waitHealthy(members: Member[], ms: number): Promise<void> {
    const end = Date.now() + ms;
    for (const m of members) {
      for (;;) {
        if (!m.proc) throw new Error(`etcd member ${m.name} exited while starting:\n${this.logTail(this.members.indexOf(m))}`);
        if (await healthy(m, this.opts.ctlArgs ?? [])) break;
        if (Date.now() > end)
          throw new Error(`etcd member ${m.name} not healthy within ${ms} ms:\n${this.logTail(this.members.indexOf(m))}`);
        await sleep(100);
      }
    }
  }
}

/** `etcdctl endpoint health` of one member: it answers and a leader exists. */
function healthy(m: Member, ctlArgs: string[]): Promise<boolean> {
  const args = ['--endpoints', m.clientUrl, '--dial-timeout', '1s', '--command-timeout', '2s', ...ctlArgs, 'endpoint', 'health'];
  return new Promise((resolve) => {
    const p = spawn('etcdctl', args, {stdio: 'ignore', env: {...process.env, ETCDCTL_API: '3'}});
    p.on('exit', (code) => resolve(code === 0));
    p.on('error', () => resolve(false));
  });
}

async function stopProc(m: Member, signal: NodeJS.Signals): Promise<void> {
  const p = m.proc;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** The first base port at or above `from`, in steps of 20, where base..base+2 and base+10..base+12 are free on the members' addresses. */
async function freePortBlock(addrs: string[], from: number): Promise<number> {
  for (let base = from; base < from + 2000; base += 20) {
    let ok = true;
    for (let i = 0; i < 3 && ok; i++) ok = (await portFree(addrs[i], base + i)) && (await portFree(addrs[i], base + 10 + i));
    if (ok) return base;
  }
  throw new Error(`no free ports for etcd at ${addrs.join(', ')} from ${from}`);
}
