import type {RunResult, Runner} from '../exec/runner.js';
import {CommandError, netnsRunner} from '../exec/runner.js';
import {GroupCommit} from '../exec/group-commit.js';

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

/** Run one `ip` command (a write: what it prints is not read). */
export async function ip(runner: Runner, line: IpLine, netns?: string): Promise<void> {
  await inNetns(runner, netns).run('ip', line, {discard: 'stdout'});
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
  await inNetns(runner, netns).run('ip', ['-batch', '-'], {input, discard: 'stdout'});
}

/**
 * Several commands in one `ip -j -d -batch -`, reads and writes mixed: each
 * command that prints gives one JSON line, in order. The batch stops at the
 * first failing command (its 1-based number is in stderr as `-:N`); with
 * `reject: false` the caller gets what was printed up to there. In the host
 * namespace the batches of concurrent callers share a process (HostBatchQueue).
 */
export async function ipJsonBatch(
  runner: Runner,
  lines: readonly IpLine[],
  netns?: string,
  reject = true,
): Promise<{outputs: unknown[][]; run: RunResult}> {
  const input = batchInput(lines);
  let run: RunResult;
  if (netns) {
    run = await inNetns(runner, netns).run('ip', JSON_BATCH, {input, reject});
  } else {
    run = await hostQueue(runner).submit({input, commands: input.split('\n').length - 1, printing: lines.filter(prints).length});
    if (reject && run.exitCode !== 0) throw new CommandError(['ip', ...JSON_BATCH], run.exitCode, run.stdout, run.stderr);
  }
  return {outputs: jsonLines(run.stdout), run};
}

const JSON_BATCH = ['-j', '-d', '-batch', '-'];

/** Whether a command prints (one JSON line under -j): the reads, `show`; writes print nothing. */
const prints = (line: IpLine): boolean => line[1] === 'show';

function jsonLines(stdout: string): unknown[][] {
  return stdout
    .split('\n')
    .filter((t) => t.trim())
    .map((t) => JSON.parse(t) as unknown[]);
}

/**
 * The host's `ip -j -d -batch -` through a group commit
 * (src/exec/group-commit.ts), so a bulk attach runs a handful of `ip`
 * processes for its veth pairs and link reads instead of two per target.
 * Each command is applied on its own either way; a combined run splits back
 * per caller by the command number `ip` names and by the commands that print.
 */
const MAX_INPUTS_PER_BATCH = 64;
/** One at a time: the kernel takes these link changes one after another anyway (RTNL), and a longer wait makes a bigger batch. */
const MAX_PARALLEL_BATCHES = 1;

interface BatchJob {
  input: string;
  /** How many commands the input holds, and how many of them print. */
  commands: number;
  printing: number;
}

const printedLines = (lines: string[]): string => lines.map((t) => `${t}\n`).join('');

/** The combined batch's outcome per input: by the failing command `ip` names, and each input's share of the printed lines. */
function splitBatch(jobs: readonly BatchJob[], r: RunResult): RunResult[] | undefined {
  const failed = r.exitCode === 0 ? undefined : failedBatchLine(r.stderr);
  // No command named (ip could not start, say): each input runs on its own.
  if (r.exitCode !== 0 && failed === undefined) return undefined;
  const out = r.stdout.split('\n').filter((t) => t.trim());
  const results: RunResult[] = [];
  let first = 1;
  let printed = 0;
  for (const j of jobs) {
    const last = first + j.commands - 1;
    if (failed !== undefined && failed <= last) {
      const stderr = r.stderr.replace(/Command failed -:(\d+)/, (_m, n: string) => `Command failed -:${Number(n) - first + 1}`);
      results.push({stdout: printedLines(out.slice(printed)), stderr, exitCode: r.exitCode});
      return results;
    }
    results.push({stdout: printedLines(out.slice(printed, printed + j.printing)), stderr: '', exitCode: 0});
    first = last + 1;
    printed += j.printing;
  }
  return results;
}

const hostQueues = new WeakMap<Runner, GroupCommit<BatchJob>>();

function hostQueue(runner: Runner): GroupCommit<BatchJob> {
  let q = hostQueues.get(runner);
  if (!q) {
    const exec = (input: string): Promise<RunResult> => runner.run('ip', JSON_BATCH, {input, reject: false});
    hostQueues.set(runner, (q = new GroupCommit<BatchJob>({exec, split: splitBatch}, MAX_INPUTS_PER_BATCH, MAX_PARALLEL_BATCHES)));
  }
  return q;
}

/** The 1-based number of the command an `ip -batch` failure stopped at, if stderr says. */
export function failedBatchLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
