import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {familyOf, maskOf, parseCidrAsWritten, type Cidr} from '../util/ip.js';
import {listRoutes} from '../net/route.js';
import {readSysctl} from '../net/sysctl.js';
import {FORWARD_CHAIN} from '../net/iptables-forward.js';
import {planGc} from './gc.js';
import {scanConfDir} from './conf-dir.js';
import {bridgesOf} from './network-config.js';
import {errorText} from '../util/error-text.js';

/**
 * `doctor`: one line per check, each with a fix when it is not fine. A
 * "fail" is something that breaks attachments (exit 1); a "warn" is worth
 * knowing but not wrong; "ok" explains what was found.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  check: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** The effective uid of the caller. */
  uid?: number;
}

const ok = (check: string, message: string): DoctorCheck => ({check, status: 'ok', message});
const fail = (check: string, message: string, fix: string): DoctorCheck => ({check, status: 'fail', message, fix});
const warn = (check: string, message: string, fix: string): DoctorCheck => ({check, status: 'warn', message, fix});

async function tryRun(deps: Deps, file: string, args: string[]): Promise<string | undefined> {
  try {
    return (await deps.runner.run(file, args)).stdout;
  } catch {
    return undefined;
  }
}

async function iptablesBackend(deps: Deps): Promise<DoctorCheck> {
  const v = await tryRun(deps, 'iptables', ['--version']);
  if (v === undefined) return fail('iptables', 'iptables is not installed', 'apt-get install iptables');
  const ours = /nf_tables/.test(v) ? 'nf_tables' : 'legacy';
  const hasDocker = (save: string | undefined): boolean => /^:DOCKER[ -]/m.test(save ?? '');
  if (hasDocker(await tryRun(deps, 'iptables-save', ['-t', 'filter'])))
    return ok('iptables', `iptables uses ${ours}, and Docker's chains are in the same backend`);
  const other = ours === 'nf_tables' ? 'legacy' : 'nft';
  if (hasDocker(await tryRun(deps, `iptables-${other}-save`, ['-t', 'filter']))) {
    return fail(
      'iptables',
      `iptables uses ${ours} but Docker's chains are in iptables-${other}: our forwarding and masquerade rules would not meet Docker's`,
      `switch to the backend Docker uses: update-alternatives --set iptables /usr/sbin/iptables-${other}`,
    );
  }
  return warn(
    'iptables',
    `iptables uses ${ours}; Docker's chains were not found in either backend`,
    'start dockerd (with its default --iptables=true)',
  );
}

async function ipForward(deps: Deps): Promise<DoctorCheck> {
  const v = await readSysctl(deps.runner, 'net/ipv4/ip_forward').catch(() => '?');
  if (v === '1') return ok('ip_forward', 'net.ipv4.ip_forward=1');
  return fail(
    'ip_forward',
    `net.ipv4.ip_forward=${v}: containers on a bridge cannot reach beyond the host`,
    'sysctl -w net.ipv4.ip_forward=1 (persist it in /etc/sysctl.d/)',
  );
}

