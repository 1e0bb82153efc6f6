import type {NetworkConfigList} from '../cni/config.js';
import type {Result} from '../cni/types.js';
import {UserError} from '../errors.js';
import {canonicalIp, isV4, parseAddr, parseIP} from '../util/ip.js';
import {formatPort, type PortMapping, type Protocol} from './port-mapping.js';

export {formatPort, type PortMapping, type Protocol} from './port-mapping.js';

/**
 * Published ports: `attach --publish [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`
 * becomes the `portMappings` capability argument (CNI CONVENTIONS), handed in
 * `runtimeConfig` to the plugins of the list that declare it (the reference
 * `portmap`). Everything here is pure: parsing, the collision rules, and
 * reading mappings back from a cache entry.
 */
export const PORT_MAPPINGS = 'portMappings';

const PORT = /^[1-9][0-9]{0,4}$/;

function bad(spec: string, why: string): UserError {
  return new UserError(`invalid --publish ${JSON.stringify(spec)}: ${why}`);
}

function port(spec: string, s: string, what: string): number {
  const n = PORT.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 65535)) throw bad(spec, `${what} ${JSON.stringify(s)} is not a port number from 1 to 65535`);
  return n;
}

function hostAddress(spec: string, s: string, bracketed: boolean): string {
  const a = parseAddr(s);
  if (!a) throw bad(spec, `host address ${JSON.stringify(s)} is not an IP address`);
  if (bracketed && isV4(a)) throw bad(spec, 'brackets are for IPv6 host addresses only');
  // Go reads ::ffff:a.b.c.d as IPv4 and portmap would hand iptables the IPv6 text.
  if (!isV4(a) && isV4(parseIP(s)!)) throw bad(spec, `write the IPv4-mapped host address ${JSON.stringify(s)} as ${canonicalIp(s)}`);
  return canonicalIp(s);
}

/** One --publish value; throws a one-line UserError naming the value and what is wrong with it. */
export function parsePublish(spec: string): PortMapping {
  let rest = spec;
  let protocol: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') throw bad(spec, `protocol ${JSON.stringify(p)} is not tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIP: string | undefined;
  let ports: string[];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw bad(spec, 'expected [HOSTIP]:HOSTPORT:CONTAINERPORT');
    hostIP = hostAddress(spec, rest.slice(1, close), true);
    ports = rest.slice(close + 2).split(':');
    if (ports.length !== 2) throw bad(spec, 'expected [HOSTIP]:HOSTPORT:CONTAINERPORT');
  } else {
    const parts = rest.split(':');
    if (parts.length > 3) throw bad(spec, 'an IPv6 host address goes in brackets: [ADDRESS]:HOSTPORT:CONTAINERPORT');
    if (parts.length < 2) throw bad(spec, 'expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]');
    if (parts.length === 3) hostIP = hostAddress(spec, parts[0], false);
    ports = parts.slice(-2);
  }
  const m: PortMapping = {hostPort: port(spec, ports[0], 'host port'), containerPort: port(spec, ports[1], 'container port'), protocol};
  if (hostIP !== undefined) m.hostIP = hostIP;
  return m;
}

/** The --publish value that asks for `m` again (watch re-attaches a persistent attachment with it). */
export function publishSpec(m: PortMapping): string {
  const host = m.hostIP === undefined ? '' : m.hostIP.includes(':') ? `[${m.hostIP}]:` : `${m.hostIP}:`;
  return `${host}${m.hostPort}:${m.containerPort}/${m.protocol}`;
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function unspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/**
 * Whether two mappings claim the same host socket: same protocol and host
 * port, and host addresses that overlap (either absent, equal, or one the
 * unspecified address of the other's family). portmap does not reserve host
 * ports: the DNAT rule that comes first would win, silently.
 */
export function collides(a: PortMapping, b: PortMapping): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  if (a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP) return true;
  return familyOf(a.hostIP) === familyOf(b.hostIP) && (unspecified(a.hostIP) || unspecified(b.hostIP));
}

/** Every --publish value parsed, refusing one that claims a host port another one already claims. */
export function parsePublishList(specs: readonly string[]): PortMapping[] {
  const out: PortMapping[] = [];
  for (const s of specs) {
    const m = parsePublish(s);
    const clash = out.find((o) => collides(o, m));
    if (clash) throw bad(s, `host port ${m.hostPort}/${m.protocol} is already published by --publish ${formatPort(clash)}`);
    out.push(m);
  }
  return out;
}

/** Whether any plugin of the list declares the capability (`"capabilities": {"<cap>": true}`). */
export function declares(list: NetworkConfigList, cap: string): boolean {
  return list.plugins.some((p) => {
    const caps = p.raw.capabilities as Record<string, unknown> | undefined;
    return Boolean(caps && typeof caps === 'object' && caps[cap] === true);
  });
}

/**
 * The capability arguments of one attach: `portMappings` from --publish and
 * `ips` from --ip, each only when a plugin of the list declares it (libcni
 * hands a plugin only the ones it declares; the cache keeps what was asked).
 */
export function capabilityArgsFor(
  list: NetworkConfigList,
  req: {ip?: string; publish: PortMapping[]},
): Record<string, unknown> | undefined {
  const caps: Record<string, unknown> = {};
  if (req.publish.length > 0) caps[PORT_MAPPINGS] = req.publish;
  if (req.ip && declares(list, 'ips')) caps.ips = [req.ip];
  return Object.keys(caps).length > 0 ? caps : undefined;
}

/**
 * The mappings a cache entry or pending record was made with. The cache is
 * our own file, but its values end up in iptables rules: an entry that is not
 * a well-formed mapping is left out.
 */
export function mappingsOf(capabilityArgs: Record<string, unknown> | undefined): PortMapping[] {
  const raw = capabilityArgs?.[PORT_MAPPINGS];
  if (!Array.isArray(raw)) return [];
  const out: PortMapping[] = [];
  for (const r of raw as Record<string, unknown>[]) {
    if (!r || typeof r !== 'object') continue;
    const {hostPort, containerPort, protocol, hostIP} = r;
    const okPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
    if (!okPort(hostPort) || !okPort(containerPort) || (protocol !== 'tcp' && protocol !== 'udp')) continue;
    if (hostIP !== undefined && (typeof hostIP !== 'string' || !parseAddr(hostIP))) continue;
    out.push(hostIP === undefined ? {hostPort, containerPort, protocol} : {hostPort, containerPort, protocol, hostIP});
  }
  return out;
}

/** Two lists of mappings ask for the same thing (in any order). */
export function sameMappings(a: PortMapping[], b: PortMapping[]): boolean {
  const key = (m: PortMapping): string => formatPort(m);
  return a.length === b.length && a.map(key).sort().join(' ') === b.map(key).sort().join(' ');
}

/**
 * The container's IPv4 addresses on `ifname` in a result, chosen as portmap
 * chooses them: an address whose interface index names another interface, or
 * one outside a sandbox, is skipped.
 */
export function containerV4(result: Result, ifname: string): string[] {
  const ifaces = result.interfaces ?? [];
  const out: string[] = [];
  for (const ip of result.ips ?? []) {
    if (ip.interface !== undefined && ip.interface >= 0 && ip.interface < ifaces.length) {
      const i = ifaces[ip.interface];
      if (i.name !== ifname || !i.sandbox) continue;
    }
    const host = ip.address.split('/')[0];
    const a = parseIP(host);
    if (a && isV4(a)) out.push(canonicalIp(host));
  }
  return out;
}
