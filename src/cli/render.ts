import type {ListedAttachment} from '../runtime/list-attachments.js';
import {renderTable, tableOptions, type Column} from '../output/table.js';

/**
 * The attachment table of `list`. chalk is loaded only to colour a terminal:
 * its import (supports-color, tty) costs ~10 ms of start-up that piped output
 * never uses.
 */
export async function attachmentTable(rows: ListedAttachment[], stream: {isTTY?: boolean}, env: Record<string, string | undefined>): Promise<string> {
  const opts = tableOptions(stream, env);
  if (!opts.color) return renderTable(rows, attachmentColumns(), opts);
  const {Chalk} = await import('chalk');
  const c = new Chalk({level: 1});
  const stateColor = (s: string) => (s === 'running' ? c.green : s === 'gone' ? c.red : c.yellow);
  return renderTable(rows, attachmentColumns((r) => stateColor(r.state)), opts, c.bold);
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
  ];
}