async function forwarding(deps: Deps): Promise<DoctorCheck> {
  const nf = await readSysctl(deps.runner, 'net/bridge/bridge-nf-call-iptables').catch(() => 'unset (br_netfilter not loaded)');
  const fwd = (await tryRun(deps, 'iptables', ['-S', 'FORWARD'])) ?? '';
  const policy = /^-P FORWARD (\S+)/m.exec(fwd)?.[1] ?? 'unknown';
  const ours = (await tryRun(deps, 'iptables', ['-S', FORWARD_CHAIN])) ?? '';
  const bridges = [...new Set([...ours.matchAll(/cni-docker bridge ([^"]+)"/g)].map((m) => m[1]))];
  const open = bridges.length ? `; open now for ${bridges.join(', ')}` : '';
  if (nf === '1' && policy === 'DROP') {
    return ok(
      'forward',
      `bridge-nf-call-iptables=1 and FORWARD policy DROP (Docker): attach opens each CNI bridge in chain ${FORWARD_CHAIN} (jumped from DOCKER-USER) and closes it with its last attachment${open}`,
    );
  }
  return ok('forward', `bridge-nf-call-iptables=${nf}, FORWARD policy ${policy}: bridged traffic is not dropped by Docker's policy${open}`);
}

/** host-local subnets of a list (legacy `subnet` and `ranges`). */
export function subnetsOf(list: NetworkConfigList): string[] {
  const out: string[] = [];
  for (const p of list.plugins) {
    const ipam = p.raw.ipam as {type?: unknown; subnet?: unknown; ranges?: unknown} | undefined;
    if (!ipam || ipam.type !== 'host-local') continue;
    if (typeof ipam.subnet === 'string') out.push(ipam.subnet);
    if (Array.isArray(ipam.ranges))
      for (const set of ipam.ranges)
        if (Array.isArray(set)) for (const r of set as {subnet?: unknown}[]) if (typeof r?.subnet === 'string') out.push(r.subnet);
  }
  return out;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (familyOf(a.ip) !== familyOf(b.ip)) return false;
  const m = maskOf(familyOf(a.ip), Math.min(a.prefix, b.prefix));
  return (a.ip.getValue() & m) === (b.ip.getValue() & m);
}

async function subnetChecks(deps: Deps, lists: NetworkConfigList[]): Promise<DoctorCheck[]> {
  const others: {what: string; cidr: Cidr; dev?: string}[] = [];
  try {
    for (const n of (await deps.docker.listNetworks?.()) ?? []) {
      for (const c of n.IPAM?.Config ?? []) {
        const cidr = c.Subnet ? parseCidrAsWritten(c.Subnet) : undefined;
        if (cidr) others.push({what: `Docker network ${n.Name} (${c.Subnet})`, cidr});
      }
    }
  } catch {
    // Docker unreachable: reported by its own check; host routes still count
  }
  for (const f of [4, 6] as const) {
    for (const r of await listRoutes(deps.runner, f).catch(() => [])) {
      const cidr = r.dst === 'default' ? undefined : parseCidrAsWritten(r.dst.includes('/') ? r.dst : `${r.dst}/${f === 4 ? 32 : 128}`);
      if (cidr && !others.some((o) => o.cidr.prefix === cidr.prefix && o.cidr.ip.getValue() === cidr.ip.getValue()))
        others.push({what: `host route ${r.dst} dev ${r.dev ?? '?'}`, cidr, dev: r.dev});
    }
  }
  const out: DoctorCheck[] = [];
  for (const l of lists) {
    const macvlan = l.plugins.some((p) => p.network.type === 'macvlan' || p.network.type === 'ipvlan');
    const own = new Set(bridgesOf(l));
    for (const s of subnetsOf(l)) {
      const c = parseCidrAsWritten(s);
      if (!c) continue;
      // A macvlan subnet is meant to be the master's; a bridge's own route is expected.
      const hits = others.filter((o) => overlaps(c, o.cidr) && !(o.dev && (own.has(o.dev) || macvlan)));
      for (const h of hits)
        out.push(
          fail(
            'subnets',
            `network ${l.name} subnet ${s} overlaps ${h.what}: replies would be routed the wrong way`,
            `give ${l.name} a subnet that overlaps no Docker network or host route`,
          ),
        );
    }
  }
  if (out.length === 0) out.push(ok('subnets', `no subnet of ${lists.length} network config(s) overlaps Docker's networks or host routes`));
  return out;
}

async function confChecks(deps: Deps): Promise<{checks: DoctorCheck[]; lists: NetworkConfigList[]}> {
  const {existsSync} = await import('node:fs');
  if (!existsSync(deps.confDir)) {
    return {
      checks: [
        warn(
          'configs',
          `conf dir ${deps.confDir} does not exist: --net NAME cannot find networks (the default network uses the shipped configs/cni-docker.conf)`,
          `mkdir -p ${deps.confDir} and put network configs there (examples in configs/)`,
        ),
      ],
      lists: [],
    };
  }
  const files = await scanConfDir(deps.confDir);
  const checks: DoctorCheck[] = [];
  const lists: NetworkConfigList[] = [];
  for (const f of files) {
    if (f.list) {
      lists.push(f.list);
      checks.push(ok('configs', `${f.file}: network ${f.list.name} (${f.list.plugins.map((p) => p.network.type).join('+')}) is valid`));
    } else checks.push(fail('configs', `${f.file}: ${f.error}`, `fix or remove ${f.file}`));
  }
  if (files.length === 0)
    checks.push(warn('configs', `conf dir ${deps.confDir} holds no network configs`, 'copy an example from configs/ there'));
  return {checks, lists};
}

async function staleCheck(deps: Deps): Promise<DoctorCheck> {
  try {
    const items = await planGc(deps);
    if (items.length === 0) return ok('stale', 'no stale attachments, addresses, chains or leases');
    const kinds = new Map<string, number>();
    for (const i of items) kinds.set(i.kind, (kinds.get(i.kind) ?? 0) + 1);
    const names = [...new Set(items.map((i) => i.name))].slice(0, 5).join(', ');
    return fail(
      'stale',
      `gc would free ${[...kinds].map(([k, n]) => `${n} ${k}${n > 1 ? 's' : ''}`).join(', ')} of gone containers (${names})`,
      'cni-docker gc (preview with --dry-run)',
    );
  } catch (err) {
    return warn('stale', `cannot look for stale state: ${errorText(err)}`, 'make Docker reachable and run doctor again');
  }
}

export async function doctor(deps: Deps, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  checks.push(
    opts.uid === 0
      ? ok('root', 'running as root')
      : fail('root', `not running as root (uid ${opts.uid ?? '?'}): attach, detach and gc change the host's network`, 'run with sudo'),
  );
  try {
    const n = (await deps.docker.listContainers(false)).length;
    checks.push(ok('docker', `Docker is reachable at ${deps.docker.endpoint} (${n} running container(s))`));
  } catch (err) {
    checks.push(fail('docker', errorText(err), 'start dockerd (or set DOCKER_HOST)'));
  }
  checks.push(await iptablesBackend(deps));
  checks.push(await ipForward(deps));
  checks.push(await forwarding(deps));
  const conf = await confChecks(deps);
  checks.push(...conf.checks);
  checks.push(...(await subnetChecks(deps, conf.lists)));
  const {overlayChecks} = await import('./overlay/doctor.js');
  checks.push(...(await overlayChecks(deps)));
  checks.push(await staleCheck(deps));
  return {ok: !checks.some((c) => c.status === 'fail'), checks};
}
