import {Chalk} from 'chalk';
import type {ListedAttachment} from '../runtime/list.js';
import {renderTable, tableOptions, type Column} from '../output/table.js';

/** The attachment table of `list` (and of `attach` on a terminal). */
export function attachmentTable(rows: ListedAttachment[], stream: {isTTY?: boolean}, env: Record<string, string | undefined>): string {
  const opts = tableOptions(stream, env);
  const c = new Chalk({level: opts.color ? 1 : 0});
  const stateColor = (s: string) => (s === 'running' ? c.green : s === 'gone' ? c.red : c.yellow);
  const columns: Column<ListedAttachment>[] = [
    {header: 'container', value: (r) => r.container},
    {header: 'id', value: (r) => (r.kind === 'container' ? r.containerId.slice(0, 12) : r.containerId)},
    {header: 'network', value: (r) => r.network},
    {header: 'type', value: (r) => r.type},
    {header: 'ifname', value: (r) => r.ifname},
    {header: 'addresses', value: (r) => r.addresses.join(',') || '-'},
    {header: 'mac', value: (r) => r.mac ?? '-'},
    {header: 'gateway', value: (r) => r.gateways.join(',') || '-'},
    {header: 'state', value: (r) => r.state, color: (r) => stateColor(r.state)},
  ];
  return renderTable(rows, columns, opts, c.bold);
}
