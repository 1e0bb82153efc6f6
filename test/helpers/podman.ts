/**
 * podman as a CNI client no one here wrote, isolated from the system: its own
 * containers.conf (through CONTAINERS_CONF), vfs storage under a temp dir,
 * file locks and events under that dir, and a network config dir of its own.
 * Nothing under /etc/containers is read for settings that matter or written.
 * What it still shares with the host: /var/lib/cni (host-local store and
 * libcni's result cache), the kernel, and containers/image's blob-info cache
 * (root's is always /var/lib/containers/cache; `podman load` creates it, and
 * `loadImage`/`cleanup` remove it again when it was not there before).
 */
import {execFile, spawn} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';

const execFileP = promisify(execFile);

export const PODMAN_IMAGE = 'localhost/cni-docker/busybox:test';
const HINT = "run `sudo bin/setup` on this machine (it installs Debian's podman), then the tests as root";

/** podman present and runnable; throws (never skips) with the fix. */
export async function assertPodman(): Promise<string> {
  try {
    const {stdout} = await execFileP('podman', ['--version']);
    return stdout.trim();
  } catch (err) {
    const e = err as Error & {code?: string};
    throw new Error(`podman is ${e.code === 'ENOENT' ? 'not installed' : `not runnable (${e.message})`}: ${HINT}`);
  }
}

/**
 * The containers.conf of one side. runc cannot raise podman's default ulimits
 * in this VM, hence the explicit ones; the default network gets a subnet of
 * ours so that `network create --subnet 10.88.x.0/24` does not overlap it.
 */
export function containersConf(o: {pluginDirs: string[]; networkConfigDir: string; tmpDir: string}): string {
  const list = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return [
    '[containers]',
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    '',
    '[network]',
    'network_backend = "cni"',
    `cni_plugin_dirs = ${list(o.pluginDirs)}`,
    `network_config_dir = ${JSON.stringify(o.networkConfigDir)}`,
    'default_network = "pd-default"',
    'default_subnet = "10.88.0.0/24"',
    '',
    '[engine]',
    `tmp_dir = ${JSON.stringify(o.tmpDir)}`,
    // The default shm lock segment (/dev/shm/libpod_lock) is shared by every podman of the host.
    'lock_type = "file"',
    'events_logger = "file"',
    `events_logfile_path = ${JSON.stringify(path.join(o.tmpDir, 'events.log'))}`,
    '',
  ].join('\n');
}

/**
 * A preload for Node that logs every start of one of our plugins (CNI_COMMAND,
 * plugin name, container id). podman hands its environment to the plugins, so
 * NODE_OPTIONS shows which CNI calls reached our code; the reference plugins
 * are Go binaries and ignore it.
 */
function tracePreload(log: string): string {
  return `require('node:fs').appendFileSync(${JSON.stringify(log)}, [process.env.CNI_COMMAND, require('node:path').basename(process.argv[1] || ''), process.env.CNI_CONTAINERID || ''].join(' ') + '\\n');\n`;
}

const BLOB_CACHE = ['/var/lib/containers', '/var/lib/containers/cache', '/var/lib/containers/cache/blob-info-cache-v1.boltdb'];

export class PodmanBed {
  readonly root: string;
  readonly runroot: string;
  readonly tmpDir: string;
  readonly networkConfigDir: string;
  readonly traceLog: string;
  private readonly preload: string;
  private readonly confs = new Set<string>();
  private blobCacheMadeHere: string[] = [];

  constructor(readonly dir: string) {
    this.root = path.join(dir, 'root');
    this.runroot = path.join(dir, 'runroot');
    this.tmpDir = path.join(dir, 'tmp');
    this.networkConfigDir = path.join(dir, 'networks');
    this.traceLog = path.join(dir, 'plugin-calls.log');
    this.preload = path.join(dir, 'trace.cjs');
    for (const d of [this.root, this.runroot, this.tmpDir, this.networkConfigDir]) mkdirSync(d, {recursive: true});
    writeFileSync(this.preload, tracePreload(this.traceLog));
  }

  /** Write the containers.conf of one side; returns its path, the handle for `run`. */
  conf(label: string, pluginDirs: string[]): string {
    const file = path.join(this.dir, `containers-${label}.conf`);
    writeFileSync(file, containersConf({pluginDirs, networkConfigDir: this.networkConfigDir, tmpDir: this.tmpDir}));
    this.confs.add(file);
    return file;
  }

  /** NODE_OPTIONS that make our plugins log their starts to `traceLog`. */
  traceEnv(): {NODE_OPTIONS: string} {
    return {NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${this.preload}`].filter(Boolean).join(' ')};
  }

  private env(conf: string): NodeJS.ProcessEnv {
    return {...process.env, CONTAINERS_CONF: conf, ...this.traceEnv()};
  }

  private argv(args: string[]): string[] {
    return ['--storage-driver', 'vfs', '--root', this.root, '--runroot', this.runroot, ...args];
  }

  /** Run podman with `conf`; resolves trimmed stdout, rejects with its stderr. */
  async run(conf: string, ...args: string[]): Promise<string> {
    try {
      const {stdout} = await execFileP('podman', this.argv(args), {env: this.env(conf), maxBuffer: 16 << 20});
      return stdout.trim();
    } catch (err) {
      const e = err as Error & {stderr?: string};
      throw new Error(`podman ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
    }
  }

