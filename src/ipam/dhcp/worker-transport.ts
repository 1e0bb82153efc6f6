/**
 * Daemon side of ns-worker.js: prepares the interface in the namespace (its
 * MAC, up), starts `nsenter --net=NETNS node ns-worker.js` through execa and
 * exposes it as a client Transport. The broadcast route is added and removed
 * here, through the runner in the namespace; the worker only holds the socket.
 */
import readline from 'node:readline';
import type {ResultPromise} from 'execa';
import {CommandError, execaRunner, loadExeca, type Runner} from '../../exec/runner.js';
import {inNetns} from '../../net/iproute.js';
import {getLink, setLinkUp} from '../../net/link.js';
import {delRoute, ensureRoute} from '../../net/route.js';
import {packagePath} from '../../util/package-root.js';
import type {Transport} from './client.js';

const worker = (): string => packagePath('dist', 'src', 'ipam', 'dhcp', 'ns-worker.js');
const BROADCAST = '255.255.255.255/32';

interface WorkerEvent {
  ev: 'ready' | 'ok' | 'error' | 'pkt';
  id?: number;
  msg?: string;
  data?: string;
}

/** Its stdio are our pipes; its output is read as it comes, never buffered; its end is a result, never a rejection. */
const WORKER_STDIO = {stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false} as const;
type Worker = ResultPromise<typeof WORKER_STDIO>;

const detail = (err: unknown): string => (err instanceof CommandError ? err.detail : (err as Error).message);

/** The interface's MAC, brought up if it is down; errors read `error looking up "IF": …` (the manager drops a lease on them). */
async function prepareLink(runner: Runner, netns: string, ifname: string): Promise<string> {
  try {
    const link = await getLink(runner, ifname, netns);
    if (!link) throw new Error('Link not found');
    if (!link.flags.includes('UP')) await setLinkUp(runner, ifname, netns);
    return link.address ?? '';
  } catch (err) {
    throw new Error(`error looking up "${ifname}": ${detail(err)}`);
  }
}

export class WorkerTransport implements Transport {
  private nextId = 1;
  private pending = new Map<number, {resolve: () => void; reject: (e: Error) => void}>();
  private packets: Buffer[] = [];
  private waiter?: (b: Buffer | undefined) => void;
  private exited = false;
  private routeAdded = false;

  private constructor(
    private readonly child: Worker,
    private readonly ns: Runner,
    private readonly ifname: string,
    readonly mac: string,
  ) {}

  static async open(netns: string, ifname: string, runner: Runner = execaRunner(), startTimeoutMs = 10000): Promise<WorkerTransport> {
    const mac = await prepareLink(runner, netns, ifname);
    const execa = await loadExeca();
    const child = execa('nsenter', [`--net=${netns}`, '--', process.execPath, worker()], WORKER_STDIO);
    const t = new WorkerTransport(child, inNetns(runner, netns), ifname, mac);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`DHCP worker in ${netns} did not start`));
      }, startTimeoutMs);
      const fail = (msg: string): void => {
        clearTimeout(timer);
        reject(new Error(msg));
      };
      void child.then((r) => {
        t.exited = true;
        const why = r.exitCode === undefined ? (r.signal ?? r.shortMessage) : `status ${r.exitCode}`;
        t.failAll(new Error(`DHCP worker exited (${why}) ${stderr.trim()}`));
        fail(
          r.exitCode === undefined && !r.signal
            ? `starting DHCP worker: ${r.shortMessage}`
            : stderr.trim() || `DHCP worker exited with ${why}`,
        );
      });
      readline.createInterface({input: child.stdout}).on('line', (line) => {
        let e: WorkerEvent;
        try {
          e = JSON.parse(line) as WorkerEvent;
        } catch {
          return;
        }
        if (e.ev === 'ready') {
          clearTimeout(timer);
          resolve(t);
        } else if (e.ev === 'pkt' && e.data) {
          t.deliver(Buffer.from(e.data, 'base64'));
        } else if (e.id !== undefined) {
          const p = t.pending.get(e.id);
          t.pending.delete(e.id);
          if (p && e.ev === 'ok') p.resolve();
          else if (p) p.reject(new Error(e.msg ?? 'worker error'));
        } else if (e.ev === 'error') {
          fail(e.msg ?? 'worker error');
        }
      });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (this.waiter) this.waiter(undefined);
  }

  private deliver(b: Buffer): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(b);
    } else this.packets.push(b);
  }

  private call(cmd: Record<string, unknown>): Promise<void> {
    if (this.exited) return Promise.reject(new Error('DHCP worker has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject});
      this.child.stdin.write(`${JSON.stringify({...cmd, id})}\n`);
    });
  }

  send(data: Buffer, dst: string): Promise<void> {
    return this.call({op: 'send', dst, data: data.toString('base64')});
  }

  /** dgram has no SO_BINDTODEVICE: broadcasts leave through this route. Removed only if added here. */
  async broadcastRoute(on: boolean): Promise<void> {
    if (on && !this.routeAdded) {
      try {
        if (await ensureRoute(this.ns, BROADCAST, this.ifname)) this.routeAdded = true;
      } catch (err) {
        throw new Error(`adding broadcast route on ${this.ifname}: ${detail(err)}`);
      }
    } else if (!on && this.routeAdded) {
      this.routeAdded = false;
      await delRoute(this.ns, BROADCAST, this.ifname).catch(() => undefined);
    }
  }

  recv(timeoutMs: number): Promise<Buffer | undefined> {
    const b = this.packets.shift();
    if (b) return Promise.resolve(b);
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
  }

  async close(): Promise<void> {
    const route = this.broadcastRoute(false).catch(() => undefined);
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.child.kill('SIGKILL');
          resolve();
        }, 3000);
        void this.child.then(() => {
          clearTimeout(timer);
          resolve();
        });
        this.child.stdin.end(`${JSON.stringify({op: 'close'})}\n`);
      });
    }
    await route;
  }
}
