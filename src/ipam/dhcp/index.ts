/**
 * The `dhcp` IPAM plugin: a thin client of the DHCP daemon's unix socket.
 * When no daemon answers, ADD (and DEL, CHECK) start one in the background and
 * retry; DEL falls back to releasing straight from the persisted lease table.
 */
import {spawn} from 'node:child_process';
import {openSync, closeSync} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type {Plugin, PluginContext} from '../../cni/plugin.js';
import type {CmdArgs, Result} from '../../cni/types.js';
import {CniError, ErrorCode} from '../../cni/errors.js';
import {parseConf} from './conf.js';
import {packagePath} from '../../util/package-root.js';

const bin = (): string => packagePath('bin', 'run.cjs');
export const DEFAULT_LOG = '/var/log/cni-docker-dhcp.log';

class DaemonDown extends Error {}

function socketPathFor(ctx: PluginContext, args: CmdArgs): string {
  return parseConf(args).daemonSocketPath ?? ctx.paths.dhcpSocket;
}

export function callDaemon<T>(socketPath: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({socketPath, path: route, method, headers: payload ? {'content-type': 'application/json'} : {}}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new Error(`bad reply from DHCP daemon: ${text.slice(0, 200)}`));
        }
        if (res.statusCode !== 200) return reject(new Error((parsed as {error?: string}).error ?? `HTTP ${res.statusCode}`));
        resolve(parsed as T);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new DaemonDown(`error dialing DHCP daemon: ${err.message}`));
      else reject(err);
    });
    req.end(payload);
  });
}

/** Start `cni-docker dhcp daemon` detached, logging to the log file, and wait for its socket. */
export async function spawnDaemon(ctx: PluginContext, socketPath: string, timeoutMs = 10000): Promise<void> {
  const logPath = ctx.env.CNI_DOCKER_DHCP_LOG || DEFAULT_LOG;
  ctx.log.warn(`DHCP daemon not running on ${socketPath}; starting it in the background (log: ${logPath})`);
  const fd = openSync(logPath, 'a', 0o640);
  let exited: string | undefined;
  try {
    const child = spawn(process.execPath, [bin(), 'dhcp', 'daemon', '--socket', socketPath, '--state-dir', ctx.paths.stateDir], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: {...process.env, ...ctx.env, CNI_DOCKER_DEBUG: ctx.env.CNI_DOCKER_DEBUG ?? '1'},
    });
    // A daemon that cannot start (socket path taken, bad state) exits: fail now, not at the deadline.
    child.once('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));
    child.unref();
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await callDaemon(socketPath, 'GET', '/leases');
      return;
    } catch (err) {
      if (exited) throw new Error(`DHCP daemon exited (${exited}) before listening on ${socketPath} (see ${logPath})`);
      if (!(err instanceof DaemonDown) || Date.now() > deadline) throw new Error(`DHCP daemon did not come up on ${socketPath} (see ${logPath})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function call<T>(ctx: PluginContext, args: CmdArgs, route: string): Promise<T> {
  const socketPath = socketPathFor(ctx, args);
  const body = {...args, netns: args.netns ? path.resolve(args.netns) : ''};
  try {
    return await callDaemon<T>(socketPath, 'POST', route, body);
  } catch (err) {
    if (!(err instanceof DaemonDown)) throw new CniError(ErrorCode.Internal, `error calling DHCP.${route === '/release' ? 'Release' : 'Allocate'}: ${(err as Error).message}`);
  }
  await spawnDaemon(ctx, socketPath);
  try {
    return await callDaemon<T>(socketPath, 'POST', route, body);
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `error calling DHCP.${route === '/release' ? 'Release' : 'Allocate'}: ${(err as Error).message}`);
  }
}

/** DEL without a daemon: release from the persisted table, in this process. */
async function releaseDirect(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const [{LeaseManager}, {LeaseStore, leaseFilePath}, {WorkerTransport}] = await Promise.all([
    import('./manager.js'),
    import('./store.js'),
    import('./worker-transport.js'),
  ]);
  const m = new LeaseManager({
    store: new LeaseStore(leaseFilePath(ctx.paths.stateDir)),
    openTransport: (netns, ifname) => WorkerTransport.open(netns, ifname),
    log: ctx.log,
    passive: true,
  });
  await m.start();
  await m.release(args);
}

export const plugin: Plugin = {
  type: 'dhcp',

  async add(ctx, args): Promise<Result> {
    if (!args.netns) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_NETNS is required for dhcp ADD');
    return call<Result>(ctx, args, '/allocate');
  },

  async del(ctx, args): Promise<void> {
    const socketPath = socketPathFor(ctx, args);
    try {
      await callDaemon(socketPath, 'POST', '/release', args);
      return;
    } catch (err) {
      if (!(err instanceof DaemonDown)) throw new CniError(ErrorCode.Internal, `error calling DHCP.Release: ${(err as Error).message}`);
    }
    try {
      await spawnDaemon(ctx, socketPath);
      await callDaemon(socketPath, 'POST', '/release', args);
    } catch (err) {
      ctx.log.warn(`DHCP daemon unavailable (${(err as Error).message}); releasing from the persisted lease`);
      await releaseDirect(ctx, args);
    }
  },

  async check(ctx, args): Promise<void> {
    await call<Result>(ctx, args, '/allocate');
  },
};
