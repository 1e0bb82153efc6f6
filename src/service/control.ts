/**
 * Starting, stopping and asking the service (`cni-docker service ...`), and a
 * Node client for its socket (the command line's client is
 * bin/cni-docker-client, in perl, for its start-up time).
 */
import {closeSync, mkdirSync, openSync, readFileSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {UserError} from '../errors.js';
import {fsReason} from '../util/fs-errors.js';
import {buildStamp, encodeRequest, readFrames} from './protocol.js';
import {DEFAULT_SERVICE_SOCKET, STATUS_REQUEST, STOP_REQUEST, type ServiceStatus} from './server.js';

export const DEFAULT_SERVICE_LOG = '/var/log/cni-docker/service.log';

/** The socket: --socket, else CNI_DOCKER_SERVICE_SOCKET (what bin/cni-docker reads), else the default. */
export function serviceSocket(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? (env.CNI_DOCKER_SERVICE_SOCKET || DEFAULT_SERVICE_SOCKET));
}

export interface ServiceReply {
  stdout: string;
  stderr: string;
  /** Exit status; undefined when the service handed the request back ('f'). */
  code?: number;
  handedBack?: string;
}

/** Send one request; rejects when nothing listens on the socket. */
export function callService(socketPath: string, argv: string[], o: {rootDir: string; env?: Record<string, string>; cwd?: string; stdoutIsTTY?: boolean}): Promise<ServiceReply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf: Buffer = Buffer.alloc(0);
    const reply: ServiceReply = {stdout: '', stderr: ''};
    s.once('connect', () => {
      s.write(encodeRequest({stamp: buildStamp(o.rootDir), cwd: o.cwd ?? process.cwd(), stdoutIsTTY: o.stdoutIsTTY ?? false, argv, env: o.env ?? {}}));
    });
    s.on('data', (c: Buffer) => {
      const {frames, rest} = readFrames(Buffer.concat([buf, c]));
      buf = rest;
      for (const f of frames) {
        if (f.type === 'o') reply.stdout += f.payload.toString('utf8');
        else if (f.type === 'e') reply.stderr += f.payload.toString('utf8');
        else if (f.type === 'x') reply.code = Number(f.payload.toString('utf8'));
        else if (f.type === 'f') reply.handedBack = f.payload.toString('utf8');
      }
    });
    s.once('error', reject);
    s.once('close', () => {
      if (reply.code === undefined && reply.handedBack === undefined) return reject(new Error('the service closed the connection without answering'));
      resolve(reply);
    });
  });
}

/** The running service's status, or undefined when none answers on the socket. */
export async function serviceStatus(socketPath: string, rootDir: string): Promise<ServiceStatus | undefined> {
  try {
    const r = await callService(socketPath, [STATUS_REQUEST], {rootDir});
    return r.code === 0 ? (JSON.parse(r.stdout) as ServiceStatus) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last line of the service log, without its timestamp and level. */
function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return lines[lines.length - 1].replace(/^\S+ (?:info|error|debug) /, '');
  } catch {
    return '';
  }
}

/**
 * Start the service in the background (its output appended to `logFile`) and
 * wait until it answers. An already running one is left as it is.
 */
export async function startServiceProcess(o: {socketPath: string; logFile: string; rootDir: string; timeoutMs?: number}): Promise<{status: ServiceStatus; started: boolean}> {
  if (process.getuid?.() !== 0) throw new UserError('the cni-docker service needs root (run it with sudo)');
  const running = await serviceStatus(o.socketPath, o.rootDir);
  if (running) return {status: running, started: false};
  const {spawn} = await import('node:child_process');
  let fd: number;
  try {
    mkdirSync(path.dirname(o.logFile), {recursive: true});
    fd = openSync(o.logFile, 'a', 0o600);
  } catch (err) {
    throw new UserError(`cannot open the service log ${o.logFile}: ${fsReason(err)}`);
  }
  let exited: string | undefined;
  try {
    const child = spawn(process.execPath, [path.join(o.rootDir, 'bin', 'run.cjs'), 'service', 'run', '--socket', o.socketPath], {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: '/',
    });
    child.once('exit', (code, signal) => {
      exited = signal ?? `status ${code}`;
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    await sleep(25);
    const status = await serviceStatus(o.socketPath, o.rootDir);
    if (status) return {status, started: true};
    if (exited) break;
  }
  const last = lastLogLine(o.logFile);
  throw new UserError(`the cni-docker service did not start${last ? `: ${last}` : exited ? ` (it exited with ${exited})` : ''} (log: ${o.logFile})`);
}

/** Ask the service to stop and wait until its process is gone; undefined when none was running. */
export async function stopServiceProcess(o: {socketPath: string; rootDir: string; timeoutMs?: number}): Promise<ServiceStatus | undefined> {
  let status: ServiceStatus | undefined;
  try {
    const r = await callService(o.socketPath, [STOP_REQUEST], {rootDir: o.rootDir});
    if (r.code === 0) status = JSON.parse(r.stdout) as ServiceStatus;
  } catch {
    return undefined;
  }
  if (!status) return undefined;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  while (alive(status.pid)) {
    if (Date.now() > deadline) throw new UserError(`the cni-docker service (pid ${status.pid}) has not stopped after ${Math.round((o.timeoutMs ?? 60_000) / 1000)} s`);
    await sleep(20);
  }
  return status;
}
