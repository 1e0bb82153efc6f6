import {statSync} from 'node:fs';
import path from 'node:path';

/**
 * The wire format between the service client (bin/cni-docker-client, perl)
 * and the service (src/service/server.ts), on a unix socket.
 *
 * Request, client to service: NUL-terminated fields
 *   MAGIC, stamp, cwd, stdout-is-a-terminal ("0"/"1"),
 *   argc, argv..., envc, "KEY=VALUE"...
 * (no field of argv, environment or a path can hold a NUL).
 *
 * Reply, service to client: frames of one type byte, a big-endian uint32
 * length and that many bytes:
 *   'o' stdout bytes, 'e' stderr bytes, 'x' the exit status in decimal (last),
 *   'f' "run it yourself" with a reason (first and only: nothing was done).
 */
export const MAGIC = 'cni-docker-service/1';
/** A request larger than this is refused (argv and environment are far smaller). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export interface ServiceRequest {
  stamp: string;
  cwd: string;
  stdoutIsTTY: boolean;
  argv: string[];
  env: Record<string, string>;
}

export type FrameType = 'o' | 'e' | 'x' | 'f';

export class ProtocolError extends Error {}

/**
 * Decode a request from the bytes received so far: the request, undefined
 * while incomplete, or a ProtocolError.
 */
export function decodeRequest(buf: Buffer): ServiceRequest | undefined {
  if (buf.length > MAX_REQUEST_BYTES) throw new ProtocolError(`request larger than ${MAX_REQUEST_BYTES} bytes`);
  const fields: string[] = [];
  let at = 0;
  const next = (): string | undefined => {
    const end = buf.indexOf(0, at);
    if (end < 0) return undefined;
    const s = buf.toString('utf8', at, end);
    at = end + 1;
    fields.push(s);
    return s;
  };
  const count = (what: string): number | undefined => {
    const s = next();
    if (s === undefined) return undefined;
    if (!/^\d{1,6}$/.test(s)) throw new ProtocolError(`bad ${what} count ${JSON.stringify(s.slice(0, 20))}`);
    return Number(s);
  };
  const magic = next();
  if (magic === undefined) {
    if (!MAGIC.startsWith(buf.toString('utf8', 0, Math.min(buf.length, MAGIC.length)))) throw new ProtocolError('not a cni-docker service request');
    return undefined;
  }
  if (magic !== MAGIC) throw new ProtocolError(`unknown protocol ${JSON.stringify(magic.slice(0, 40))}`);
  const stamp = next();
  const cwd = next();
  const tty = next();
  if (tty === undefined) return undefined;
  if (!path.isAbsolute(cwd!)) throw new ProtocolError('the working directory must be absolute');
  const argc = count('argument');
  if (argc === undefined) return undefined;
  const argv: string[] = [];
  for (let i = 0; i < argc; i++) {
    const a = next();
    if (a === undefined) return undefined;
    argv.push(a);
  }
  const envc = count('environment');
  if (envc === undefined) return undefined;
  const env: Record<string, string> = {};
  for (let i = 0; i < envc; i++) {
    const kv = next();
    if (kv === undefined) return undefined;
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ProtocolError('bad environment entry');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (at !== buf.length) throw new ProtocolError('trailing bytes after the request');
  return {stamp: stamp!, cwd: cwd!, stdoutIsTTY: tty === '1', argv, env};
}

/** The request bytes (what the perl client sends; used by tests and `service status`). */
export function encodeRequest(r: ServiceRequest): Buffer {
  const fields = [MAGIC, r.stamp, r.cwd, r.stdoutIsTTY ? '1' : '0', String(r.argv.length), ...r.argv, String(Object.keys(r.env).length), ...Object.entries(r.env).map(([k, v]) => `${k}=${v}`)];
  return Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
}

export function frame(type: FrameType, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Split received bytes into whole frames; `rest` is the incomplete tail. */
export function readFrames(buf: Buffer): {frames: {type: FrameType; payload: Buffer}[]; rest: Buffer} {
  const frames: {type: FrameType; payload: Buffer}[] = [];
  let at = 0;
  while (buf.length - at >= 5) {
    const len = buf.readUInt32BE(at + 1);
    if (buf.length - at - 5 < len) break;
    frames.push({type: buf.toString('latin1', at, at + 1) as FrameType, payload: buf.subarray(at + 5, at + 5 + len)});
    at += 5 + len;
  }
  return {frames, rest: buf.subarray(at)};
}

/** Files whose change means the installed code changed: the client and the service must agree on them. */
export const STAMP_FILES = ['dist/src/cli/fast-path.js', 'dist/src/service/server.js'];

/**
 * The build stamp of the tree at rootDir: "mtime.size" (mtime in whole
 * seconds) of each STAMP_FILES entry, ':'-joined; "none" for a missing one.
 * bin/cni-docker-client computes the same string with perl's stat.
 */
export function buildStamp(rootDir: string): string {
  return STAMP_FILES.map((f) => {
    try {
      const st = statSync(path.join(rootDir, f));
      return `${Math.floor(st.mtimeMs / 1000)}.${st.size}`;
    } catch {
      return 'none';
    }
  }).join(':');
}
