import type {RunResult} from './runner.js';

/**
 * Group commit for a command that reads a batch on stdin and applies it unit
 * by unit, stopping at the first failing one (iptables-restore, `ip -batch`).
 * Inputs submitted while runs are going are sent together in the next run,
 * and the combined outcome is split back per caller: the inputs before the
 * failing one succeeded, the failing one gets its own result (numbers made
 * relative to its own input, as a run of its own would say), and the ones
 * after it are queued again. So a bulk call of N targets runs a handful of
 * processes instead of N.
 */
export interface BatchCommand<J extends {input: string}> {
  /** One run of the command with this input; never rejects for a failing exit. */
  exec(input: string): Promise<RunResult>;
  /**
   * The combined run's result for each job, in order, up to and including the
   * one that failed (the rest are queued again); undefined when the output
   * does not say where it failed, and then each job runs on its own.
   */
  split(jobs: readonly J[], run: RunResult): RunResult[] | undefined;
}

interface Pending<J> {
  job: J;
  done(r: RunResult): void;
  fail(err: unknown): void;
}

export class GroupCommit<J extends {input: string}> {
  private readonly pending: Pending<J>[] = [];
  private running = 0;

  constructor(
    private readonly command: BatchCommand<J>,
    private readonly maxInputs: number,
    private readonly maxParallel: number,
  ) {}

  /** Resolves with this job's own outcome. */
  submit(job: J): Promise<RunResult> {
    return new Promise((done, fail) => {
      this.pending.push({job, done, fail});
      if (this.running < this.maxParallel) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.running++;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxInputs);
        try {
          await this.runBatch(batch);
        } catch (err) {
          for (const p of batch) p.fail(err);
        }
      }
    } finally {
      this.running--;
    }
  }

  private async runBatch(batch: Pending<J>[]): Promise<void> {
    if (batch.length === 1) {
      batch[0].done(await this.command.exec(batch[0].job.input));
      return;
    }
    const run = await this.command.exec(batch.map((p) => p.job.input).join(''));
    const results = this.command.split(
      batch.map((p) => p.job),
      run,
    );
    if (!results) {
      for (const p of batch) p.done(await this.command.exec(p.job.input));
      return;
    }
    results.forEach((r, i) => batch[i].done(r));
    this.pending.unshift(...batch.slice(results.length));
  }
}