  /** `docker save cni-docker/busybox:test | podman load` into this bed's storage. */
  async loadImage(conf: string, dockerImage: string): Promise<void> {
    this.blobCacheMadeHere = BLOB_CACHE.filter((p) => !existsSync(p));
    await new Promise<void>((resolve, reject) => {
      const save = spawn('docker', ['save', dockerImage], {stdio: ['ignore', 'pipe', 'pipe']});
      const load = spawn('podman', this.argv(['load']), {env: this.env(conf), stdio: ['pipe', 'pipe', 'pipe']});
      let errors = '';
      save.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      load.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      load.stdout.resume();
      save.stdout.pipe(load.stdin);
      let saved: number | null = null;
      save.on('close', (code) => (saved = code));
      save.on('error', reject);
      load.on('error', reject);
      load.on('close', (code) => {
        if (code === 0 && saved === 0) resolve();
        else reject(new Error(`docker save ${dockerImage} | podman load exited ${saved}/${code}: ${errors.trim()}`));
      });
    });
  }

  /** The plugin starts the trace preload saw, as "COMMAND plugin containerId" lines. */
  pluginCalls(): string[] {
    return existsSync(this.traceLog) ? readFileSync(this.traceLog, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Remove every container and the given networks under every conf, then the storage. */
  async cleanup(networks: string[]): Promise<void> {
    for (const conf of this.confs) {
      await this.run(conf, 'rm', '-af', '-t', '0').catch(() => undefined);
    }
    const conf = [...this.confs][0];
    if (conf) {
      for (const n of networks) await this.run(conf, 'network', 'rm', '-f', n).catch(() => undefined);
    }
    // vfs keeps no mounts once the containers are gone; the dir is ours alone.
    rmSync(this.dir, {recursive: true, force: true});
    for (const p of [...this.blobCacheMadeHere].reverse()) rmSync(p, {recursive: true, force: true});
    this.blobCacheMadeHere = [];
  }
}

/** libcni's result cache entry for one attachment (what podman's `network rm` and DEL read back). */
export interface CacheEntry {
  kind: string;
  containerId: string;
  ifName: string;
  networkName: string;
  config: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result: Record<string, unknown>;
}

export const cacheFile = (network: string, containerId: string, ifname = 'eth0'): string =>
  `/var/lib/cni/results/${network}-${containerId}-${ifname}`;

export function readCache(network: string, containerId: string, ifname = 'eth0'): CacheEntry {
  return JSON.parse(readFileSync(cacheFile(network, containerId, ifname), 'utf8')) as CacheEntry;
}

export interface CheckOutcome {
  type: string;
  exitCode: number;
  output: string;
}

/**
 * CHECK on every plugin of a cached attachment, the way libcni's
 * CheckNetworkList does it (podman 4.3 links it but never calls it): each
 * plugin gets the list's name and cniVersion, the cached result as
 * prevResult, and the runtimeConfig of the capabilities it declares; the
 * executable is the first one found in `dirs`.
 */
export async function checkCachedAttachment(
  entry: CacheEntry,
  netns: string,
  dirs: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CheckOutcome[]> {
  const list = JSON.parse(Buffer.from(entry.config, 'base64').toString('utf8')) as {
    name: string;
    cniVersion: string;
    plugins: {type: string; capabilities?: Record<string, boolean>}[];
  };
  const out: CheckOutcome[] = [];
  for (const plugin of list.plugins) {
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
      if (on && entry.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = entry.capabilityArgs[cap];
    }
    const conf = {
      ...plugin,
      name: list.name,
      cniVersion: list.cniVersion,
      prevResult: entry.result,
      ...(Object.keys(runtimeConfig).length ? {runtimeConfig} : {}),
    };
    const exe = dirs.map((d) => path.join(d, plugin.type)).find((f) => existsSync(f));
    if (!exe) throw new Error(`plugin ${plugin.type} not found in ${dirs.join(':')}`);
    const cniEnv = {
      ...process.env,
      ...env,
      CNI_COMMAND: 'CHECK',
      CNI_CONTAINERID: entry.containerId,
      CNI_NETNS: netns,
      CNI_IFNAME: entry.ifName,
      CNI_ARGS: (entry.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: dirs.join(':'),
    };
    const r = await new Promise<CheckOutcome>((resolve) => {
      const child = execFile(exe, [], {env: cniEnv, maxBuffer: 1 << 20}, (err, stdout, stderr) => {
        const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0;
        resolve({type: plugin.type, exitCode: code, output: `${stdout}${stderr}`.trim()});
      });
      child.stdin?.end(JSON.stringify(conf));
    });
    out.push(r);
  }
  return out;
}
