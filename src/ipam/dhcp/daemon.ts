/**
 * The `cni-docker dhcp daemon` service: HTTP/JSON on a unix socket.
 *   POST /allocate  body CmdArgs → Result     (ADD, and CHECK as the reference)
 *   POST /release   body CmdArgs → {}         (DEL; unknown client is success)
 *   GET  /leases    → {pid, leases: Lease[]}
 * Errors: HTTP 500 with {"error": "..."}. Leases persist under
 * <stateDir>/dhcp/leases.json and are resumed on start. A stale socket file
 * (nobody accepts on it) is replaced; a live one is an error.
 */
import {promises as fs} from 'node:fs';
import http from 'node:http';
import type {Logger} from '../../cni/plugin.js';
import type {CmdArgs} from '../../cni/types.js';
import {LeaseManager, type OpenTransport} from './manager.js';
import {LeaseStore, leaseFilePath} from './store.js';
import {WorkerTransport} from './worker-transport.js';
import {execaRunner} from '../../exec/runner.js';
import {ipBatch} from '../../net/ip.js';
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
  await ipBatch(execaRunner(), [['link', 'set', 'dev', ifname, 'down']], netns);
}

export interface RunningDaemon {
  manager: LeaseManager;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function toCmdArgs(body: string): CmdArgs {
  const a = JSON.parse(body) as Partial<CmdArgs>;
  if (typeof a.containerId !== 'string' || typeof a.ifname !== 'string' || typeof a.stdin !== 'string') {
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

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, {'content-type': 'application/json'});
      res.end(JSON.stringify(body));
    };
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/leases') return reply(200, {pid: process.pid, leases: manager.leases()});
        if (req.method !== 'POST') return reply(404, {error: `no route ${req.method} ${req.url}`});
        const args = toCmdArgs(await readBody(req));
        if (req.url === '/allocate') return reply(200, await manager.allocate(args));
        if (req.url === '/release') {
          await manager.release(args);
          return reply(200, {});
        }
        return reply(404, {error: `no route ${req.url}`});
      } catch (err) {
        o.log.warn(`${req.url}: ${(err as Error).message}`);
        return reply(500, {error: (err as Error).message});
      }
    })();
  });
  await listenOn(server, o.socketPath, 0o660);
  o.log.debug(`dhcp daemon listening on ${o.socketPath}, state in ${leaseFilePath(o.stateDir)}`);

  return {
    manager,
    async close() {
      manager.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await fs.unlink(o.socketPath).catch(() => undefined);
    },
  };
}
