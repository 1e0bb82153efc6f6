import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {CmdArgs} from '../../../../src/cni/types.js';
import {startDaemon, type RunningDaemon} from '../../../../src/ipam/dhcp/daemon.js';
import {callDaemon} from '../../../../src/ipam/dhcp/index.js';
import {MAX_LINE} from '../../../../src/ipam/dhcp/protocol.js';

/** One raw exchange on the socket: what the daemon answers to `text`. */
function raw(socketPath: string, text: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let got = '';
    conn.on('data', (d: Buffer) => (got += d.toString()));
    conn.on('end', () => resolve(got));
    conn.on('error', reject);
    conn.end(text);
  });
}

/** The daemon's socket and protocol, without DHCP: transports that fail, leases that are not there. */
describe('dhcp daemon socket protocol', () => {
  let dir: string;
  let sock: string;
  let daemon: RunningDaemon;
  const warnings: string[] = [];
  const args = (containerId: string): CmdArgs => ({
    containerId,
    netns: '/var/run/netns/tdd-none',
    ifname: 'eth1',
    args: '',
    path: [],
    stdin: JSON.stringify({cniVersion: '1.0.0', name: 'tddnet', type: 'macvlan', master: 'x', ipam: {type: 'dhcp'}}),
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cni-dhcpd-'));
    sock = path.join(dir, 'run', 'dhcp.sock');
    daemon = await startDaemon({
      socketPath: sock,
      stateDir: path.join(dir, 'state'),
      log: {debug: () => undefined, warn: (m) => warnings.push(m)},
      openTransport: async () => {
        throw new Error('error looking up "eth1": no such namespace here');
      },
    });
  });
  after(async () => {
    await daemon?.close();
    rmSync(dir, {recursive: true, force: true});
  });

  it('listens on the socket with mode 0660 in a 0700 directory it made', () => {
    assert.ok(statSync(sock).isSocket());
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    assert.equal(statSync(path.dirname(sock)).mode & 0o777, 0o700);
  });

  it('answers leases with its pid and the held leases', async () => {
    assert.deepEqual(await callDaemon(sock, 'leases'), {pid: process.pid, leases: []});
  });

  it('a release of a client it holds nothing for succeeds', async () => {
    assert.deepEqual(await callDaemon(sock, 'release', args('tddcid1')), {});
  });

  it("an allocate that fails reaches the caller with the daemon's message, and is logged", async () => {
    await assert.rejects(callDaemon(sock, 'allocate', args('tddcid2')), /error looking up "eth1": no such namespace here/);
    assert.ok(
      warnings.some((w) => /^allocate: .*no such namespace here/.test(w)),
      warnings.join(' | '),
    );
  });

  it('refuses what is not a request, one JSON line back each time', async () => {
    const bad = JSON.parse(await raw(sock, 'not json\n')) as {ok: boolean; error: string};
    assert.equal(bad.ok, false);
    assert.match(bad.error, /JSON/);
    assert.deepEqual(JSON.parse(await raw(sock, '{"op":"format"}\n')), {ok: false, error: 'unknown request "format"'});
    assert.deepEqual(JSON.parse(await raw(sock, '{"op":"allocate","args":{"ifname":"eth1"}}\n')), {
      ok: false,
      error: 'request needs containerId, ifname and stdin',
    });
    assert.deepEqual(JSON.parse(await raw(sock, Buffer.alloc(MAX_LINE + 1, 'x'))), {
      ok: false,
      error: `message longer than ${MAX_LINE} bytes`,
    });
    // Still serving.
    assert.deepEqual(await callDaemon(sock, 'leases'), {pid: process.pid, leases: []});
  });

  it('a second daemon on a live socket is refused; nothing listening is DaemonDown for a client', async () => {
    await assert.rejects(
      startDaemon({socketPath: sock, stateDir: path.join(dir, 'state2'), log: {debug: () => undefined, warn: () => undefined}}),
      /a DHCP daemon is already listening on/,
    );
    await assert.rejects(callDaemon(path.join(dir, 'nobody.sock'), 'leases'), /^Error: error dialing DHCP daemon: connect ENOENT/);
  });

  it('close stops listening and removes the socket', async () => {
    const other = await startDaemon({
      socketPath: path.join(dir, 'b.sock'),
      stateDir: path.join(dir, 'state3'),
      log: {debug: () => undefined, warn: () => undefined},
    });
    await other.close();
    assert.equal(existsSync(path.join(dir, 'b.sock')), false);
  });
});
