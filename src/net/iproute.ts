import type {RunResult, Runner} from '../exec/runner.js';
import {netnsRunner} from '../exec/runner.js';

/**
 * The `ip` process, the one way iproute2 is run: reads are `ip -j` (parsed by
 * each kernel object's module), writes go in one `ip -batch -` per namespace
 * where that saves processes. `netns` undefined means the host (caller's)
 * namespace.
 */

/** One `ip` command without the leading `ip`, e.g. ['link', 'set', 'dev', 'eth0', 'up']. */
export type IpLine = readonly string[];

export function inNetns(runner: Runner, netns?: string): Runner {
  return netns ? netnsRunner(runner, netns) : runner;
}

/** `ip -j ARGS...` parsed; empty output is an empty list. */
export async function ipRead(runner: Runner, args: readonly string[], netns?: string): Promise<unknown> {
  const {stdout} = await inNetns(runner, netns).run('ip', ['-j', ...args]);
  return parseIpJson(stdout);
}

/** One JSON answer of `ip -j`; empty output is an empty list. */
export function parseIpJson(text: string): unknown {
  const t = text.trim();
  return t ? (JSON.parse(t) as unknown) : [];
}

/** Run one `ip` command. */
export async function ip(runner: Runner, line: IpLine, netns?: string): Promise<void> {
  await inNetns(runner, netns).run('ip', line);
}

/**
 * Each line is an argv joined by single spaces, so only validated tokens (no
 * whitespace, quotes, backslash or `#`) may reach a batch, which every name
 * that gets here is.
 */
function batchInput(lines: readonly IpLine[]): string {
  for (const line of lines) {
    for (const tok of line) {
      if (!tok || /[\s"'\\#]/.test(tok)) throw new Error(`refusing unsafe token in ip batch: ${JSON.stringify(tok)}`);
    }
  }
  return lines.map((l) => l.join(' ')).join('\n') + '\n';
}

/** Several `ip` commands in one process (`ip -batch -`); a single one runs plainly. */
export async function ipBatch(runner: Runner, lines: readonly IpLine[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  const input = batchInput(lines);
  if (lines.length === 1) {
    await ip(runner, lines[0], netns);
    return;
  }
  await inNetns(runner, netns).run('ip', ['-batch', '-'], {input});
}

/**
 * Several commands in one `ip -j -d -batch -`, reads and writes mixed: each
 * command that prints gives one JSON line, in order. The batch stops at the
 * first failing command (its 1-based number is in stderr as `-:N`); with
 * `reject: false` the caller gets what was printed up to there.
 */
export async function ipJsonBatch(runner: Runner, lines: readonly IpLine[], netns?: string, reject = true): Promise<{outputs: unknown[][]; run: RunResult}> {
  const run = await inNetns(runner, netns).run('ip', ['-j', '-d', '-batch', '-'], {input: batchInput(lines), reject});
  const outputs: unknown[][] = [];
  for (const text of run.stdout.split('\n')) {
    if (text.trim()) outputs.push(JSON.parse(text) as unknown[]);
  }
  return {outputs, run};
}

/** The 1-based number of the command an `ip -batch` failure stopped at, if stderr says. */
export function failedBatchLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
