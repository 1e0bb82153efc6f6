import {strict as assert} from 'node:assert';
import {spawn} from 'node:child_process';
import {chownSync, mkdtempSync, realpathSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {buildStamp, decodeRequest, frame, type ServiceRequest} from '../../../src/service/protocol.js';

/**
 * bin/cni-docker-client (perl) against a stand-in service on a temporary
 * socket: what it sends, how it prints the frames, and its fallbacks.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLIENT = path.join(ROOT, 'bin', 'cni-docker-client');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runClient(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn('perl', [CLIENT, ...args], {env, cwd, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({code, stdout, stderr}));
  });
}

/** A stand-in service: records each request and answers with `reply`. */
function standIn(socketPath: string, reply: (conn: net.Socket, req: ServiceRequest) => void): Promise<{server: net.Server; requests: ServiceRequest[]}> {
  const requests: ServiceRequest[] = [];
  const server = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const req = decodeRequest(buf);
      if (!req) return;
      requests.push(req);
      reply(conn, req);
    });
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve({server, requests})));
}

describe('bin/cni-docker-client (the service client)', function () {
  this.timeout(30_000);
  let tmp: string;
  let sock: string;
  let env: NodeJS.ProcessEnv;
  let server: net.Server | undefined;

  beforeEach(() => {
    tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'tclient-')));
    sock = path.join(tmp, 's.sock');
    env = {...process.env, CNI_DOCKER_SERVICE_SOCKET: sock, MARKER: 'm 1=2'};
    delete env.CNI_DOCKER_SERVICE_FALLBACK;
  });
  afterEach(async () => {
    if (server) await new Promise((r) => server!.close(r));
    server = undefined;
    rmSync(tmp, {recursive: true, force: true});
  });

  it('sends the build stamp, working directory, terminal flag, argv and environment', async () => {
    const s = await standIn(sock, (conn) => conn.end(frame('x', '0')));
    server = s.server;
    const args = ['attach', 'web', '--conf', 'a b.conf', '--args', 'K=V', 'ü'];
    const r = await runClient(args, {...env, PWD: tmp}, tmp);
    assert.equal(r.code, 0, r.stderr);
    const [req] = s.requests;
    assert.equal(req.stamp, buildStamp(ROOT));
    assert.equal(req.cwd, tmp);
    assert.equal(req.stdoutIsTTY, false);
    assert.deepEqual(req.argv, args);
    assert.equal(req.env.MARKER, 'm 1=2');
    assert.equal(req.env.PATH, process.env.PATH);
  });

  it('a $PWD that does not name the working directory is not trusted', async () => {
    const s = await standIn(sock, (conn) => conn.end(frame('x', '0')));
    server = s.server;
    const r = await runClient(['list'], {...env, PWD: '/'}, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.requests[0].cwd, tmp);
  });

  it('prints stdout and stderr frames as they come and exits with the status frame', async () => {
    const s = await standIn(sock, (conn) => {
      conn.write(frame('o', 'one\n'));
      conn.write(frame('e', 'warning: two\n'));
      conn.write(Buffer.concat([frame('o', 'three ü\n'), frame('x', '7')]));
      conn.end();
    });
    server = s.server;
    const r = await runClient(['detach', 'web'], env, tmp);
    assert.deepEqual(r, {code: 7, stdout: 'one\nthree ü\n', stderr: 'warning: two\n'});
  });

  it('a connection that ends before the status frame is a one-line error and status 1', async () => {
    const s = await standIn(sock, (conn) => conn.end(frame('o', 'partial\n')));
    server = s.server;
    const r = await runClient(['attach', 'web'], env, tmp);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'partial\n');
    assert.match(r.stderr, /^Error: the cni-docker service ended the connection before the command finished .*\n$/);
  });

  it('a request handed back runs through bin/cni-docker with the marker that skips the service', async () => {
    const s = await standIn(sock, (conn) => conn.end(frame('f', 'stale')));
    server = s.server;
    // list (read-only) is a command bin/cni-docker sends to the service when its socket exists.
    const r = await runClient(['list', '--json', '--net', 'tclient-no-such-net'], env, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.equal(s.requests.length, 1, 'the fallback went to the service again');
  });

  it("a socket of another user is never sent this user's request: the command runs on its own", async () => {
    const s = await standIn(sock, (conn) => conn.end(frame('x', '0')));
    server = s.server;
    chownSync(sock, 65534, 65534);
    const r = await runClient(['list', '--json', '--net', 'tclient-no-such-net'], env, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.equal(s.requests.length, 0, 'the request went to a socket owned by another user');
  });

  it('with nothing listening on the socket the command runs on its own', async () => {
    const r = await runClient(['--version'], env, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cni-docker\/\d+\.\d+\.\d+ /);
  });
});
