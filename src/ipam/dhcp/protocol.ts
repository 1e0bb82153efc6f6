/**
 * The DHCP daemon's protocol on its unix socket: one request per connection,
 * one JSON object on one line each way.
 *   {"op":"allocate","args":CmdArgs} → {"ok":true,"result":Result}   (ADD, and CHECK as the reference)
 *   {"op":"release","args":CmdArgs}  → {"ok":true,"result":{}}       (DEL; unknown client is success)
 *   {"op":"gc","args":CmdArgs}       → {"ok":true,"result":{released: string[]}}  (GC; the lease keys released)
 *   {"op":"leases"}                  → {"ok":true,"result":{pid, leases: Lease[]}}
 * A failure is {"ok":false,"error":"…"}.
 */
import type net from 'node:net';
import type {CmdArgs} from '../../cni/types.js';

export type DaemonOp = 'allocate' | 'release' | 'gc' | 'leases';

export interface DaemonRequest {
  op: DaemonOp;
  args?: CmdArgs;
}

export type DaemonReply = {ok: true; result: unknown} | {ok: false; error: string};

/** A request or reply longer than this is refused (a CNI config is a few KiB). */
export const MAX_LINE = 4 << 20;

/**
 * The first line `conn` sends, without its newline; rejects when the peer
 * ends, fails or exceeds MAX_LINE first.
 */
export function readLine(conn: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error, line?: string): void => {
      conn.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (chunk: Buffer): void => {
      const nl = chunk.indexOf(0x0a);
      const part = nl < 0 ? chunk : chunk.subarray(0, nl);
      chunks.push(part);
      // The limit is on the line, however its bytes were cut into chunks.
      size += part.length;
      if (size > MAX_LINE) done(new Error(`message longer than ${MAX_LINE} bytes`));
      else if (nl >= 0) done(undefined, Buffer.concat(chunks).toString('utf8'));
    };
    const onEnd = (): void => done(new Error('connection closed before a whole message'));
    const onError = (err: Error): void => done(err);
    conn.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
