/**
 * Simulated hosts for overlay tests: N network namespaces `ov-h<i>`, each
 * joined by a veth (`ov-h<i>u` on the real host, `eth0` inside) to one
 * underlay Linux bridge `ov-ul0` on the real host.
 *
 * Addresses (underlay 10.199.0.0/24):
 *   real host  10.199.0.1 on ov-ul0: its public IP in the tests, so the real
 *              host can be one of the overlay hosts (uplink ov-ul0);
 *   ov-h<i>    10.199.0.(10+i) on eth0, default route via 10.199.0.1.
 * Services for the simulated hosts (the etcd members) listen on 10.199.0.1:
 * on-link for every simulated host, local for the real host.
 *
 * With dockerd running, FORWARD's policy is DROP and bridge netfilter is on,
 * so frames bridged between two simulated hosts would be dropped: an accept
 * for traffic within ov-ul0 sits in our own chain `ov-underlay`, jumped to
 * from DOCKER-USER, and goes with cleanup().
 */
import {execFile, spawnSync} from 'node:child_process';
import {promisify} from 'node:util';
import {execaRunner, type Runner} from '../../src/exec/runner.js';
import {quietSync, shSync} from './host.js';

const execFileP = promisify(execFile);

export const UNDERLAY_BRIDGE = 'ov-ul0';
export const UNDERLAY_NET = '10.199.0';
export const REAL_HOST_IP = `${UNDERLAY_NET}.1`;
const CHAIN = 'ov-underlay';

export interface OverlayHost {
  name: string;
  /** The underlay address: this host's public IP in the overlay. */
  publicIP: string;
  /** The link the public IP is on. */
  uplink: string;
  /** Namespace name for a simulated host; undefined for the real host. */
  netns?: string;
  /** A Runner whose commands run on this host (for product code). */
  runner: Runner;
  /** Run a command on this host; resolves its stdout, rejects with its stderr. */
  exec(argv: string[]): Promise<string>;
  /** The argv that runs `argv` on this host (for spawn). */
  argv(argv: string[]): string[];
}

/** A Runner that runs everything in a named namespace through `ip netns exec`. */
export function ipNetnsRunner(base: Runner, netns: string): Runner {
  return {run: (file, args, options) => base.run('ip', ['netns', 'exec', netns, file, ...args], options)};
}

function host(name: string, publicIP: string, uplink: string, netns?: string): OverlayHost {
  const prefix = netns ? ['ip', 'netns', 'exec', netns] : [];
  return {
    name,
    publicIP,
    uplink,
    netns,
    runner: netns ? ipNetnsRunner(execaRunner(), netns) : execaRunner(),
    argv: (argv) => [...prefix, ...argv],
    async exec(argv) {
      const full = [...prefix, ...argv];
      try {
        return (await execFileP(full[0], full.slice(1), {maxBuffer: 16 << 20})).stdout;
      } catch (err) {
        const e = err as Error & {stderr?: string};
        throw new Error(`${name}: ${argv.join(' ')}: ${(e.stderr || e.message).trim()}`);
      }
    },
  };
}

export class SimHosts {
  readonly real: OverlayHost = host('real', REAL_HOST_IP, UNDERLAY_BRIDGE);
  readonly sims: OverlayHost[] = [];

  constructor(private readonly count: number) {
    if (count < 1 || count > 20) throw new Error('1..20 simulated hosts');
    for (let i = 1; i <= count; i++) this.sims.push(host(`ov-h${i}`, `${UNDERLAY_NET}.${10 + i}`, 'eth0', `ov-h${i}`));
  }

  /** Every overlay host: the simulated ones, then the real host. */
  get all(): OverlayHost[] {
    return [...this.sims, this.real];
  }

  async setup(): Promise<void> {
    this.cleanup(); // leftovers of an interrupted run
    shSync('ip', 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge');
    shSync('ip', 'addr', 'add', `${REAL_HOST_IP}/24`, 'dev', UNDERLAY_BRIDGE);
    shSync('ip', 'link', 'set', UNDERLAY_BRIDGE, 'up');
    const parent = chainExists('DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
    shSync('iptables', '-w', '-N', CHAIN);
    shSync('iptables', '-w', '-A', CHAIN, '-i', UNDERLAY_BRIDGE, '-o', UNDERLAY_BRIDGE, '-j', 'ACCEPT');
    shSync('iptables', '-w', '-I', parent, '1', '-j', CHAIN);
    for (const [i, h] of this.sims.entries()) {
      const ns = h.netns!;
      const hostEnd = `ov-h${i + 1}u`;
      shSync('ip', 'netns', 'add', ns);
      shSync('ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      shSync('ip', 'link', 'set', hostEnd, 'master', UNDERLAY_BRIDGE, 'up');
      shSync('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      shSync('ip', '-n', ns, 'addr', 'add', `${h.publicIP}/24`, 'dev', 'eth0');
      shSync('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      shSync('ip', '-n', ns, 'route', 'add', 'default', 'via', REAL_HOST_IP);
    }
  }

  /** Remove everything setup() makes; safe to call more than once, and on a partial setup. */
  cleanup(): void {
    for (let i = 1; i <= this.count; i++) quietSync('ip', 'netns', 'del', `ov-h${i}`);
    quietSync('ip', 'link', 'del', UNDERLAY_BRIDGE);
    for (const parent of ['DOCKER-USER', 'FORWARD']) {
      while (chainExists(parent) && ruleExists(parent)) quietSync('iptables', '-w', '-D', parent, '-j', CHAIN);
    }
    quietSync('iptables', '-w', '-F', CHAIN);
    quietSync('iptables', '-w', '-X', CHAIN);
  }
}

const succeeds = (...argv: string[]): boolean => spawnSync(argv[0], argv.slice(1), {stdio: 'ignore'}).status === 0;
const chainExists = (chain: string): boolean => succeeds('iptables', '-w', '-S', chain);
const ruleExists = (parent: string): boolean => succeeds('iptables', '-w', '-C', parent, '-j', CHAIN);
