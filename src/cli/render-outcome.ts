import type {DryRunPlan} from '../runtime/attach.js';
import type {Attachment} from '../runtime/attachment.js';
import type {Outcome} from '../runtime/outcome.js';
import type {Detached} from '../runtime/detach.js';
import type {ListedAttachment} from '../runtime/list-attachments.js';
import type {CheckReport} from '../runtime/check-attachments.js';
import type {DoctorReport} from '../runtime/doctor.js';
import type {GcResult} from '../runtime/gc.js';
import type {WatchReport} from '../runtime/watch/service.js';
import {attachmentTable} from './render.js';
import type {Lines} from './lines.js';
import {describePeers, describeSync} from './render-overlay.js';
import {formatPort} from '../runtime/port-mapping.js';

/**
 * The text output of the commands, from their typed outcomes (which are also
 * the --json payloads), as Lines (./lines.ts).
 */

export function attachLines(o: Outcome<Attachment | DryRunPlan>, json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  if (!json) {
    for (const a of o.done) {
      if ('dryRun' in a) {
        lines.out.push(
          `Would attach ${a.container} (${a.containerId}) in ${a.netns} as ${a.ifname}${a.ports?.length ? `, publishing ${a.ports.map(formatPort).join(', ')}` : ''}:`,
        );
        for (const s of a.steps) lines.out.push(`  - ${s}`);
        lines.out.push(`Config:\n${JSON.stringify(a.config, null, 2)}`);
        continue;
      }
      if (a.note) lines.err.push(`Note: ${a.note}`);
      const verb = a.existing ? 'already attached' : 'attached';
      const gw = a.gateways.length ? ` gateway ${a.gateways.join(',')}` : '';
      const ports = a.ports?.length ? ` ports ${a.ports.map(formatPort).join(',')}` : '';
      lines.out.push(
        `${a.container}: ${verb} to ${a.network} as ${a.ifname} ${a.addresses.join(',') || '(no address)'}${gw}${a.mac ? ` mac ${a.mac}` : ''}${ports}`,
      );
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
export async function listText(
  rows: ListedAttachment[],
  stream: {isTTY?: boolean},
  env: Record<string, string | undefined>,
): Promise<string> {
  if (rows.length === 0 && stream.isTTY) return 'no attachments\n';
  return attachmentTable(rows, stream, env);
}

export function checkLines(reports: CheckReport[], json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  if (!json) {
    for (const r of reports) {
      if (r.ok) lines.out.push(`${r.container} ${r.network} ${r.ifname}: ok`);
      else for (const p of r.problems) lines.out.push(`${r.container} ${r.network} ${r.ifname}: ${p}`);
    }
  }
  return lines;
}

export function doctorLines(r: DoctorReport, json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  const mark = {ok: 'ok  ', warn: 'warn', fail: 'FAIL'} as const;
  if (!json) for (const c of r.checks) lines.out.push(`${mark[c.status]} ${c.check}: ${c.message}${c.fix ? ` — fix: ${c.fix}` : ''}`);
  return lines;
}

/** What gc freed (or would free); its failures go to stderr with --json too. */
export function gcLines(r: GcResult, json: boolean): Lines {
  const lines: Lines = {out: [], err: []};
  if (!json) {
    const verb = r.dryRun ? 'would free' : 'freed';
    for (const i of r.freed) {
      lines.out.push(
        `${verb} ${i.kind} ${i.detail} of ${i.name}${i.containerId ? ` (${i.containerId.slice(0, 12)})` : ''}${i.network ? ` on ${i.network}${i.ifname ? `/${i.ifname}` : ''}` : ''}: ${i.reason}`,
      );
    }
    if (r.freed.length === 0) lines.out.push('nothing to free');
    const n = `${r.validAttachments} valid attachment${r.validAttachments === 1 ? '' : 's'}`;
    for (const g of r.gc) lines.out.push(`${r.dryRun ? 'would send' : 'sent'} GC to ${g.plugins.join(', ')} of ${g.network} (${n})`);
  }
  for (const f of r.failures) lines.err.push(`Error: ${f.message}`);
  return lines;
}

/** The lines `watch` prints as it goes: actions to `out`, everything else to `err`, each with a timestamp. */
export function watchReport(
  print: {out(line: string): void; err(line: string): void},
  json: boolean,
  stamp = (): string => new Date().toISOString(),
): WatchReport {
  return {
    info: (m) => print.err(`${stamp()} ${m}`),
    overlay: {
      synced: (r) => print.err(`${stamp()} overlay ${describeSync(r)}`),
      peers: (r) => print.err(`${stamp()} overlay ${describePeers(r)}`),
    },
    gc: (freed) => {
      for (const i of freed) print.err(`${stamp()} gc: freed ${i.kind} ${i.detail} of ${i.name} on ${i.network} (${i.reason})`);
    },
    action: (a) => {
      if (json) return print.out(JSON.stringify(a));
      const what = [a.ifname, ...(a.addresses ?? []), a.mac].filter(Boolean).join(' ');
      const lat = a.latencyMs !== undefined ? ` ${Math.round(a.latencyMs)} ms after ${a.event}` : ` (${a.event})`;
      print.out(`${stamp()} ${a.action} ${a.name} ${a.network}${what ? ` ${what}` : ''}${lat}${a.message ? `: ${a.message}` : ''}`);
    },
  };
}
