import type {Logger} from './logger.js';
import {errorText} from './error-text.js';

/**
 * Rollback as a stack: every successful mutation pushes its undo; on failure
 * `unwind` runs them in reverse, logs undo failures and never throws, so the
 * caller can rethrow the original error.
 */
export class UndoStack {
  private readonly steps: {what: string; fn: () => Promise<unknown>}[] = [];

  push(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({what, fn});
  }

  get size(): number {
    return this.steps.length;
  }

  /** Forget every step (the operation succeeded). */
  commit(): void {
    this.steps.length = 0;
  }

  async unwind(log?: Logger): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        log?.warn(`rollback: failed to ${step.what}: ${errorText(err)}`);
      }
    }
  }

  /** Run `body`; on any error unwind and rethrow the original error. */
  static async run<T>(log: Logger | undefined, body: (undo: UndoStack) => Promise<T>): Promise<T> {
    const undo = new UndoStack();
    try {
      const out = await body(undo);
      undo.commit();
      return out;
    } catch (err) {
      await undo.unwind(log);
      throw err;
    }
  }
}
