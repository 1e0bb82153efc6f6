import {CommandError, type RunResult, type Runner} from '../exec/runner.js';
import type {Family} from '../util/ip.js';
import {GroupCommit} from '../exec/group-commit.js';

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
 * `iptables-restore --noflush -w` (and ip6tables-restore) through a group
 * commit (src/exec/group-commit.ts). A restore input here is one or more
 * `*table ... COMMIT` blocks; each COMMIT is its own transaction, and a
 * failing line stops the run there, leaving the blocks before it applied and
 * the ones after it untouched, so a combined run splits back per caller by the
 * line number iptables-restore names.
 *
 * Up to two restores run at once (the nat and filter writes of one detach,
 * say, each wait out the kernel's commit on their own), so an input goes out
 * at once unless two are running.
 */
export const MAX_INPUTS_PER_RESTORE = 64;
export const MAX_PARALLEL_RESTORES = 2;

const ARGS = ['--noflush', '-w'];

/** The 1-based input line iptables-restore reports a failure at, if it says. */
export function failedRestoreLine(stderr: string): number | undefined {
  const m = /\bline:? (\d+)(?: failed)?/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

const lineCount = (s: string): number => s.split('\n').length - 1;

const OK: RunResult = {stdout: '', stderr: '', exitCode: 0};

/** The combined restore's outcome per input: by the failing line iptables-restore names. */
function splitRestore(jobs: readonly {input: string}[], r: RunResult): RunResult[] | undefined {
  if (r.exitCode === 0) return jobs.map(() => OK);
  const line = failedRestoreLine(r.stderr);
  if (line === undefined) return undefined;
  let first = 1;
  for (const [k, j] of jobs.entries()) {
    const last = first + lineCount(j.input) - 1;
    if (line <= last) {
      const stderr = r.stderr.replace(/\bline(:?) (\d+)/, (_m, colon: string, n: string) => `line${colon} ${Number(n) - first + 1}`);
      return [...jobs.slice(0, k).map(() => OK), {...r, stderr}];
    }
    first = last + 1;
  }
  return undefined;
}

function restoreQueue(runner: Runner, file: string): GroupCommit<{input: string}> {
  return new GroupCommit(
    {
      // A restore prints nothing on success; its errors come on stderr.
      exec: (input) => runner.run(file, ARGS, {input, reject: false, discard: 'stdout'}),
      split: splitRestore,
    },
    MAX_INPUTS_PER_RESTORE,
    MAX_PARALLEL_RESTORES,
  );
}

const queues = new WeakMap<Runner, Map<string, GroupCommit<{input: string}>>>();

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
  if (!q) byFile.set(file, (q = restoreQueue(runner, file)));
  const r = await q.submit({input: input.endsWith('\n') ? input : `${input}\n`});
  if (reject && r.exitCode !== 0) throw new CommandError([file, ...ARGS], r.exitCode, r.stdout, r.stderr);
  return r;
}
