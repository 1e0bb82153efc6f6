/**
 * The DHCP test bed: a real dnsmasq in netns `<p>-srv` on `<p>v0`
 * (`<net>.1/24`); its veth peer `<p>v1` stays on the host with no address
 * and is the macvlan master; clients are macvlan children of `<p>v1` moved
 * into `<p>-c1` (or a --net=none container). dnsmasq binds only `<p>v0` and
 * our client only its interface, so no packet leaves these links.
 */
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';

export const nsPath = (n: string): string => `/var/run/netns/${n}`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function sh(file: string, args: string[]): string {
  return execFileSync(file, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}
export function quiet(file: string, args: string[]): void {
  spawnSync(file, args, {stdio: 'ignore'});
}
export function ping(netns: string, ip: string): boolean {
  return spawnSync('nsenter', [`--net=${netns}`, 'busybox', 'ping', '-c', '1', '-W', '2', ip], {stdio: 'ignore'}).status === 0;
}
export async function waitFor(what: string, ms: number, pred: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
/** dnsmasq's client-id column for our client id (type 0 + the id's bytes). */
export const hexId = (id: string): string => ['00', ...Buffer.from(id).toString('hex').match(/../g)!].join(':');

export interface ServerLease {
  expiry: number;
  mac: string;
  ip: string;
  clientId: string;
}

export class DhcpBed {
  readonly srv: string;
  readonly c1: string;
  /** The host end of the veth pair: the macvlan master. */
  readonly master: string;
  readonly serverIp: string;
  dir = '';
  private dnsmasq?: ChildProcess;

  /**
   * `prefix` e.g. "tdh" (names tdh-srv, tdh-c1, tdhv0, tdhv1, tdhm0); `net` the first three octets of its /24.
   * `ping`: dnsmasq pings an address before offering it (its default); a
   * second client that starts within seconds of the first's lease then gets
   * no offer from it before our client gives up, so a bed serving two
   * clients at once turns it off.
   */
  constructor(
    private readonly prefix: string,
    private readonly net: string,
    private readonly domain = `${prefix}.test`,
    private readonly ping = true,
  ) {
    this.srv = `${prefix}-srv`;
    this.c1 = `${prefix}-c1`;
    this.master = `${prefix}v1`;
    this.serverIp = `${net}.1`;
  }

  async setup(): Promise<void> {
    const p = this.prefix;
    this.dir = mkdtempSync(`/tmp/${p}-`);
    // An interrupted earlier run (killed before its after hook) leaves these behind.
    this.removeLinks();
    sh('ip', ['netns', 'add', this.srv]);
    sh('ip', ['netns', 'add', this.c1]);
    sh('ip', ['link', 'add', this.master, 'type', 'veth', 'peer', 'name', `${p}v0`, 'netns', this.srv]);
    sh('ip', ['-n', this.srv, 'addr', 'add', `${this.serverIp}/24`, 'dev', `${p}v0`]);
    sh('ip', ['-n', this.srv, 'link', 'set', `${p}v0`, 'up']);
    sh('ip', ['link', 'set', this.master, 'up']);
    this.newClientLink();
    this.dnsmasq = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.srv,
        'dnsmasq',
        '--no-daemon',
        '--port=0',
        '--user=root',
        '-C',
        '/dev/null',
        `--interface=${p}v0`,
        '--bind-interfaces',
        `--dhcp-range=${this.net}.50,${this.net}.150,255.255.255.0,2m`,
        `--dhcp-leasefile=${join(this.dir, 'leases')}`,
        `--dhcp-option=6,${this.serverIp}`,
        `--dhcp-option=15,${this.domain}`,
        '--dhcp-authoritative',
        ...(this.ping ? [] : ['--no-ping']),
        '--log-dhcp',
      ],
      {stdio: ['ignore', 'ignore', 'pipe']},
    );
    let log = '';
    this.dnsmasq.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor('dnsmasq to start', 5000, () => new RegExp(`DHCP, sockets bound exclusively to interface ${p}v0`).test(log));
  }

  /** A fresh macvlan child of the master in `<p>-c1` named eth1 (what the macvlan plugin would create). */
  newClientLink(): void {
    quiet('ip', ['-n', this.c1, 'link', 'del', 'eth1']);
    sh('ip', ['link', 'add', `${this.prefix}m0`, 'link', this.master, 'type', 'macvlan', 'mode', 'bridge']);
    sh('ip', ['link', 'set', `${this.prefix}m0`, 'netns', this.c1]);
    sh('ip', ['-n', this.c1, 'link', 'set', `${this.prefix}m0`, 'name', 'eth1']);
  }

  /** dnsmasq's lease file. */
  serverLeases(): ServerLease[] {
    const file = join(this.dir, 'leases');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [expiry, mac, ip, , clientId] = l.split(' ');
        return {expiry: Number(expiry), mac, ip, clientId};
      });
  }

  teardown(): void {
    this.dnsmasq?.kill('SIGTERM');
    this.removeLinks();
    if (this.dir) rmSync(this.dir, {recursive: true, force: true});
  }

  private removeLinks(): void {
    quiet('ip', ['netns', 'del', this.c1]);
    quiet('ip', ['netns', 'del', this.srv]);
    quiet('ip', ['link', 'del', this.master]);
  }
}
