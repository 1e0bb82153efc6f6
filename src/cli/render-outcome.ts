import type {DryRunPlan} from '../runtime/attach.js';
import type {Attachment} from '../runtime/attachment.js';
import type {Outcome} from '../runtime/outcome.js';
import type {Detached} from '../runtime/detach.js';
import type {ListedAttachment} from '../runtime/list-attachments.js';
import {attachmentTable} from './render.js';

/**
 * The text output of attach, detach and list, from their typed outcomes
 * (which are also the --json payloads). `out` lines go to stdout, `err` lines
 * to stderr.
 */
export interface Lines {
  out: string[];
  err: string[];
}

export function attachLines(o: Outcome<Attachment | DryRunPlan>, json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  if (!json) {
    for (const a of o.done) {
      if ('dryRun' in a) {
        lines.out.push(`Would attach ${a.container} (${a.containerId}) in ${a.netns} as ${a.ifname}:`);
        for (const s of a.steps) lines.out.push(`  - ${s}`);
        lines.out.push(`Config:\n${JSON.stringify(a.config, null, 2)}`);
        continue;
      }
      if (a.note) lines.err.push(`Note: ${a.note}`);
      const verb = a.existing ? 'already attached' : 'attached';
      const gw = a.gateways.length ? ` gateway ${a.gateways.join(',')}` : '';
      lines.out.push(`${a.container}: ${verb} to ${a.network} as ${a.ifname} ${a.addresses.join(',') || '(no address)'}${gw}${a.mac ? ` mac ${a.mac}` : ''}`);
    }
    for (const f of o.failures) lines.err.push(`Error: ${f.message}`);
  }
  return lines;
}

export function detachLines(o: Outcome<Detached>, json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  if (!json) {
    if (o.done.length === 0 && o.failures.length === 0) lines.out.push('nothing to detach');
    for (const d of o.done) lines.out.push(`${d.container}: detached ${d.ifname} from ${d.network}`);
    for (const f of o.failures) lines.err.push(`Error: ${f.message}`);
  }
  return lines;
}

/** `list` without --json: a table on a terminal, tab-separated rows when piped (one string, as written). */
export async function listText(rows: ListedAttachment[], stream: {isTTY?: boolean}, env: Record<string, string | undefined>): Promise<string> {
  if (rows.length === 0 && stream.isTTY) return 'no attachments\n';
  return attachmentTable(rows, stream, env);
}
