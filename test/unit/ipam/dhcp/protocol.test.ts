import {strict as assert} from 'node:assert';
import type net from 'node:net';
import {PassThrough} from 'node:stream';
import {MAX_LINE, readLine} from '../../../../src/ipam/dhcp/protocol.js';

/**
 * readLine only listens for data, end and error: a PassThrough stands in for
 * the socket, so each test decides exactly how the bytes are cut into chunks.
 */
const fakeConn = (): PassThrough & net.Socket => new PassThrough() as PassThrough & net.Socket;
const listeners = (c: net.Socket) => ['data', 'end', 'error'].map((e) => c.listenerCount(e));

describe('ipam/dhcp/protocol readLine', () => {
  it('joins chunks up to the first newline and drops the rest', async () => {
    const c = fakeConn();
    const line = readLine(c);
    c.write('{"op":"al');
    c.write('locate"}\n{"op":"ignored"}\n');
    assert.equal(await line, '{"op":"allocate"}');
  });

  it('keeps multi-byte characters split across chunks whole', async () => {
    const c = fakeConn();
    const line = readLine(c);
    const bytes = Buffer.from('{"msg":"größe"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of "ö"
    c.write(bytes.subarray(0, cut));
    c.write(bytes.subarray(cut));
    assert.equal(await line, '{"msg":"größe"}');
  });

  it('stops listening once it has its line', async () => {
    const c = fakeConn();
    const before = listeners(c);
    const line = readLine(c);
    c.write('x\n');
    await line;
    assert.deepEqual(listeners(c), before);
  });

  it('rejects when the peer ends before a newline', async () => {
    const c = fakeConn();
    const line = readLine(c);
    c.end('{"op":"leases"}');
    await assert.rejects(line, {message: 'connection closed before a whole message'});
  });

  it("rejects with the connection's own error", async () => {
    const c = fakeConn();
    const line = readLine(c);
    c.destroy(Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'}));
    await assert.rejects(line, {code: 'ECONNRESET'});
  });

  it('refuses a message longer than MAX_LINE without waiting for its end', async () => {
    const c = fakeConn();
    const line = readLine(c);
    c.write(Buffer.alloc(MAX_LINE, 'x'));
    c.write('xx'); // one byte too many would do; no newline, no end
    await assert.rejects(line, {message: `message longer than ${MAX_LINE} bytes`});
    assert.deepEqual(listeners(c), [0, 0, 0]);
  });

  it('refuses a line longer than MAX_LINE even when its newline comes in the same chunk', async () => {
    // However the bytes are cut, the limit is on the line.
    const c = fakeConn();
    const line = readLine(c);
    c.write(Buffer.alloc(MAX_LINE - 10, 'x'));
    c.write(Buffer.concat([Buffer.alloc(20, 'x'), Buffer.from('\n')]));
    await assert.rejects(line, {message: `message longer than ${MAX_LINE} bytes`});
  });

  it('accepts a line of exactly MAX_LINE bytes', async () => {
    const c = fakeConn();
    const line = readLine(c);
    c.write(Buffer.alloc(MAX_LINE - 1, 'x'));
    c.write('x\n');
    assert.equal((await line).length, MAX_LINE);
  });
});
