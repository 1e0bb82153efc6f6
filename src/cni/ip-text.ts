import {cidrString, ipString, isV4 as isV4Addr, networkOf, parseAddr, parseCidr, parseIP, unmapV4, type Cidr} from '../net/addr.js';

/**
 * Textual IPs and CIDRs printed the way Go's net.IP / net.IPNet print them:
 * IPv4 (and IPv4-mapped IPv6) as dotted quad, IPv6 compressed (RFC 5952),
 * a network as its masked address. Used to render results byte-identically.
 * Parsing and text come from src/net/addr.ts.
 */

/** Is this textual IP (or CIDR) IPv4, as Go's To4() decides? */
export function isV4(ipOrCidr: string): boolean {
  const a = parseIP(ipOrCidr.split('/')[0]);
  return a !== undefined && isV4Addr(a);
}

/** A canonical IP, or throws `invalid IP address: <s>`. */
export function canonicalIp(s: string): string {
  const a = parseIP(s);
  if (!a) throw new Error(`invalid IP address: ${s}`);
  return ipString(a);
}

function checkedCidr(s: string): Cidr {
  const c = /^[^/]+\/\d{1,3}$/.test(s) ? parseCidr(s) : undefined;
  if (!c) throw new Error(`invalid CIDR address: ${s}`);
  return c;
}

/** "10.1.2.3/24" stays a host address with its prefix, canonicalised. */
export function canonicalCidr(s: string): string {
  return cidrString(checkedCidr(s));
}

/** "10.1.2.3/24" → "10.1.2.0/24": the network, as Go prints an IPNet from ParseCIDR. */
export function maskedCidr(s: string): string {
  const {prefix} = checkedCidr(s);
  return `${ipString(unmapV4(networkOf({ip: parseAddr(s.split('/')[0])!, prefix})))}/${prefix}`;
}
