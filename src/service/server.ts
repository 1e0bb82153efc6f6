/**
 * The cni-docker service: a resident process that runs `attach`, `detach` and
 * `list` for the command line, so that a command costs a perl client start
 * (bin/cni-docker-client, ~5 ms) instead of a Node start and cold code
 * (~100 ms here). Opt-in: `cni-docker service start`. Each request carries
 * its client's argv, environment, working directory and whether its stdout is
 * a terminal; it runs with those (the processes it starts get that
 * environment and directory) through the same code as the CLI
 * (runFastIO in src/cli/fast-path.ts), and the client prints exactly what the
 * CLI would print and exits with the same status.
 *
 * What it does not run it hands back untouched ('f' frame, nothing done): any
 * other command or an argv the fast path leaves to oclif, a request from a
 * different build (the service then exits: it is out of date), a Docker
 * endpoint that needs TLS or ssh (dockerode reads those settings from the
 * process environment), and the test hooks (CNI_DOCKER_CRASH_AFTER, ...).
 *
 * The socket is 0600 in a 0700 directory: only root reaches it.
 */
import {promises as fs} from 'node:fs';
import net from 'node:net';
import type {Logger} from '../cni/plugin.js';
import {runFastIO} from '../cli/fast-path.js';
import {createDockerApi, dockerEndpoint} from '../docker/client.js';
import {listenOn, prepareSocket} from '../util/unix-socket.js';
import {buildStamp, decodeRequest, frame, type FrameType, type ServiceRequest} from './protocol.js';

export const DEFAULT_SERVICE_SOCKET = '/run/cni-docker/service.sock';

/** Environment variables a request is handed back for (test hooks and opt-outs act per process). */
export const BYPASS_ENV = ['CNI_DOCKER_NO_SERVICE', 'CNI_DOCKER_SERVICE_FALLBACK', 'CNI_DOCKER_NO_FAST', 'CNI_DOCKER_NO_BUNDLE', 'CNI_DOCKER_CRASH_AFTER', 'CNI_DOCKER_PAUSE_AFTER'];

/** argv[0] of the service's own requests (never a user command). */
export const STATUS_REQUEST = '--service-status';
export const STOP_REQUEST = '--service-stop';

export interface ServiceOptions {
  socketPath: string;
  rootDir: string;
  log: Logger;
}

export interface ServiceStatus {
  pid: number;
  socket: string;
  startedAt: string;
  /** Commands received (status and stop requests not counted). */
  requests: number;
  inFlight: number;
  stamp: string;
}

export interface RunningService {
  /** Settles when the service has stopped (close(), a stop request, or an out-of-date client). */
  closed: Promise<void>;
  close(reason?: string): Promise<void>;
  status(): ServiceStatus;
}

/** Why a request goes back to the client to run itself, or undefined when the service runs it. */
export function handBackReason(req: ServiceRequest, stamp: string): string | undefined {
  if (req.stamp !== stamp) return 'stale';
  for (const k of BYPASS_ENV) if (req.env[k]) return `${k} is set`;
  // Only a unix socket is taken from the request's env; docker-modem reads any other DOCKER_HOST from the service's own.
  if (dockerEndpoint(req.env).socketPath === undefined) return 'DOCKER_HOST needs dockerode';
  return undefined;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  await prepareSocket(o.socketPath, 'a cni-docker service');
  const stamp = buildStamp(o.rootDir);
  const startedAt = new Date().toISOString();
  /** Connections that have not sent a whole request yet (dropped 2 s into a close). */
  const waiting = new Set<net.Socket>();
  let requests = 0;
  let inFlight = 0;
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const status = (): ServiceStatus => ({pid: process.pid, socket: o.socketPath, startedAt, requests, inFlight, stamp});

  const serve = async (conn: net.Socket, req: ServiceRequest): Promise<void> => {
    const send = (t: FrameType, payload: string | Buffer): void => {
      if (!conn.destroyed) conn.write(frame(t, payload));
    };
    if (req.argv[0] === STATUS_REQUEST) {
      send('o', `${JSON.stringify(status())}\n`);
      return send('x', '0');
    }
    if (req.argv[0] === STOP_REQUEST) {
      send('o', `${JSON.stringify(status())}\n`);
      send('x', '0');
      void close('stop requested');
      return;
    }
    const reason = handBackReason(req, stamp);
    if (reason) {
      send('f', reason);
      if (reason === 'stale') void close(`a client of another build came (stamp ${req.stamp}, ours ${stamp}): the installed cni-docker changed`);
      return;
    }
    const code = await runFastIO(req.argv, o.rootDir, {
      env: req.env,
      cwd: req.cwd,
      stdout: {write: (s: string) => send('o', s), isTTY: req.stdoutIsTTY},
      stderr: {write: (s: string) => send('e', s)},
      deps: {docker: createDockerApi(req.env)},
    }).catch((err: unknown) => {
      o.log.warn(`${req.argv[0]}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      send('e', `Error: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    });
    if (code === undefined) return send('f', 'not a fast-path command');
    send('x', String(code));
  };

  const server = net.createServer((conn) => {
    waiting.add(conn);
    let buf: Buffer = Buffer.alloc(0);
    let started = false;
    conn.on('error', () => undefined);
    conn.on('close', () => waiting.delete(conn));
    conn.on('data', (chunk: Buffer) => {
      if (started) return;
      buf = Buffer.concat([buf, chunk]);
      let req: ServiceRequest | undefined;
      try {
        req = decodeRequest(buf);
      } catch (err) {
        o.log.warn(`bad request: ${(err as Error).message}`);
        conn.end(frame('e', `Error: bad request to the cni-docker service: ${(err as Error).message}\n`));
        return;
      }
      if (!req) return;
      started = true;
      waiting.delete(conn);
      const counted = req.argv[0] !== STATUS_REQUEST && req.argv[0] !== STOP_REQUEST;
      // Stopping: no new command runs here; its client runs it itself.
      if (closing && counted) return void conn.end(frame('f', 'stopping'));
      if (counted) {
        requests++;
        inFlight++;
      }
      void serve(conn, req).finally(() => {
        if (counted) inFlight--;
        conn.end();
      });
    });
  });

  const close = (why = 'closing'): Promise<void> => {
    closing ??= (async () => {
      o.log.warn(`stopping: ${why}`);
      // The socket goes first, so new commands run on their own; requests being
      // served finish (server.close waits for their connections); a request that
      // arrives now is handed back.
      await fs.unlink(o.socketPath).catch(() => undefined);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A client that connected but has not sent its request yet gets a moment to send it (and the hand-back).
        setTimeout(() => {
          for (const c of waiting) c.destroy();
        }, 2000).unref();
      });
      resolveClosed();
    })();
    return closing;
  };

  await listenOn(server, o.socketPath, 0o600);
  o.log.warn(`listening on ${o.socketPath} (pid ${process.pid}, build ${stamp})`);
  return {closed, close, status};
}
