/**
 * The DHCP client state machine (RFC 2131): DORA with the broadcast flag,
 * unicast renew, broadcast rebind, release. It talks through a Transport (a
 * UDP port-68 socket inside the container's namespace) and an injected clock,
 * so the logic is testable without sockets.
 */
import {randomInt} from 'node:crypto';
import {
  BOOTREPLY,
  BOOTREQUEST,
  FLAG_BROADCAST,
  MessageType,
  Opt,
  clientIdOption,
  decode,
  encode,
  ipToBytes,
  messageType,
  optIp,
  type DhcpMessage,
} from './packet.js';

export interface Transport {
  /** MAC of the interface the socket serves. */
  readonly mac: string;
  /** Send to dst:67. */
  send(data: Buffer, dst: string): Promise<void>;
  /** Next received datagram, or undefined after timeoutMs. */
  recv(timeoutMs: number): Promise<Buffer | undefined>;
  /** Route 255.255.255.255/32 via the interface (needed to broadcast without an address). */
  broadcastRoute(on: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface ClientOptions {
  /** Client identifier string (sent as option 61 with type byte 0). */
  clientId: string;
  paramList: number[];
  provide?: Map<number, Buffer>;
  /** Total budget for one exchange, retries included (ms). */
  budgetMs: number;
  /** Cap on a single retry interval (ms). */
  resendMaxMs?: number;
  clock?: Clock;
  /** Random in [0,1) for jitter and xids; injectable for tests. */
  random?: () => number;
}

export class DhcpError extends Error {}

export interface Ack {
  msg: DhcpMessage;
  /** Clock time the successful request was first sent. */
  sentAt: number;
}

/**
 * Retry schedule (ms) as the reference: four tries of 2 s ± 1 s, then 4 s
 * doubling up to resendMax, each ± 1 s.
 */
export function retryDelays(count: number, resendMaxMs: number, random: () => number): number[] {
  const out: number[] = [];
  let base = 4000;
  for (let i = 0; i < count; i++) {
    const jitter = Math.round((random() * 2 - 1) * 1000);
    if (i < 4) out.push(2000 + jitter);
    else {
      out.push(Math.min(base, resendMaxMs) + jitter);
      base *= 2;
    }
  }
  return out;
}

function baseMessage(t: Transport, xid: number, flags: number, ciaddr = '0.0.0.0'): DhcpMessage {
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags,
    ciaddr,
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: t.mac,
    options: new Map(),
  };
}

function commonOptions(m: DhcpMessage, type: number, o: ClientOptions, withParams: boolean): void {
  m.options.set(Opt.MessageType, Buffer.from([type]));
  m.options.set(Opt.ClientId, clientIdOption(o.clientId));
  if (withParams && o.paramList.length > 0) m.options.set(Opt.ParamRequestList, Buffer.from(o.paramList));
  for (const [code, v] of o.provide ?? []) m.options.set(code, v);
}

type Verdict = 'accept' | 'nak' | 'ignore';

/**
 * Send `build()` to dst and wait for a reply that `judge` accepts, resending
 * with backoff until the budget runs out. A NAK ends the exchange.
 */
async function exchange(
  t: Transport,
  o: ClientOptions,
  dst: string,
  build: () => DhcpMessage,
  judge: (m: DhcpMessage) => Verdict,
): Promise<{msg: DhcpMessage; sentAt: number} | 'nak'> {
  const clock = o.clock ?? realClock;
  const random = o.random ?? Math.random;
  const start = clock.now();
  const deadline = start + o.budgetMs;
  const delays = retryDelays(32, o.resendMaxMs ?? 62000, random);
  let lastErr: unknown;
  for (const delay of delays) {
    const now = clock.now();
    if (now >= deadline) break;
    const msg = build();
    msg.secs = Math.min(0xffff, Math.floor((now - start) / 1000));
    try {
      await t.send(encode(msg), dst);
    } catch (err) {
      lastErr = err;
      await clock.sleep(Math.min(delay, Math.max(0, deadline - clock.now())));
      continue;
    }
    const waitUntil = Math.min(deadline, clock.now() + delay);
    for (;;) {
      const left = waitUntil - clock.now();
      if (left <= 0) break;
      const buf = await t.recv(left);
      if (!buf) break;
      let reply: DhcpMessage;
      try {
        reply = decode(buf);
      } catch {
        continue;
      }
      if (reply.op !== BOOTREPLY || reply.xid !== msg.xid) continue;
      const v = judge(reply);
      if (v === 'nak') return 'nak';
      if (v === 'accept') return {msg: reply, sentAt: now};
    }
  }
  const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
  throw new DhcpError(`no more tries${why}`);
}

function newXid(o: ClientOptions): number {
  return o.random ? Math.floor(o.random() * 0x100000000) >>> 0 : randomInt(0, 0xffffffff);
}

/** DISCOVER → OFFER → REQUEST → ACK, restarting on NAK (at most three times). */
export async function acquire(t: Transport, o: ClientOptions, requestedIp?: string): Promise<Ack> {
  await t.broadcastRoute(true);
  for (let attempt = 0; attempt < 3; attempt++) {
    const xid = newXid(o);
    const offer = await exchange(
      t,
      o,
      '255.255.255.255',
      () => {
        const m = baseMessage(t, xid, FLAG_BROADCAST);
        commonOptions(m, MessageType.Discover, o, true);
        if (requestedIp) m.options.set(Opt.RequestedIP, ipToBytes(requestedIp));
        return m;
      },
      (r) => (messageType(r) === MessageType.Offer && optIp(r.options, Opt.ServerId) ? 'accept' : 'ignore'),
    );
    if (offer === 'nak') continue;
    const serverId = optIp(offer.msg.options, Opt.ServerId)!;
    const yiaddr = offer.msg.yiaddr;
    const ack = await exchange(
      t,
      o,
      '255.255.255.255',
      () => {
        const m = baseMessage(t, xid, FLAG_BROADCAST);
        commonOptions(m, MessageType.Request, o, true);
        m.options.set(Opt.RequestedIP, ipToBytes(yiaddr));
        m.options.set(Opt.ServerId, ipToBytes(serverId));
        return m;
      },
      (r) => {
        const mt = messageType(r);
        if (mt === MessageType.Nak && optIp(r.options, Opt.ServerId) === serverId) return 'nak';
        return mt === MessageType.Ack ? 'accept' : 'ignore';
      },
    );
    if (ack === 'nak') {
      requestedIp = undefined;
      continue;
    }
    return ack;
  }
  throw new DhcpError('server refused the lease (DHCPNAK)');
}

export interface HeldLease {
  address: string;
  serverId: string;
}

/**
 * RENEWING (unicast to the server) or REBINDING (broadcast): a REQUEST with
 * ciaddr set. Returns the new ACK, or 'nak' when the server refuses.
 */
export async function renew(t: Transport, o: ClientOptions, lease: HeldLease, mode: 'renew' | 'rebind'): Promise<Ack | 'nak'> {
  const xid = newXid(o);
  const dst = mode === 'renew' ? lease.serverId : '255.255.255.255';
  if (mode === 'rebind') await t.broadcastRoute(true);
  return exchange(
    t,
    o,
    dst,
    () => {
      const m = baseMessage(t, xid, 0, lease.address);
      commonOptions(m, MessageType.Request, o, true);
      return m;
    },
    (r) => {
      const mt = messageType(r);
      if (mt === MessageType.Nak) return 'nak';
      return mt === MessageType.Ack && r.yiaddr === lease.address ? 'accept' : 'ignore';
    },
  );
}

/** DHCPRELEASE: unicast to the server; falls back to broadcast when unicast cannot be sent. */
export async function release(t: Transport, o: ClientOptions, lease: HeldLease): Promise<void> {
  const m = baseMessage(t, newXid(o), 0, lease.address);
  m.options.set(Opt.MessageType, Buffer.from([MessageType.Release]));
  m.options.set(Opt.ServerId, ipToBytes(lease.serverId));
  m.options.set(Opt.ClientId, clientIdOption(o.clientId));
  const buf = encode(m);
  try {
    await t.send(buf, lease.serverId);
  } catch {
    await t.broadcastRoute(true);
    await t.send(buf, '255.255.255.255');
  }
}
