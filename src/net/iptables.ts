import {CommandError, type RunResult, type Runner} from '../exec/runner.js';
import type {Family} from '../util/ip.js';

/**
 * iptables and ip6tables as processes: table reads parsed into chains and
 * rules, and every write one `iptables-restore --noflush -w` input, sent
 * through a group commit.
 */

/** A table's chains and its rules as iptables-save prints them (`-A CHAIN ...`), in order. */
export interface RuleTable {
  chains: Set<string>;
  rules: string[];
}

/** Parse a table out of `iptables-save -t TABLE` output (`:CHAIN` declarations, `-A` rules). */
export function parseNatSave(text: string): RuleTable {
  const chains = new Set<string>();
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) chains.add(line.slice(1).split(' ')[0]);
    else if (line.startsWith('-A ')) rules.push(line.trimEnd());
  }
  return {chains, rules};
}

/** Parse `iptables -S` output (`-P` built-in chains, `-N` the others, `-A` rules). */
export function parseRuleList(text: string): RuleTable {
  const chains = new Set<string>();
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('-P ') || line.startsWith('-N ')) chains.add(line.split(' ')[1]);
    else if (line.startsWith('-A ')) rules.push(line);
  }
  return {chains, rules};
}

export const iptablesTool = (f: Family, what: 'save' | 'restore'): string => `${f === 4 ? 'iptables' : 'ip6tables'}-${what}`;

/** The nat table of one family (iptables-save -t nat / ip6tables-save -t nat). */
export async function readNatTable(runner: Runner, f: Family): Promise<RuleTable> {
  const {stdout} = await runner.run(iptablesTool(f, 'save'), ['-t', 'nat']);
  return parseNatSave(stdout);
}

/**
 * The IPv4 filter table as `iptables -S` lists it. Not iptables-save: with
 * the nf_tables backend that reads every table, and the nat table grows with
 * every masqueraded attachment.
 */
export async function readFilterTable(runner: Runner): Promise<RuleTable> {
  const {stdout} = await runner.run('iptables', ['-w', '-S']);
  return parseRuleList(stdout);
}

/**
 * Group commit for `iptables-restore --noflush -w` (and ip6tables-restore).
 *
 * A restore input here is one or more `*table ... COMMIT` blocks; each COMMIT
 * is its own transaction, and a failing line stops the run there, leaving the
 * blocks before it applied and the ones after it untouched. So inputs
 * submitted while a restore is running are sent together in the next one, and
 * the outcome is split back per caller: when the combined run fails at line N,
 * the inputs before the one holding line N succeeded, that one failed (with
 * the line number made relative to its own input, as a run of its own would
 * say), and the ones after it are queued again. When stderr names no line,
 * each input of the batch is run on its own.
 *
 * Up to two restores run at once (the nat and filter writes of one detach,
 * say, each wait out the kernel's commit on their own), so an input goes out
 * at once unless two are running; a bulk attach of N containers runs a
 * handful of restores instead of N.
 */
export const MAX_INPUTS_PER_RESTORE = 64;
export const MAX_PARALLEL_RESTORES = 2;

interface Job {
  input: string;
  done(r: RunResult): void;
  fail(err: unknown): void;
}

const ARGS = ['--noflush', '-w'];

/** The 1-based input line iptables-restore reports a failure at, if it says. */
export function failedRestoreLine(stderr: string): number | undefined {
  const m = /\bline:? (\d+)(?: failed)?/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

const lineCount = (s: string): number => s.split('\n').length - 1;

class RestoreQueue {
  private readonly pending: Job[] = [];
  private running = 0;

  constructor(
    private readonly runner: Runner,
    private readonly file: string,
  ) {}

  submit(input: string): Promise<RunResult> {
    return new Promise((done, fail) => {
      this.pending.push({input: input.endsWith('\n') ? input : `${input}\n`, done, fail});
      if (this.running < MAX_PARALLEL_RESTORES) void this.pump();
    });
  }

  private exec(input: string): Promise<RunResult> {
    // A restore prints nothing on success; its errors come on stderr.
    return this.runner.run(this.file, ARGS, {input, reject: false, discard: 'stdout'});
  }

  private async pump(): Promise<void> {
    this.running++;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_INPUTS_PER_RESTORE);
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

  private async runBatch(batch: Job[]): Promise<void> {
    if (batch.length === 1) {
      batch[0].done(await this.exec(batch[0].input));
      return;
    }
    const r = await this.exec(batch.map((j) => j.input).join(''));
    const ok: RunResult = {stdout: '', stderr: '', exitCode: 0};
    if (r.exitCode === 0) {
      for (const j of batch) j.done(ok);
      return;
    }
    const line = failedRestoreLine(r.stderr);
    let first = 1;
    const k =
      line === undefined
        ? -1
        : batch.findIndex((j) => {
            const last = first + lineCount(j.input) - 1;
            if (line <= last) return true;
            first = last + 1;
            return false;
          });
    if (k < 0) {
      for (const j of batch) j.done(await this.exec(j.input));
      return;
    }
    for (const j of batch.slice(0, k)) j.done(ok);
    const stderr = r.stderr.replace(/\bline(:?) (\d+)/, (_m, colon: string, n: string) => `line${colon} ${Number(n) - first + 1}`);
    batch[k].done({...r, stderr});
    this.pending.unshift(...batch.slice(k + 1));
  }
}

const queues = new WeakMap<Runner, Map<string, RestoreQueue>>();

/** One restore that may fail as a whole (changing nothing then): true when it applied. */
export async function restoreApplied(runner: Runner, file: string, input: string): Promise<boolean> {
  return (await restoreNoflush(runner, file, input, false)).exitCode === 0;
}

/**
 * Run `file --noflush -w` (iptables-restore or ip6tables-restore) with `input`
 * through the runner's group-commit queue. Resolves with this input's own
 * outcome; throws a CommandError on failure unless `reject` is false.
 */
export async function restoreNoflush(runner: Runner, file: string, input: string, reject = true): Promise<RunResult> {
  let byFile = queues.get(runner);
  if (!byFile) queues.set(runner, (byFile = new Map()));
  let q = byFile.get(file);
  if (!q) byFile.set(file, (q = new RestoreQueue(runner, file)));
  const r = await q.submit(input);
  if (reject && r.exitCode !== 0) throw new CommandError([file, ...ARGS], r.exitCode, r.stdout, r.stderr);
  return r;
}
