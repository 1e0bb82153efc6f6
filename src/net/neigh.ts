import type {IpLine} from './iproute.js';

/** Neighbour (ARP) entries, as the overlay's vxlan device uses them: a VTEP address's MAC, permanent. */
export interface NeighEntry {
  ip: string;
  mac: string;
}

/** The permanent IPv4 entries with a link-layer address, from `ip -j neigh show` output. */
export function parsePermanentNeigh(json: unknown): NeighEntry[] {
  const list = Array.isArray(json) ? (json as {dst?: unknown; lladdr?: unknown; state?: unknown}[]) : [];
  return list
    .filter(
      (n) =>
        typeof n?.dst === 'string' &&
        !n.dst.includes(':') &&
        typeof n.lladdr === 'string' &&
        n.lladdr !== '' &&
        Array.isArray(n.state) &&
        n.state.includes('PERMANENT'),
    )
    .map((n) => ({ip: n.dst as string, mac: n.lladdr as string}));
}

export function neighShowLine(dev: string): IpLine {
  return ['neigh', 'show', 'dev', dev];
}

/** The command that gives `ip` the MAC `mac` on `dev`, permanently (replace: idempotent). */
export function neighReplaceLine(ip: string, mac: string, dev: string): IpLine {
  return ['neigh', 'replace', ip, 'lladdr', mac, 'dev', dev, 'nud', 'permanent'];
}

export function neighDelLine(ip: string, dev: string): IpLine {
  return ['neigh', 'del', ip, 'dev', dev];
}
