/**
 * The `dhcp` IPAM plugin: a thin client of the DHCP daemon's unix socket.
 * When no daemon answers, ADD (and DEL, CHECK) start one in the background and
 * retry; DEL falls back to releasing straight from the persisted lease table.
 */
import {openSync, closeSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type {Plugin, PluginContext} from '../../exec/plugin.js';
import type {CmdArgs, Result} from '../../cni/types.js';
import {CniError, ErrorCode} from '../../cni/errors.js';
import {parseConf} from './conf.js';
import {readLine, type DaemonOp, type DaemonReply} from './protocol.js';
import {loadExeca} from '../../exec/runner.js';
import {packagePath} from '../../util/package-root.js';

const bin = (): string => packagePath('bin', 'run.cjs');
export const DEFAULT_LOG = '/var/log/cni-docker-dhcp.log';

class DaemonDown extends Error {}

function socketPathFor(ctx: PluginContext, args: CmdArgs): string {
  return parseConf(args).daemonSocketPath ?? ctx.paths.dhcpSocket;
}

/** One request to the daemon (protocol.ts); DaemonDown when nothing listens on the socket. */
export function callDaemon<T>(socketPath: string, op: DaemonOp, args?: CmdArgs): Promise<T> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    const dialFailed = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new DaemonDown(`error dialing DHCP daemon: ${err.message}`));
      else reject(err);
    };
    conn.once('error', dialFailed);
    conn.once('connect', () => {
      conn.off('error', dialFailed);
      conn.write(`${JSON.stringify({op, args})}\n`);
      readLine(conn).then(
        (line) => {
          conn.destroy();
          let reply: DaemonReply;
          try {
            reply = JSON.parse(line) as DaemonReply;
          } catch {
            return reject(new Error(`bad reply from DHCP daemon: ${line.slice(0, 200)}`));
          }
          if (reply.ok) resolve(reply.result as T);
          else reject(new Error(reply.error));
        },
        (err: Error) => {
          conn.destroy();
          reject(new Error(`no reply from DHCP daemon: ${err.message}`));
        },
      );
    });
  });
}

