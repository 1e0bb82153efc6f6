import {isIPv4, isIPv6} from 'node:net';

/**
 * Textual IPs and CIDRs printed the way Go's net.IP / net.IPNet print them:
 * IPv4 (and IPv4-mapped IPv6) as dotted quad, IPv6 compressed (RFC 5952),
 * a network as its masked address. Used to render results byte-identically.
 */
export function parseIpBytes(s: string): number[] | undefined {
  if (isIPv4(s)) return s.split('.').map(Number);
  if (!isIPv6(s)) return undefined;
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...v4[1].split('.').map(Number));
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.split('::');
  const hs = head ? head.split(':') : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - hs.length - rs.length;
  const groups = [...hs, ...Array(fill).fill('0'), ...rs].map((g) => parseInt(g, 16));
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function isV4Mapped(b: number[]): boolean {
  return b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** The 4-byte form when the address is IPv4 (Go's To4), else undefined. */
function to4(b: number[]): number[] | undefined {
  if (b.length === 4) return b;
  return isV4Mapped(b) ? b.slice(12) : undefined;
}

export function formatIpBytes(b: number[]): string {
  const v4 = to4(b);
  if (v4) return v4.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Is this textual IP (or CIDR) IPv4, as Go's To4() decides? */
export function isV4(ipOrCidr: string): boolean {
  const b = parseIpBytes(ipOrCidr.split('/')[0]);
  return Boolean(b && to4(b));
}

/** A canonical IP, or throws `invalid IP address: <s>`. */
export function canonicalIp(s: string): string {
  const b = parseIpBytes(s);
  if (!b) throw new Error(`invalid IP address: ${s}`);
  return formatIpBytes(b);
}

function splitCidr(s: string): {bytes: number[]; prefix: number} {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const raw = m ? parseIpBytes(m[1]) : undefined;
  if (!m || !raw) throw new Error(`invalid CIDR address: ${s}`);
  const bytes = raw;
  const prefix = Number(m[2]);
  if (prefix > bytes.length * 8) throw new Error(`invalid CIDR address: ${s}`);
  return {bytes, prefix};
}

/** "10.1.2.3/24" stays a host address with its prefix, canonicalised. */
export function canonicalCidr(s: string): string {
  const {bytes, prefix} = splitCidr(s);
  return `${formatIpBytes(bytes)}/${prefix}`;
}

/** "10.1.2.3/24" → "10.1.2.0/24": the network, as Go prints an IPNet from ParseCIDR. */
export function maskedCidr(s: string): string {
  const {bytes, prefix} = splitCidr(s);
  const masked = bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return `${formatIpBytes(masked)}/${prefix}`;
}
