import type {OverlayInitResult} from '../runtime/overlay/init.js';
import type {OverlayStatus} from '../runtime/overlay/status.js';
import type {FollowReport, OverlaySyncReport, PeerChanges, PeerSyncReport} from '../runtime/overlay/sync.js';
import {renderTable, tableOptions} from '../output/table.js';
import type {Lines} from './lines.js';

/**
 * The text output of the overlay commands (and of `watch` for its overlay
 * networks), from their typed results, which are also the --json payloads.
 */

/** One line for a full sync, as `overlay sync` and `watch` print it. */
export function describeSync(r: OverlaySyncReport): string {
  const until = r.expiresAt ? `, lease until ${r.expiresAt}` : ' (reservation)';
  return `${r.network}: ${r.subnet} on ${r.publicIP} (${r.device} ${r.vtepMac} via ${r.uplink}${until}), ${r.peers.length} peer(s)${describeChanges(r.changes)}`;
}

/** One line for a peer sync that changed something. */
export function describePeers(r: PeerSyncReport): string {
  return `${r.network}: ${r.peers.length} peer(s)${describeChanges(r.changes)}`;
}

function describeChanges(c: PeerChanges): string {
  const parts = [...c.added.map((s) => `+${s}`), ...c.removed.map((s) => `-${s}`)];
  return parts.length ? ` (${parts.join(' ')})` : '';
}

export function overlayInitLines(r: OverlayInitResult, json: boolean): Lines {
  return {out: json ? [] : [`${r.written ? 'wrote' : 'already there:'} ${r.key} ${r.stored}`], err: []};
}

/** `overlay sync` once. */
export function overlaySyncLines(r: OverlaySyncReport, json: boolean): Lines {
  return {out: json ? [] : [describeSync(r)], err: []};
}

/**
 * `overlay sync --follow`, which never returns a result: one line per event
 * to `out` (a JSON line under --json), failures and reconnections to `err`,
 * each stamped.
 */
export function followReport(
  print: {out(line: string): void; err(line: string): void},
  json: boolean,
  stamp = (): string => new Date().toISOString(),
): FollowReport {
  return {
    synced: (r) => print.out(json ? JSON.stringify({event: 'synced', ...r}) : `${stamp()} synced ${describeSync(r)}`),
    peers: (r) => print.out(json ? JSON.stringify({event: 'peers', ...r}) : `${stamp()} peers ${describePeers(r)}`),
    info: (m) => print.err(`${stamp()} ${m}`),
  };
}

/** `overlay status` without --json: a heading, the lease table (this host's marked *), notes and bad keys to stderr. */
export function overlayStatusText(
  s: OverlayStatus,
  stream: {isTTY?: boolean},
  env: Record<string, string | undefined>,
  now = Date.now(),
): {out: string; err: string[]} {
  const heading = `${s.network}: overlay ${s.overlay.network}, /${s.overlay.subnetLen} per host, vxlan VNI ${s.overlay.vni} port ${s.overlay.port} (etcd ${s.endpoints.join(', ')}, prefix ${s.prefix})\n`;
  const left = (iso?: string): string =>
    iso ? `${iso} (${Math.max(0, Math.round((Date.parse(iso) - now) / 60_000))} min)` : 'never (reservation)';
  const table = renderTable(
    s.leases,
    [
      {header: '', value: (l) => (l.mine ? '*' : '')},
      {header: 'subnet', value: (l) => l.subnet},
      {header: 'public ip', value: (l) => l.publicIP},
      {header: 'vtep mac', value: (l) => l.vtepMac ?? '-'},
      {header: 'expires', value: (l) => left(l.expiresAt)},
    ],
    tableOptions(stream, env),
  );
  const err = [...(s.note ? [`Note: ${s.note}`] : []), ...s.invalid.map((e) => `warning: ${e.key}: ${e.error}`)];
  return {out: heading + table, err};
}
