/**
 * Runs INSIDE a container's network namespace (`nsenter --net=NS node
 * ns-worker.js`; Node cannot setns itself) and proxies one UDP socket bound
 * to 0.0.0.0:68 to the daemon over JSON lines on stdin/stdout. The daemon
 * brings the interface up and manages the broadcast route itself
 * (worker-transport.ts), so this needs nothing but dgram. Exits when stdin
 * closes.
 *
 * in:  {"op":"send","id":N,"dst":"a.b.c.d","data":"<base64>"}
 *      {"op":"close"}
 * out: {"ev":"ready"} | {"ev":"ok","id":N} | {"ev":"error","id"?:N,"msg":"…"}
 *      {"ev":"pkt","data":"<base64>"}
 * Deliberately imports nothing from the project, to start fast.
 */
import dgram from 'node:dgram';
import readline from 'node:readline';

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function main(): void {
  const sock = dgram.createSocket({type: 'udp4', reuseAddr: true});
  sock.on('message', (data) => out({ev: 'pkt', data: data.toString('base64')}));
  sock.on('error', (err) => {
    out({ev: 'error', msg: err.message});
    process.exit(1);
  });
  sock.bind({port: 68, address: '0.0.0.0'}, () => {
    sock.setBroadcast(true);
    out({ev: 'ready'});
  });

  const rl = readline.createInterface({input: process.stdin});
  rl.on('line', (line) => {
    let cmd: {op: string; id?: number; dst?: string; data?: string};
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      out({ev: 'error', msg: `bad command: ${line}`});
      return;
    }
    if (cmd.op === 'close') {
      sock.close();
      process.exit(0);
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
    process.exit(0);
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => process.exit(0));
}

main();
