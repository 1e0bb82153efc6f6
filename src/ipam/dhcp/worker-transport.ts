/**
 * Daemon side of ns-worker.js: spawns `nsenter --net=NETNS node ns-worker.js
 * IFNAME` and exposes it as a client Transport. The Runner interface is
 * argv-in/result-out, so this long-lived, streaming child is spawned directly.
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import readline from 'node:readline';
import {packagePath} from '../../util/package-root.js';
import type {Transport} from './client.js';

const worker = (): string => packagePath('dist', 'src', 'ipam', 'dhcp', 'ns-worker.js');

interface WorkerEvent {
  ev: 'ready' | 'ok' | 'error' | 'pkt';
  id?: number;
  mac?: string;
  msg?: string;
  data?: string;
}

export class WorkerTransport implements Transport {
  mac = '';
  private nextId = 1;
  private pending = new Map<number, {resolve: () => void; reject: (e: Error) => void}>();
  private packets: Buffer[] = [];
  private waiter?: (b: Buffer | undefined) => void;
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static open(netns: string, ifname: string, startTimeoutMs = 10000): Promise<WorkerTransport> {
    const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, worker(), ifname], {stdio: ['pipe', 'pipe', 'pipe']});
    const t = new WorkerTransport(child);
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
      child.on('error', (err) => fail(`starting DHCP worker: ${err.message}`));
      child.on('exit', (code) => {
        t.exited = true;
        t.failAll(new Error(`DHCP worker exited (${code}) ${stderr.trim()}`));
        fail(stderr.trim() || `DHCP worker exited with status ${code}`);
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
          t.mac = e.mac ?? '';
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

  broadcastRoute(on: boolean): Promise<void> {
    return this.call({op: 'route', on});
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

  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 3000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.stdin.end(`${JSON.stringify({op: 'close'})}\n`);
    });
  }
}
