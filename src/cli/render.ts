import type {ListedAttachment} from '../runtime/list-attachments.js';
import type {NetworkInfo} from '../runtime/list-networks.js';
import {renderTable, tableOptions, type Column} from '../output/table.js';
import {formatPort} from '../runtime/port-mapping.js';

/**
 * The attachment table of `list`. chalk is loaded only to colour a terminal:
 * its import (supports-color, tty) adds to the start-up (`npm run bench` times
 * it) of a command whose piped output never uses it.
 */
export async function attachmentTable(
  rows: ListedAttachment[],
  stream: {isTTY?: boolean},
  env: Record<string, string | undefined>,
): Promise<string> {
  const opts = tableOptions(stream, env);
  if (!opts.color) return renderTable(rows, attachmentColumns(), opts);
  const {Chalk} = await import('chalk');
  const c = new Chalk({level: 1});
  const stateColor = (s: string) => (s === 'running' ? c.green : s === 'gone' ? c.red : c.yellow);
  return renderTable(
    rows,
    attachmentColumns((r) => stateColor(r.state)),
    opts,
    c.bold,
  );
}

function attachmentColumns(stateColor?: (r: ListedAttachment) => (s: string) => string): Column<ListedAttachment>[] {
  return [
    {header: 'container', value: (r) => r.container},
    {header: 'id', value: (r) => (r.kind === 'container' ? r.containerId.slice(0, 12) : r.containerId)},
    {header: 'network', value: (r) => r.network},
    {header: 'type', value: (r) => r.type},
    {header: 'ifname', value: (r) => r.ifname},
    {header: 'addresses', value: (r) => r.addresses.join(',') || '-'},
    {header: 'mac', value: (r) => r.mac ?? '-'},
    {header: 'gateway', value: (r) => r.gateways.join(',') || '-'},
    {header: 'state', value: (r) => r.state, color: stateColor},
    // Last, so the columns scripts cut by position keep their places.
    {header: 'ports', value: (r) => (r.ports ?? []).map(formatPort).join(',') || '-'},
  ];
}

/** The table of `networks`: an unusable config in red, with its error in place of the file. */
export async function networkTable(
  nets: NetworkInfo[],
  stream: {isTTY?: boolean},
  env: Record<string, string | undefined>,
): Promise<string> {
  const opts = tableOptions(stream, env);
  if (!opts.color) return renderTable(nets, networkColumns(), opts);
  const {Chalk} = await import('chalk');
  const c = new Chalk({level: 1});
  return renderTable(
    nets,
    networkColumns((n) => (n.error ? c.red : undefined)),
    opts,
    c.bold,
  );
}

function networkColumns(fileColor?: (n: NetworkInfo) => ((s: string) => string) | undefined): Column<NetworkInfo>[] {
  return [
    {header: 'name', value: (n) => n.name || '-'},
    {header: 'type', value: (n) => n.type + (n.ipam ? `/${n.ipam}` : '') || '-'},
    {header: 'version', value: (n) => n.cniVersion || '-'},
    {header: 'subnets', value: (n) => n.subnets.join(' ') || '-'},
    {header: 'used', value: (n) => (n.used === undefined ? '-' : String(n.used))},
    {header: 'free', value: (n) => (n.free === undefined ? '-' : String(n.free))},
    {header: 'file', value: (n) => (n.error ? `${n.file}: ${n.error}` : n.file), color: fileColor},
  ];
}
