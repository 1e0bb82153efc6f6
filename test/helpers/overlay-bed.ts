/**
 * The overlay test bed: a 3-member etcd cluster, simulated hosts (network
 * namespaces on the underlay bridge, sim-hosts.ts) and the real host, each
 * with its own state root and its own copy of one overlay network config,
 * and the real CLI run on each (`ip netns exec ov-hN bin/cni-docker …` with
 * CNI_DOCKER_STATE_ROOT). Containers on the simulated hosts are plain
 * namespaces `ov-c<N>`; the real host's is a Docker container.
 *
 * cleanup() removes everything the bed and the tests made, whatever state a
 * failed test left: attachments (detach --all per host), followers, container
 * namespaces, the Docker container, the real host's vxlan device and bridge,
 * the etcd cluster, the simulated hosts and the temp dir.
 */
import {execFile, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {CLI_BIN} from './cli.js';
import {assertRoot} from './docker.js';
import {EtcdCluster} from './etcd-cluster.js';
import {quietSync} from './host.js';
import {REAL_HOST_IP, SimHosts, UNDERLAY_BRIDGE, type OverlayHost} from './sim-hosts.js';

/** Set on the real host's vxlan device once made, so a leftover is told from a device someone else owns. */
const TEST_ALIAS = 'ov-test';

export interface BedOptions {
  sims: number;
  /** Network config name (also the host-local store's). */
  name: string;
  prefix: string;
  bridge: string;
  vni: number;
  /** The overlay network written by `overlay init`. */
  network: string;
  ipMasq?: boolean;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class OverlayBed {
  readonly hosts: SimHosts;
  readonly cluster = new EtcdCluster({hosts: [REAL_HOST_IP]});
  dir = '';
  private readonly children = new Set<ChildProcess>();
  private readonly netnses = new Set<string>();
  private readonly containers = new Set<string>();

  constructor(readonly opts: BedOptions) {
    this.hosts = new SimHosts(opts.sims);
  }

  get device(): string {
    return `flannel.${this.opts.vni}`;
  }

  async setup(): Promise<void> {
    assertRoot();
    this.clearRealHost();
    this.dir = mkdtempSync('/tmp/ov-bed-');
    await this.hosts.setup();
    await this.cluster.start();
    for (const h of this.hosts.all) {
      mkdirSync(this.root(h), {recursive: true});
      this.writeConf(h);
    }
  }

  /** The state root of a host. */
  root(h: OverlayHost): string {
    return join(this.dir, 'roots', h.name);
  }

  /** A host's conf dir (for --net, watch and doctor): its overlay config only. */
  confDir(h: OverlayHost): string {
    return join(this.dir, 'conf', h.name);
  }

  /** The overlay config file of a host (the real host names its underlay link: its default route leads elsewhere). */
  conf(h: OverlayHost): string {
    return join(this.confDir(h), `${this.opts.name}.conf`);
  }

  writeConf(h: OverlayHost, extra: Record<string, unknown> = {}, file = this.conf(h)): string {
    const conf = {
      cniVersion: '1.0.0',
      name: this.opts.name,
      type: 'overlay',
      etcdEndpoints: this.cluster.endpoints,
      etcdPrefix: this.opts.prefix,
      bridge: this.opts.bridge,
      ipMasq: this.opts.ipMasq ?? true,
      ...(h === this.hosts.real ? {iface: UNDERLAY_BRIDGE} : {}),
      ...extra,
    };
    mkdirSync(dirname(file), {recursive: true});
    writeFileSync(file, JSON.stringify(conf, null, 2));
    return file;
  }

  /** Run the CLI on a host with its state root; resolves with exit code, output and wall time. */
  cli(h: OverlayHost, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    const argv = h.argv([CLI_BIN, ...args]);
    const t0 = Date.now();
    return new Promise((resolve) => {
      execFile(
        argv[0],
        argv.slice(1),
        {env: {...process.env, CNI_DOCKER_STATE_ROOT: this.root(h), ...env}, maxBuffer: 16 << 20},
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({code, stdout, stderr, ms: Date.now() - t0});
        },
      );
    });
  }

  /** Run the CLI and expect exit 0 (with --json: the parsed payload). */
  async ok<T = Run>(h: OverlayHost, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
    const r = await this.cli(h, args, env);
    if (r.code !== 0) throw new Error(`${h.name}: cni-docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}`);
    return (args.includes('--json') ? JSON.parse(r.stdout) : r) as T;
  }

  /** A long-running CLI process on a host (sync --follow, watch); its output lines are collected. Stopped by cleanup(). */
  start(h: OverlayHost, args: string[], env: NodeJS.ProcessEnv = {}): {proc: ChildProcess; out: string[]; err: string[]} {
    const argv = h.argv([CLI_BIN, ...args]);
    const proc = spawn(argv[0], argv.slice(1), {
      env: {...process.env, CNI_DOCKER_STATE_ROOT: this.root(h), ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const err: string[] = [];
    const lines = (into: string[]) => (d: Buffer) => into.push(...d.toString().split('\n').filter(Boolean));
    proc.stdout!.on('data', lines(out));
    proc.stderr!.on('data', lines(err));
    this.children.add(proc);
    proc.on('exit', () => this.children.delete(proc));
    return {proc, out, err};
  }

  /** A plain namespace standing for a container on a simulated host. */
  netns(name: string): string {
    quietSync('ip', 'netns', 'del', name);
    spawnSync('ip', ['netns', 'add', name], {stdio: 'ignore'});
    this.netnses.add(name);
    return `/var/run/netns/${name}`;
  }

  /** A running --net=none container from the local test image, on the real host. */
  container(name: string): string {
    quietSync('docker', 'rm', '-f', name);
    const r = spawnSync('docker', ['run', '-d', '--net=none', '--name', name, 'cni-docker/busybox:test', 'sleep', '3600'], {
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(`docker run ${name}: ${r.stderr.trim()} (is dockerd running and the test image built? sudo bin/setup)`);
    this.containers.add(name);
    return r.stdout.trim();
  }

  /** Mark the real host's vxlan device as this bed's (see clearRealHost). */
  markRealDevice(): void {
    spawnSync('ip', ['link', 'set', this.device, 'alias', TEST_ALIAS], {stdio: 'ignore'});
  }

  async cleanup(): Promise<void> {
    for (const p of this.children) p.kill('SIGTERM');
    await Promise.all([...this.children].map((p) => new Promise((r) => (p.exitCode !== null ? r(undefined) : p.once('exit', r)))));
    if (this.dir) {
      for (const h of this.hosts.all) await this.cli(h, ['detach', '--all']).catch(() => undefined);
    }
    for (const c of this.containers) quietSync('docker', 'rm', '-f', c);
    this.containers.clear();
    for (const n of this.netnses) quietSync('ip', 'netns', 'del', n);
    this.netnses.clear();
    this.clearRealHost();
    quietSync('ip', 'link', 'del', this.opts.bridge);
    await this.cluster.cleanup();
    this.hosts.cleanup();
    if (this.dir) rmSync(this.dir, {recursive: true, force: true});
    this.dir = '';
  }

  /** The real host's flannel.<VNI> is made by this bed only: a leftover is recognised by its alias, anything else is refused. */
  private clearRealHost(): void {
    const r = spawnSync('ip', ['-j', 'link', 'show', 'dev', this.device], {encoding: 'utf8'});
    if (r.status !== 0) return;
    const [l] = JSON.parse(r.stdout) as {ifalias?: string}[];
    if (l.ifalias !== TEST_ALIAS)
      throw new Error(`${this.device} exists on this host and is not this test's (alias ${TEST_ALIAS}); remove it or run elsewhere`);
    quietSync('ip', 'link', 'del', this.device);
  }
}

/** The first IPv4 address of a namespace's eth0 (in a netns path or, with pid, a container's). */
export function addressIn(netnsPath: string, ifname = 'eth0'): string {
  const r = spawnSync('nsenter', [`--net=${netnsPath}`, 'ip', '-j', '-4', 'addr', 'show', 'dev', ifname], {encoding: 'utf8'});
  const [l] = JSON.parse(r.stdout || '[]') as {addr_info: {local: string}[]}[];
  if (!l?.addr_info[0]) throw new Error(`no IPv4 address on ${ifname} in ${netnsPath}: ${r.stderr.trim()}`);
  return l.addr_info[0].local;
}

/** One ping from a namespace (busybox from busybox-static). */
export function ping(netnsPath: string, to: string, waitSeconds = 2): boolean {
  return (
    spawnSync('nsenter', [`--net=${netnsPath}`, '/bin/busybox', 'ping', '-c', '1', '-W', String(waitSeconds), to], {stdio: 'ignore'})
      .status === 0
  );
}

/** iptables-save -c -t nat on a host (inside its namespace for a simulated one). */
export function natSave(h: OverlayHost): string {
  const argv = h.argv(['iptables-save', '-c', '-t', 'nat']);
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`${h.name}: iptables-save: ${r.stderr.trim()}`);
  return r.stdout;
}

const v4 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
function overlaps(cidr: string, net: string): boolean {
  const [a, al] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const [b, bl] = net.split('/');
  const len = Math.min(Number(al), Number(bl));
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (v4(a) & mask) >>> 0 === (v4(b) & mask) >>> 0;
}

/**
 * The packet counters of every MASQUERADE rule in the nat table that traffic
 * from `net` could reach: from POSTROUTING, through jumps whose source match
 * does not exclude `net` (rules matching other sources, such as Docker's
 * 172.17.0.0/16, cannot see overlay traffic, and other traffic moving them
 * says nothing here). Keyed by chain and rule.
 */
export function masqueradeCounters(save: string, net: string): Map<string, number> {
  const rules = new Map<string, {packets: number; rule: string}[]>();
  for (const line of save.split('\n')) {
    const m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
    if (!m) continue;
    rules.set(m[2], [...(rules.get(m[2]) ?? []), {packets: Number(m[1]), rule: m[3]}]);
  }
  const couldMatch = (rule: string): boolean => {
    const s = /(?:^| )(!? ?)-s (\S+)/.exec(rule);
    if (!s) return true;
    return s[1].trim() === '!' ? true : overlaps(s[2], net);
  };
  const out = new Map<string, number>();
  const seen = new Set<string>();
  const walk = (chain: string): void => {
    if (seen.has(chain)) return;
    seen.add(chain);
    for (const r of rules.get(chain) ?? []) {
      if (!couldMatch(r.rule)) continue;
      const target = / -j (\S+)/.exec(` ${r.rule}`)?.[1];
      if (target === 'MASQUERADE') out.set(`${chain} ${r.rule}`, r.packets);
      else if (target && rules.has(target)) walk(target);
    }
  };
  walk('POSTROUTING');
  return out;
}
