import {writeSync} from 'node:fs';

/**
 * The CLI's stdout and stderr as plain file descriptors. Touching
 * process.stdout or process.stderr builds Node's stream objects for them, ~9 ms
 * of every start here before a byte is written; the start-up path writes its
 * few lines with write(2) instead. A pipe that is full (its reader is slow,
 * the fd non-blocking) is waited out; a closed one (`| head`) ends the output
 * quietly, as the CLI would die of SIGPIPE elsewhere.
 */
export interface OutStream {
  write(s: string): boolean;
  /** Whether the fd is a terminal (loads node:tty on first read: only `list` asks). */
  readonly isTTY: boolean;
}

export function writeAllSync(fd: number, s: string): boolean {
  let buf = Buffer.from(s, 'utf8');
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return false;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
  return true;
}

export function fdStream(fd: number): OutStream {
  let closed = false;
  let tty: boolean | undefined;
  return {
    write(s) {
      if (!closed && !writeAllSync(fd, s)) closed = true;
      return !closed;
    },
    get isTTY() {
      tty ??= (process.getBuiltinModule('node:tty') as typeof import('node:tty')).isatty(fd);
      return tty;
    },
  };
}
