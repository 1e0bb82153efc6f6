import type {Progress} from '../runtime/outcome.js';

/**
 * A bulk attach or detach's progress on a terminal: one line, rewritten in
 * place ("attaching 12/50, 1 failed") and erased when the command ends, so the
 * results print as they would without it. Nothing when `stream` is not a
 * terminal (piped output stays exactly the results) or for a single target.
 */
export interface ProgressLine {
  update(p: Progress): void;
  end(): void;
}

export function progressLine(stream: {isTTY?: boolean; write(s: string): unknown}, verb: string): ProgressLine | undefined {
  if (!stream.isTTY) return undefined;
  let shown = false;
  return {
    update({done, failed, total}) {
      if (total < 2) return;
      shown = true;
      stream.write(`\r\x1b[K${verb} ${done}/${total}${failed ? `, ${failed} failed` : ''}`);
    },
    end() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
