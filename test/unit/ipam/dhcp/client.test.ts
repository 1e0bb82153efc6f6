import {strict as assert} from 'node:assert';
import {acquire, release, renew, retryDelays, type Clock, type ClientOptions, type Transport} from '../../../../src/ipam/dhcp/client.js';
import {
  BOOTREPLY,
  FLAG_BROADCAST,
  MessageType,
  Opt,
  decode,
  encode,
  ipToBytes,
  messageType,
  optIp,
  type DhcpMessage,
} from '../../../../src/ipam/dhcp/packet.js';

/** A clock that only moves when something waits on it. */
function fakeClock(): Clock & {t: number} {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

type Responder = (req: DhcpMessage, dst: string) => DhcpMessage | undefined;

/** A transport backed by a scripted server; records every datagram sent. */
function fakeTransport(
  clock: {t: number},
  respond: Responder,
  failUnicast = false,
): Transport & {sent: {msg: DhcpMessage; dst: string}[]; routes: boolean[]} {
  const queue: Buffer[] = [];
  const t = {
    mac: '02:00:00:00:00:01',
    sent: [] as {msg: DhcpMessage; dst: string}[],
    routes: [] as boolean[],
    async send(data: Buffer, dst: string) {
      if (failUnicast && dst !== '255.255.255.255') throw new Error('connect ENETUNREACH');
      const msg = decode(data);
      t.sent.push({msg, dst});
      const r = respond(msg, dst);
      if (r) queue.push(encode(r));
    },
    async recv(timeoutMs: number) {
      const b = queue.shift();
      if (!b) clock.t += timeoutMs;
      return b;
    },
    async broadcastRoute(on: boolean) {
      t.routes.push(on);
    },
    async close() {},
  };
  return t;
}

function reply(req: DhcpMessage, type: number, yiaddr: string, server = '10.214.0.1'): DhcpMessage {
  return {
    ...req,
    op: BOOTREPLY,
    yiaddr,
    options: new Map([
      [Opt.MessageType, Buffer.from([type])],
      [Opt.ServerId, ipToBytes(server)],
      [Opt.SubnetMask, ipToBytes('255.255.255.0')],
    ]),
  };
}

function opts(clock: Clock): ClientOptions {
  return {clientId: 'cid/net/eth0', paramList: [1, 3], budgetMs: 30000, clock, random: () => 0.5};
}

describe('dhcp client', () => {
  it('retry schedule: 4 × 2 s then 4 s doubling up to resendMax (no jitter at random 0.5)', () => {
    assert.deepEqual(
      retryDelays(8, 16000, () => 0.5),
      [2000, 2000, 2000, 2000, 4000, 8000, 16000, 16000],
    );
  });

  it('does DORA with the broadcast flag, client id and requested address', async () => {
    const clock = fakeClock();
    const t = fakeTransport(clock, (m) => {
      const mt = messageType(m);
      if (mt === MessageType.Discover) return reply(m, MessageType.Offer, '10.214.0.50');
      if (mt === MessageType.Request) return reply(m, MessageType.Ack, optIp(m.options, Opt.RequestedIP)!);
      return undefined;
    });
    const ack = await acquire(t, opts(clock), '10.214.0.50');
    assert.equal(ack.msg.yiaddr, '10.214.0.50');
    assert.deepEqual(
      t.sent.map((s) => [messageType(s.msg), s.dst, s.msg.flags]),
      [
        [MessageType.Discover, '255.255.255.255', FLAG_BROADCAST],
        [MessageType.Request, '255.255.255.255', FLAG_BROADCAST],
      ],
    );
    assert.equal(optIp(t.sent[0].msg.options, Opt.RequestedIP), '10.214.0.50');
    assert.equal(optIp(t.sent[1].msg.options, Opt.ServerId), '10.214.0.1');
    assert.equal(t.sent[0].msg.options.get(Opt.ClientId)?.toString('utf8', 1), 'cid/net/eth0');
    assert.deepEqual(t.routes, [true]);
  });

  it('retries a lost OFFER, ignores foreign xids, and gives up with "no more tries" within the budget', async () => {
    const clock = fakeClock();
    let n = 0;
    const t = fakeTransport(clock, (m) => {
      n++;
      if (n === 1) return undefined; // lost
      if (n === 2) return {...reply(m, MessageType.Offer, '10.214.0.9'), xid: m.xid + 1};
      return messageType(m) === MessageType.Discover
        ? reply(m, MessageType.Offer, '10.214.0.51')
        : reply(m, MessageType.Ack, '10.214.0.51');
    });
    assert.equal((await acquire(t, opts(clock))).msg.yiaddr, '10.214.0.51');
    assert.ok(clock.t >= 4000, `waited ${clock.t}`);

    const silent = fakeClock();
    await assert.rejects(
      acquire(
        fakeTransport(silent, () => undefined),
        {...opts(silent), budgetMs: 10000},
      ),
      /no more tries/,
    );
    assert.ok(silent.t >= 10000 && silent.t < 13000, `gave up at ${silent.t}`);
  });

  it('restarts DORA after a NAK', async () => {
    const clock = fakeClock();
    let naks = 0;
    const t = fakeTransport(clock, (m) => {
      if (messageType(m) === MessageType.Discover) return reply(m, MessageType.Offer, '10.214.0.60');
      if (naks++ === 0) return reply(m, MessageType.Nak, '0.0.0.0');
      return reply(m, MessageType.Ack, '10.214.0.60');
    });
    await acquire(t, opts(clock), '10.214.0.99');
    assert.equal(t.sent.filter((s) => messageType(s.msg) === MessageType.Discover).length, 2);
    assert.equal(optIp(t.sent[2].msg.options, Opt.RequestedIP), undefined, 'no requested address after a NAK');
  });

  it('renews by unicast to the server and rebinds by broadcast, with ciaddr set', async () => {
    const clock = fakeClock();
    const t = fakeTransport(clock, (m) => reply(m, MessageType.Ack, m.ciaddr));
    const lease = {address: '10.214.0.50', serverId: '10.214.0.1'};
    const a = await renew(t, opts(clock), lease, 'renew');
    assert.notEqual(a, 'nak');
    await renew(t, opts(clock), lease, 'rebind');
    assert.deepEqual(
      t.sent.map((s) => [s.dst, s.msg.ciaddr, s.msg.flags, optIp(s.msg.options, Opt.ServerId)]),
      [
        ['10.214.0.1', '10.214.0.50', 0, undefined],
        ['255.255.255.255', '10.214.0.50', 0, undefined],
      ],
    );
    const nak = fakeTransport(clock, (m) => reply(m, MessageType.Nak, '0.0.0.0'));
    assert.equal(await renew(nak, opts(clock), lease, 'renew'), 'nak');
  });

  it('releases by unicast, falling back to broadcast when unicast cannot be sent', async () => {
    const clock = fakeClock();
    const lease = {address: '10.214.0.50', serverId: '10.214.0.1'};
    const uni = fakeTransport(clock, () => undefined);
    await release(uni, opts(clock), lease);
    assert.deepEqual(
      uni.sent.map((s) => [messageType(s.msg), s.dst, s.msg.ciaddr, optIp(s.msg.options, Opt.ServerId)]),
      [[MessageType.Release, '10.214.0.1', '10.214.0.50', '10.214.0.1']],
    );
    const fb = fakeTransport(clock, () => undefined, true);
    await release(fb, opts(clock), lease);
    assert.deepEqual(
      fb.sent.map((s) => s.dst),
      ['255.255.255.255'],
    );
    assert.deepEqual(fb.routes, [true]);
  });
});
