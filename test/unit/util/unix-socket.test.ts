import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {existsSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {canConnect, listenOn, prepareSocket} from '../../../src/util/unix-socket.js';

/** A socket file nobody listens on any more: a process that exits without closing its server leaves one. */
function staleSocket(p: string): void {
  execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.exit(0))`]);
  assert.ok(lstatSync(p).isSocket());
}

describe('util/unix-socket', () => {
  let dir: string;
  const servers: net.Server[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'usock-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, {recursive: true, force: true});
  });
  const serve = async (p: string, mode = 0o600): Promise<net.Server> => {
    const s = net.createServer((c) => c.end());
    servers.push(s);
    await listenOn(s, p, mode);
    return s;
  };

  it('canConnect tells a live listener from a stale socket and from nothing', async () => {
    const live = path.join(dir, 'live.sock');
    await serve(live);
    assert.equal(await canConnect(live), true);
    const stale = path.join(dir, 'stale.sock');
    staleSocket(stale);
    assert.equal(await canConnect(stale), false);
    assert.equal(await canConnect(path.join(dir, 'none.sock')), false);
  });

  it("listenOn sets the socket's mode, and rejects when the path is taken", async () => {
    const p = path.join(dir, 's.sock');
    await serve(p, 0o660);
    assert.equal(statSync(p).mode & 0o777, 0o660);
    const other = net.createServer();
    await assert.rejects(listenOn(other, p, 0o600), {code: 'EADDRINUSE'});
  });

  it('prepareSocket makes the missing directory 0700, whatever the umask', async () => {
    const p = path.join(dir, 'run', 'daemon.sock');
    const old = process.umask(0o077 ^ 0o777); // a umask that would leave the directory without bits
    try {
      await prepareSocket(p, 'the daemon');
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(path.dirname(p)).mode & 0o777, 0o700);
    assert.equal(existsSync(p), false);
  });

  it("prepareSocket leaves an existing directory's mode alone", async () => {
    const p = path.join(dir, 'daemon.sock');
    const before = statSync(dir).mode & 0o777;
    await prepareSocket(p, 'the daemon');
    assert.equal(statSync(dir).mode & 0o777, before);
  });

  it('prepareSocket removes a stale socket, so listening can follow', async () => {
    const p = path.join(dir, 'daemon.sock');
    staleSocket(p);
    await prepareSocket(p, 'the daemon');
    assert.equal(existsSync(p), false);
    await serve(p);
    assert.equal(await canConnect(p), true);
  });

  it('prepareSocket refuses a live listener, naming who listens, and keeps its socket', async () => {
    const p = path.join(dir, 'daemon.sock');
    await serve(p);
    await assert.rejects(prepareSocket(p, 'the DHCP daemon'), {message: `the DHCP daemon is already listening on ${p}`});
    assert.equal(await canConnect(p), true);
  });

  it('prepareSocket refuses a file that is not a socket and leaves it', async () => {
    const p = path.join(dir, 'daemon.sock');
    writeFileSync(p, 'not a socket');
    await assert.rejects(prepareSocket(p, 'x'), {message: `${p} exists and is not a socket`});
    assert.equal(existsSync(p), true);
  });

  it('prepareSocket says so when the directory cannot be made', async () => {
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, '');
    const p = path.join(blocker, 'run', 'daemon.sock');
    await assert.rejects(prepareSocket(p, 'x'), {message: `cannot make the directory of ${p}: not a directory`});
  });
});