/** Start `cni-docker dhcp daemon` detached, logging to the log file, and wait for its socket. */
export async function spawnDaemon(ctx: PluginContext, socketPath: string, timeoutMs = 10000): Promise<void> {
  const logPath = ctx.env.CNI_DOCKER_DHCP_LOG || DEFAULT_LOG;
  ctx.log.warn(`DHCP daemon not running on ${socketPath}; starting it in the background (log: ${logPath})`);
  const execa = await loadExeca();
  const fd = openSync(logPath, 'a', 0o640);
  let exited: string | undefined;
  try {
    const child = execa(process.execPath, [bin(), 'dhcp', 'daemon', '--socket', socketPath, '--state-dir', ctx.paths.stateDir], {
      detached: true,
      // The daemon writes to the log itself, not through us (execa's types name only fds 3-9; any open fd is passed as it is).
      stdin: 'ignore',
      stdout: fd as 3,
      stderr: fd as 3,
      env: {...ctx.env, CNI_DOCKER_DEBUG: ctx.env.CNI_DOCKER_DEBUG ?? '1'},
      reject: false,
    });
    // A daemon that cannot start (socket path taken, bad state) exits: fail now, not at the deadline.
    void child.then((r) => (exited = r.signal ?? (r.exitCode === undefined ? r.shortMessage : `exit code ${r.exitCode}`)));
    child.unref();
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await callDaemon(socketPath, 'leases');
      return;
    } catch (err) {
      if (exited) throw new Error(`DHCP daemon exited (${exited}) before listening on ${socketPath} (see ${logPath})`);
      if (!(err instanceof DaemonDown) || Date.now() > deadline)
        throw new Error(`DHCP daemon did not come up on ${socketPath} (see ${logPath})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** ADD and CHECK (the reference's DHCP.Allocate), starting the daemon when none answers. */
async function allocate(ctx: PluginContext, args: CmdArgs): Promise<Result> {
  const socketPath = socketPathFor(ctx, args);
  const body = {...args, netns: args.netns ? path.resolve(args.netns) : ''};
  try {
    return await callDaemon<Result>(socketPath, 'allocate', body);
  } catch (err) {
    if (!(err instanceof DaemonDown)) throw new CniError(ErrorCode.Internal, `error calling DHCP.Allocate: ${(err as Error).message}`);
  }
  await spawnDaemon(ctx, socketPath);
  try {
    return await callDaemon<Result>(socketPath, 'allocate', body);
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `error calling DHCP.Allocate: ${(err as Error).message}`);
  }
}

/** The persisted lease table in this process, without maintenance: what DEL and GC fall back on without a daemon. */
async function passiveManager(ctx: PluginContext): Promise<import('./manager.js').LeaseManager> {
  const [{LeaseManager}, {LeaseStore, leaseFilePath}, {WorkerTransport}] = await Promise.all([
    import('./manager.js'),
    import('./store.js'),
    import('./worker-transport.js'),
  ]);
  const m = new LeaseManager({
    store: new LeaseStore(leaseFilePath(ctx.paths.stateDir)),
    openTransport: (netns, ifname) => WorkerTransport.open(netns, ifname, ctx.runner),
    log: ctx.log,
    passive: true,
  });
  await m.start();
  return m;
}

/** DEL without a daemon: release from the persisted table, in this process. */
async function releaseDirect(ctx: PluginContext, args: CmdArgs): Promise<void> {
  await (await passiveManager(ctx)).release(args);
}

async function add(ctx: PluginContext, args: CmdArgs): Promise<Result> {
  if (!args.netns) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_NETNS is required for dhcp ADD');
  return allocate(ctx, args);
}

/** DEL (the reference's DHCP.Release); without a daemon that can start, the lease is released from the persisted table here. */
async function del(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const socketPath = socketPathFor(ctx, args);
  try {
    await callDaemon(socketPath, 'release', args);
    return;
  } catch (err) {
    if (!(err instanceof DaemonDown)) throw new CniError(ErrorCode.Internal, `error calling DHCP.Release: ${(err as Error).message}`);
  }
  try {
    await spawnDaemon(ctx, socketPath);
    await callDaemon(socketPath, 'release', args);
  } catch (err) {
    ctx.log.warn(`DHCP daemon unavailable (${(err as Error).message}); releasing from the persisted lease`);
    await releaseDirect(ctx, args);
  }
}

/** CHECK allocates, as the reference's does: a held lease is returned as it is. */
async function check(ctx: PluginContext, args: CmdArgs): Promise<void> {
  await allocate(ctx, args);
}

/**
 * GC (spec 1.1): the leases of this network whose attachment is not in
 * cni.dev/valid-attachments are released (DHCPRELEASE where the interface
 * still exists) and leave the table. Through the daemon that maintains them;
 * with none running, straight from the persisted table (no daemon is started
 * for it: nothing renews a lease without one).
 */
async function gc(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const socketPath = socketPathFor(ctx, args);
  try {
    await callDaemon(socketPath, 'gc', args);
    return;
  } catch (err) {
    if (!(err instanceof DaemonDown)) throw new CniError(ErrorCode.Internal, `error calling DHCP GC: ${(err as Error).message}`);
  }
  await (await passiveManager(ctx)).gc(args);
}

/**
 * STATUS (spec 1.1): the daemon answers on its socket. When it does not,
 * ADD would have to start one and nothing renews the leases held: error 51
 * when the persisted table holds leases of this network (their containers
 * may lose their addresses), else 50.
 */
async function status(ctx: PluginContext, args: CmdArgs): Promise<void> {
  const conf = parseConf(args);
  const socketPath = conf.daemonSocketPath ?? ctx.paths.dhcpSocket;
  try {
    await callDaemon(socketPath, 'leases');
    return;
  } catch (err) {
    const {LeaseStore, leaseFilePath} = await import('./store.js');
    const table = await new LeaseStore(leaseFilePath(ctx.paths.stateDir)).load().catch(() => undefined);
    const held = Object.values(table?.leases ?? {}).some((l) => l.network === conf.name);
    throw new CniError(
      held ? ErrorCode.LimitedConnectivity : ErrorCode.PluginNotAvailable,
      `DHCP daemon not reachable on ${socketPath}: ${(err as Error).message}`,
    );
  }
}

export const plugin: Plugin = {type: 'dhcp', add, del, check, gc, status};
