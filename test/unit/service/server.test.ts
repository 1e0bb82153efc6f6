import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {spawn} from 'node:child_process';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {callService} from '../../../src/service/control.js';
import {readFrames} from '../../../src/service/protocol.js';
import {startService, STATUS_REQUEST, type RunningService} from '../../../src/service/server.js';

/**
 * The service's handling of requests that never reach the runtime: bad bytes,
 * other builds, hand-backs, status, and its socket. (Commands it runs are in
 * test/integration/service.test.ts, against the real engine.)
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const quiet = {debug: () => undefined, warn: () => undefined};

function rawExchange(sock: string, bytes: Buffer): Promise<{type: string; payload: string}[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock, () => s.write(bytes));
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    s.on('error', reject);
    s.on('close', () => resolve(readFrames(buf).frames.map((f) => ({type: f.type, payload: f.payload.toString('utf8')}))));
  });
}

describe('service/server', function () {
  this.timeout(20_000);
  let tmp: string;
  let sock: string;
  let svc: RunningService | undefined;

  beforeEach(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'tserver-'));
    sock = path.join(tmp, 'sub', 'service.sock');
    svc = await startService({socketPath: sock, rootDir: ROOT, log: quiet});
  });
  afterEach(async () => {
    await svc?.close();
    rmSync(tmp, {recursive: true, force: true});
  });

  it('makes a 0700 directory and a 0600 socket, and refuses a second service on it', async () => {
    assert.equal(statSync(path.dirname(sock)).mode & 0o777, 0o700);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    await assert.rejects(startService({socketPath: sock, rootDir: ROOT, log: quiet}), /a cni-docker service is already listening on /);
  });

  it('refuses a path that is not a socket, and replaces a dead socket', async () => {
    const file = path.join(tmp, 'plain');
    writeFileSync(file, 'x');
    await assert.rejects(startService({socketPath: file, rootDir: ROOT, log: quiet}), /exists and is not a socket/);
    await assert.rejects(startService({socketPath: path.join(file, 's.sock'), rootDir: ROOT, log: quiet}), {message: `cannot make the directory of ${file}/s.sock: file already exists`});
    // A listener killed with SIGKILL leaves its socket file behind.
    const dead = path.join(tmp, 'dead.sock');
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.stdout.write('up'))", dead], {stdio: ['ignore', 'pipe', 'inherit']});
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(existsSync(dead));
    const s2 = await startService({socketPath: dead, rootDir: ROOT, log: quiet});
    await s2.close();
  });

  it('answers bytes that are not a request with one error line and runs nothing', async () => {
    const frames = await rawExchange(sock, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.deepEqual(frames, [{type: 'e', payload: 'Error: bad request to the cni-docker service: not a cni-docker service request\n'}]);
    assert.equal(svc!.status().requests, 0);
  });

  it('hands back what it does not run: other commands, opt-outs, and a TLS Docker endpoint', async () => {
    for (const [argv, env, why] of [
      [['gc'], {}, 'not a fast-path command'],
      [['attach', '--help'], {}, 'not a fast-path command'],
      [['list'], {CNI_DOCKER_NO_SERVICE: '1'}, 'CNI_DOCKER_NO_SERVICE is set'],
      [['list'], {DOCKER_HOST: 'tcp://h:2376'}, 'DOCKER_HOST needs dockerode'],
    ] as [string[], Record<string, string>, string][]) {
      const r = await callService(sock, argv, {rootDir: ROOT, env});
      assert.deepEqual(r, {stdout: '', stderr: '', handedBack: why}, argv.join(' '));
    }
  });

  it('a request that arrives while it stops is handed back, not dropped', async () => {
    const conn = net.connect(sock);
    await new Promise((r) => conn.once('connect', r));
    const closing = svc!.close('test');
    let buf: Buffer = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    const {encodeRequest, buildStamp} = await import('../../../src/service/protocol.js');
    conn.write(encodeRequest({stamp: buildStamp(ROOT), cwd: '/', stdoutIsTTY: false, argv: ['list'], env: {}}));
    await new Promise((r) => conn.once('close', r));
    await closing;
    assert.deepEqual(readFrames(buf).frames.map((f) => [f.type, f.payload.toString()]), [['f', 'stopping']]);
    assert.equal(svc!.status().requests, 0);
  });

  it('reports its status, and a client of another build makes it hand back and exit', async () => {
    const st = await callService(sock, [STATUS_REQUEST], {rootDir: ROOT});
    assert.equal(st.code, 0);
    assert.equal((JSON.parse(st.stdout) as {pid: number}).pid, process.pid);
    const fake = path.join(tmp, 'other-build');
    const r = await callService(sock, ['list'], {rootDir: fake});
    assert.equal(r.handedBack, 'stale');
    await svc!.closed;
    assert.ok(!existsSync(sock), 'the out-of-date service left its socket');
  });
});
