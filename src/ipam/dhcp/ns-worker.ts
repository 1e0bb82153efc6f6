/**
 * Runs INSIDE a container's network namespace (`nsenter --net=NS node
 * ns-worker.js IFNAME`; Node cannot setns itself) and proxies one UDP socket
 * bound to 0.0.0.0:68 to the daemon over JSON lines on stdin/stdout.
 *
 * dgram has no SO_BINDTODEVICE: broadcasts leave through the
 * 255.255.255.255/32 route this worker adds on IFNAME on request and removes
 * when it exits (only if it added it). Exits when stdin closes.
 *
 * in:  {"op":"send","id":N,"dst":"a.b.c.d","data":"<base64>"}
 *      {"op":"route","id":N,"on":true|false}
 *      {"op":"close"}
 * out: {"ev":"ready","mac":"…"} | {"ev":"ok","id":N} | {"ev":"error","id"?:N,"msg":"…"}
 *      {"ev":"pkt","data":"<base64>"}
 * Deliberately imports nothing from the project, to start fast.
 */
import {execFileSync} from 'node:child_process';
import dgram from 'node:dgram';
import readline from 'node:readline';

const ifname = process.argv[2];
let routeAdded = false;

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function ipCmd(args: string[]): {ok: boolean; stderr: string} {
  try {
    execFileSync('ip', args, {stdio: ['ignore', 'ignore', 'pipe']});
    return {ok: true, stderr: ''};
  } catch (err) {
    const e = err as {stderr?: Buffer};
    return {ok: false, stderr: e.stderr ? e.stderr.toString().trim() : String(err)};
  }
}

function setRoute(on: boolean): void {
  if (on && !routeAdded) {
    const r = ipCmd(['route', 'add', '255.255.255.255/32', 'dev', ifname]);
    if (r.ok) routeAdded = true;
    else if (!/exists/i.test(r.stderr)) throw new Error(`adding broadcast route on ${ifname}: ${r.stderr}`);
  } else if (!on && routeAdded) {
    ipCmd(['route', 'del', '255.255.255.255/32', 'dev', ifname]);
    routeAdded = false;
  }
}

function finish(code: number): never {
  try {
    setRoute(false);
  } catch {
    // best effort
  }
  process.exit(code);
}

function main(): void {
  if (!ifname) {
    out({ev: 'error', msg: 'usage: ns-worker IFNAME'});
    process.exit(2);
  }
  let mac: string;
  try {
    const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', ifname], {stdio: ['ignore', 'pipe', 'pipe']}).toString()) as {address?: string; flags?: string[]}[];
    mac = links[0]?.address ?? '';
    if (!links[0]?.flags?.includes('UP')) {
      const r = ipCmd(['link', 'set', 'dev', ifname, 'up']);
      if (!r.ok) throw new Error(r.stderr);
    }
  } catch (err) {
    const e = err as {stderr?: Buffer; message?: string};
    out({ev: 'error', msg: `error looking up "${ifname}": ${e.stderr ? e.stderr.toString().trim() : e.message}`});
    process.exit(1);
  }
  const sock = dgram.createSocket({type: 'udp4', reuseAddr: true});
  sock.on('message', (data) => out({ev: 'pkt', data: data.toString('base64')}));
  sock.on('error', (err) => {
    out({ev: 'error', msg: err.message});
    finish(1);
  });
  sock.bind({port: 68, address: '0.0.0.0'}, () => {
    sock.setBroadcast(true);
    out({ev: 'ready', mac});
  });

  const rl = readline.createInterface({input: process.stdin});
  rl.on('line', (line) => {
    let cmd: {op: string; id?: number; dst?: string; data?: string; on?: boolean};
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      out({ev: 'error', msg: `bad command: ${line}`});
      return;
    }
    if (cmd.op === 'close') {
      sock.close();
      finish(0);
    } else if (cmd.op === 'route') {
      try {
        setRoute(Boolean(cmd.on));
        out({ev: 'ok', id: cmd.id});
      } catch (err) {
        out({ev: 'error', id: cmd.id, msg: (err as Error).message});
      }
    } else if (cmd.op === 'send') {
      sock.send(Buffer.from(cmd.data ?? '', 'base64'), 67, cmd.dst ?? '255.255.255.255', (err) => {
        if (err) out({ev: 'error', id: cmd.id, msg: err.message});
        else out({ev: 'ok', id: cmd.id});
      });
    } else {
      out({ev: 'error', id: cmd.id, msg: `unknown op ${cmd.op}`});
    }
  });
  rl.on('close', () => {
    sock.close();
    finish(0);
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => finish(0));
}

main();
