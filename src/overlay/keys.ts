/**
 * flannel's etcd layout: the network at `<prefix>/config`, one key per host
 * lease at `<prefix>/subnets/<ip>-<len>` (e.g. 10.240.3.0-24). Every name
 * that goes into a key is checked here first.
 */
import {cidrString, ipString, isV4, networkOf, parseIP, type Cidr} from '../util/ip.js';

export const DEFAULT_PREFIX = '/coreos.com/network';
const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** An etcd prefix as given in a config: `/a/b` (a trailing `/` is dropped). Throws when unsafe. */
export function parsePrefix(text: string): string {
  if (typeof text !== 'string' || !text.startsWith('/')) throw new Error(`etcd prefix ${JSON.stringify(text)} must start with /`);
  if (text.length > 256) throw new Error('etcd prefix longer than 256 characters');
  const p = text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text;
  const segments = p.split('/').slice(1);
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === '.' || s === '..') {
      throw new Error(`etcd prefix ${JSON.stringify(text)}: each part must be letters, digits, '.', '_' or '-' (and not '.' or '..')`);
    }
  }
  return p;
}

export const configKey = (prefix: string): string => `${prefix}/config`;
export const subnetsPrefix = (prefix: string): string => `${prefix}/subnets/`;

/** `10.240.3.0-24` for 10.240.3.0/24. */
export function subnetKeyName(subnet: Cidr): string {
  return `${ipString(subnet.ip)}-${subnet.prefix}`;
}

export function subnetKey(prefix: string, subnet: Cidr): string {
  return `${subnetsPrefix(prefix)}${subnetKeyName(subnet)}`;
}

/**
 * The IPv4 subnet a key name stands for, or undefined when it is not one.
 * Canonical only: a dotted quad without leading zeros and with its host bits
 * clear, a length of 0..32. flannel's dual-stack names (`<v4>&<v6>-<len>`)
 * are read for their IPv4 part, since that subnet is taken all the same.
 */
export function parseSubnetKeyName(name: string): Cidr | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})-(\d{1,2})(?:&[0-9a-f:]{2,39}-\d{1,3})?$/.exec(name);
  if (!m) return undefined;
  const ip = parseIP(m[1]);
  const prefix = Number(m[2]);
  if (!ip || !isV4(ip) || ipString(ip) !== m[1] || prefix > 32) return undefined;
  const c: Cidr = {ip, prefix};
  if (cidrString({ip: networkOf(c), prefix}) !== `${m[1]}/${prefix}`) return undefined;
  return c;
}
