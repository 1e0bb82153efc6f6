/**
 * IP address and CIDR arithmetic on bigints, with the textual forms the
 * reference prints (Go's net.IP.String: dotted quad, RFC 5952 compressed IPv6).
 */
export type Family = 4 | 6;

export interface IpAddr {
  family: Family;
  value: bigint;
}

export interface Cidr {
  ip: IpAddr;
  prefix: number;
}

const bits = (f: Family): number => (f === 4 ? 32 : 128);

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let tail = s;
  let v4tail: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    v4tail = parseV4(s.slice(lastColon + 1));
    if (v4tail === undefined) return undefined;
    tail = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (v4tail !== undefined) v = (v & ~0xffffffffn) | v4tail;
  return v;
}

export function parseIp(s: string): IpAddr | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : {family: 6, value: v};
  }
  const v = parseV4(s);
  return v === undefined ? undefined : {family: 4, value: v};
}

export function formatIp(a: IpAddr): string {
  if (a.family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((a.value >> sh) & 0xffn)).join('.');
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** "10.1.2.3/24" keeping the host bits (as Go's ParseCIDR + IP does). */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const ip = parseIp(m[1]);
  const prefix = Number(m[2]);
  if (!ip || prefix > bits(ip.family)) return undefined;
  return {ip, prefix};
}

export function maskOf(family: Family, prefix: number): bigint {
  const total = bits(family);
  const all = (1n << BigInt(total)) - 1n;
  return all ^ ((1n << BigInt(total - prefix)) - 1n);
}

/** The network address of a CIDR. */
export function networkOf(c: Cidr): IpAddr {
  return {family: c.ip.family, value: c.ip.value & maskOf(c.ip.family, c.prefix)};
}

/** "10.1.2.0/24" for "10.1.2.3/24". */
export function networkString(c: Cidr): string {
  return `${formatIp(networkOf(c))}/${c.prefix}`;
}

/** "10.1.2.3/24" in canonical text. */
export function cidrString(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

export function nextIp(a: IpAddr): IpAddr {
  return {family: a.family, value: a.value + 1n};
}

export function cidrContains(c: Cidr, a: IpAddr): boolean {
  if (c.ip.family !== a.family) return false;
  const m = maskOf(a.family, c.prefix);
  return (c.ip.value & m) === (a.value & m);
}

/** Go's net.IP.IsGlobalUnicast for the addresses we meet. */
export function isGlobalUnicast(a: IpAddr): boolean {
  if (a.family === 4) {
    const first = Number(a.value >> 24n);
    return a.value !== 0n && a.value !== 0xffffffffn && first !== 127 && first < 224 && !(first === 169 && Number((a.value >> 16n) & 0xffn) === 254);
  }
  const top = a.value >> 112n;
  return a.value > 1n && (top & 0xffc0n) !== 0xfe80n && (top & 0xff00n) !== 0xff00n;
}

/** Canonical text of an IP string, or the input when it does not parse. */
export function canonicalIp(s: string): string {
  const a = parseIp(s);
  return a ? formatIp(a) : s;
}
