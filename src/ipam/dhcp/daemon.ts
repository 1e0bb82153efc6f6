/**
 * The `cni-docker dhcp daemon` service: line-delimited JSON on a unix socket
 * (protocol.ts). Leases persist under <stateDir>/dhcp/leases.json and are
 * resumed on start. A stale socket file (nobody accepts on it) is replaced; a
 * live one is an error.
 */
import {promises as fs} from 'node:fs';
import net from 'node:net';
import type {Logger} from '../../util/logger.js';
import type {CmdArgs} from '../../cni/types.js';
import {LeaseManager, type OpenTransport} from './manager.js';
import {readLine, type DaemonReply, type DaemonRequest} from './protocol.js';
import {LeaseStore, leaseFilePath} from './store.js';
import {WorkerTransport} from './worker-transport.js';
import {execaRunner} from '../../exec/runner.js';
import {setLinkDown} from '../../net/link.js';
import {isLiveNetns} from '../../net/netns.js';
import {listenOn, prepareSocket} from '../../util/unix-socket.js';

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  log: Logger;
  openTransport?: OpenTransport;
  acquireBudgetMs?: number;
  setLinkDown?: (netns: string, ifname: string) => Promise<void>;
}

/** `ip link set dev IF down` in the lease's namespace; nothing when the namespace is gone. */
export async function setLinkDownInNetns(netns: string, ifname: string): Promise<void> {
  if (!isLiveNetns(netns)) return;
  await setLinkDown(execaRunner(), ifname, netns);
}

export interface RunningDaemon {
  manager: LeaseManager;
  close(): Promise<void>;
}

function toCmdArgs(a: Partial<CmdArgs> | undefined): CmdArgs {
  if (typeof a?.containerId !== 'string' || typeof a.ifname !== 'string' || typeof a.stdin !== 'string') {
    throw new Error('request needs containerId, ifname and stdin');
  }
  return {containerId: a.containerId, netns: a.netns ?? '', ifname: a.ifname, args: a.args ?? '', path: a.path ?? [], stdin: a.stdin};
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  await prepareSocket(o.socketPath, 'a DHCP daemon');
  const manager = new LeaseManager({
    store: new LeaseStore(leaseFilePath(o.stateDir)),
    openTransport: o.openTransport ?? ((netns, ifname) => WorkerTransport.open(netns, ifname)),
    log: o.log,
    acquireBudgetMs: o.acquireBudgetMs,
    setLinkDown: o.setLinkDown ?? setLinkDownInNetns,
  });
  await manager.start();

  const answer = async (req: DaemonRequest): Promise<unknown> => {
    switch (req.op) {
      case 'leases':
        return {pid: process.pid, leases: manager.leases()};
      case 'allocate':
        return manager.allocate(toCmdArgs(req.args));
      case 'release':
        await manager.release(toCmdArgs(req.args));
        return {};
      case 'gc':
        return {released: await manager.gc(toCmdArgs(req.args))};
      default:
        throw new Error(`unknown request ${JSON.stringify((req as {op?: unknown}).op)}`);
    }
  };
  const conns = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => undefined);
    void (async () => {
      let op = 'request';
      let reply: DaemonReply;
      try {
        const req = JSON.parse(await readLine(conn)) as DaemonRequest;
        op = String(req?.op);
        reply = {ok: true, result: await answer(req)};
      } catch (err) {
        o.log.warn(`${op}: ${(err as Error).message}`);
        reply = {ok: false, error: (err as Error).message};
      }
      if (!conn.destroyed) conn.end(`${JSON.stringify(reply)}\n`);
    })();
  });
  await listenOn(server, o.socketPath, 0o660);
  o.log.debug(`dhcp daemon listening on ${o.socketPath}, state in ${leaseFilePath(o.stateDir)}`);

  return {
    manager,
    async close() {
      manager.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of conns) c.destroy();
      await closed;
      await fs.unlink(o.socketPath).catch(() => undefined);
    },
  };
}
