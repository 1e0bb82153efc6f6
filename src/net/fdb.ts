import type {Runner} from '../exec/runner.js';
import {parseIpJson, type IpLine} from './iproute.js';

/**
 * Forwarding database entries of a device (`bridge fdb`), as the overlay's
 * vxlan device uses them: a MAC sent to a remote tunnel endpoint. Reads are
 * `bridge -j`, writes one `bridge -batch -`.
 */
export interface FdbEntry {
  mac: string;
  /** The remote endpoint the MAC is sent to. */
  dst: string;
}

/** The device's own (`self`) entries that have a destination, from `bridge -j fdb show` output. */
export function parseFdb(json: unknown): FdbEntry[] {
  const list = Array.isArray(json) ? (json as {mac?: unknown; dst?: unknown; flags?: unknown}[]) : [];
  return list
    .filter(
      (f) => typeof f?.mac === 'string' && typeof f.dst === 'string' && f.dst !== '' && Array.isArray(f.flags) && f.flags.includes('self'),
    )
    .map((f) => ({mac: f.mac as string, dst: f.dst as string}));
}

export async function listFdb(runner: Runner, dev: string): Promise<FdbEntry[]> {
  const {stdout} = await runner.run('bridge', ['-j', 'fdb', 'show', 'dev', dev]);
  return parseFdb(parseIpJson(stdout));
}

/** The command that sends `mac` to `dst` through `dev`, permanently (replace: idempotent). */
export function fdbReplaceLine(mac: string, dev: string, dst: string): IpLine {
  return ['fdb', 'replace', mac, 'dev', dev, 'dst', dst, 'self', 'permanent'];
}

export function fdbDelLine(mac: string, dev: string): IpLine {
  return ['fdb', 'del', mac, 'dev', dev, 'self'];
}

/** `bridge -batch -`, one process for many FDB writes; tokens come from validated values only. */
export async function fdbBatch(runner: Runner, lines: readonly IpLine[]): Promise<void> {
  if (lines.length === 0) return;
  for (const tok of lines.flat())
    if (!tok || /[\s"'\\#]/.test(tok)) throw new Error(`refusing unsafe token in bridge batch: ${JSON.stringify(tok)}`);
  if (lines.length === 1) await runner.run('bridge', lines[0]);
  else await runner.run('bridge', ['-batch', '-'], {input: lines.map((l) => l.join(' ')).join('\n') + '\n'});
}
