import type {RunResult, Runner} from '../exec/runner.js';
import {CommandError, netnsRunner} from '../exec/runner.js';

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
    run = await hostQueue(runner).submit(input, lines.filter(prints).length);
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
 * Group commit for the host's `ip -j -d -batch -`, as iptables.ts does for
 * iptables-restore: inputs submitted while a batch is running go together
 * in the next one, so a bulk attach runs a handful of `ip`
 * processes for its veth pairs and link reads instead of two per target.
 * Each command is applied on its own either way; the outcome is split back
 * per caller by the commands that print: when the combined run stops at
 * command N, the inputs before the one holding N succeeded, that one failed
 * (N made relative to its own input, as a run of its own would say, with
 * what it printed), and the ones after it are queued again.
 */
const MAX_INPUTS_PER_BATCH = 64;
/** One at a time: the kernel takes these link changes one after another anyway (RTNL), and a longer wait makes a bigger batch. */
const MAX_PARALLEL_BATCHES = 1;

interface BatchJob {
  input: string;
  commands: number;
  printing: number;
  done(r: RunResult): void;
  fail(err: unknown): void;
}

class HostBatchQueue {
  private readonly pending: BatchJob[] = [];
  private running = 0;

  constructor(private readonly runner: Runner) {}

  submit(input: string, printing: number): Promise<RunResult> {
    return new Promise((done, fail) => {
      this.pending.push({input, commands: input.split('\n').length - 1, printing, done, fail});
      if (this.running < MAX_PARALLEL_BATCHES) void this.pump();
    });
  }

  private exec(input: string): Promise<RunResult> {
    return this.runner.run('ip', JSON_BATCH, {input, reject: false});
  }

  private async pump(): Promise<void> {
    this.running++;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_INPUTS_PER_BATCH);
        try {
          await this.runBatch(batch);
        } catch (err) {
          for (const j of batch) j.fail(err);
        }
      }
    } finally {
      this.running--;
    }
  }

  private async runBatch(batch: BatchJob[]): Promise<void> {
    if (batch.length === 1) {
      batch[0].done(await this.exec(batch[0].input));
      return;
    }
    const r = await this.exec(batch.map((j) => j.input).join(''));
    const failed = r.exitCode === 0 ? undefined : failedBatchLine(r.stderr);
    if (r.exitCode !== 0 && failed === undefined) {
      // No command named (ip could not start, say): each input runs on its own.
      for (const j of batch) j.done(await this.exec(j.input));
      return;
    }
    const out = r.stdout.split('\n').filter((t) => t.trim());
    let first = 1;
    let printed = 0;
    for (const [k, j] of batch.entries()) {
      const last = first + j.commands - 1;
      if (failed === undefined || failed > last) {
        j.done({
          stdout: out
            .slice(printed, printed + j.printing)
            .map((t) => `${t}\n`)
            .join(''),
          stderr: '',
          exitCode: 0,
        });
      } else {
        const stderr = r.stderr.replace(/Command failed -:(\d+)/, (_m, n: string) => `Command failed -:${Number(n) - first + 1}`);
        j.done({
          stdout: out
            .slice(printed)
            .map((t) => `${t}\n`)
            .join(''),
          stderr,
          exitCode: r.exitCode,
        });
        this.pending.unshift(...batch.slice(k + 1));
        return;
      }
      first = last + 1;
      printed += j.printing;
    }
  }
}

const hostQueues = new WeakMap<Runner, HostBatchQueue>();

function hostQueue(runner: Runner): HostBatchQueue {
  let q = hostQueues.get(runner);
  if (!q) hostQueues.set(runner, (q = new HostBatchQueue(runner)));
  return q;
}

/** The 1-based number of the command an `ip -batch` failure stopped at, if stderr says. */
export function failedBatchLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
