/**
 * DHCP/BOOTP wire format (RFC 2131/2132, 3442): encode and decode, plus typed
 * readers for the options we use. Pure: no sockets, no clock.
 */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const MAGIC_COOKIE = 0x63825363;
export const FLAG_BROADCAST = 0x8000;

export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

export const Opt = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DNS: 6,
  HostName: 12,
  DomainName: 15,
  StaticRoutes: 33,
  RequestedIP: 50,
  LeaseTime: 51,
  MessageType: 53,
  ServerId: 54,
  ParamRequestList: 55,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClass: 60,
  ClientId: 61,
  UserClass: 77,
  ClasslessRoutes: 121,
  End: 255,
} as const;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address as "aa:bb:cc:dd:ee:ff" (first hlen bytes of chaddr). */
  chaddr: string;
  /** Raw option payloads by code, in insertion order. */
  options: Map<number, Buffer>;
}

const FIXED_LEN = 236;

export function ipToBytes(ip: string): Buffer {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new Error(`invalid IPv4 address: ${JSON.stringify(ip)}`);
  }
  return Buffer.from(parts);
}

export function bytesToIp(b: Buffer, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`invalid MAC address: ${JSON.stringify(mac)}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function encode(msg: DhcpMessage): Buffer {
  const opts: Buffer[] = [];
  for (const [code, value] of msg.options) {
    if (code === Opt.Pad || code === Opt.End) continue;
    // Long values are split across repeated instances (RFC 3396).
    for (let off = 0; off === 0 || off < value.length; off += 255) {
      const chunk = value.subarray(off, off + 255);
      opts.push(Buffer.from([code, chunk.length]), chunk);
    }
  }
  opts.push(Buffer.from([Opt.End]));
  const fixed = Buffer.alloc(FIXED_LEN + 4);
  fixed[0] = msg.op;
  fixed[1] = msg.htype;
  fixed[2] = msg.hlen;
  fixed[3] = msg.hops;
  fixed.writeUInt32BE(msg.xid >>> 0, 4);
  fixed.writeUInt16BE(msg.secs, 8);
  fixed.writeUInt16BE(msg.flags, 10);
  ipToBytes(msg.ciaddr).copy(fixed, 12);
  ipToBytes(msg.yiaddr).copy(fixed, 16);
  ipToBytes(msg.siaddr).copy(fixed, 20);
  ipToBytes(msg.giaddr).copy(fixed, 24);
  macToBytes(msg.chaddr).copy(fixed, 28);
  fixed.writeUInt32BE(MAGIC_COOKIE, FIXED_LEN);
  const out = Buffer.concat([fixed, ...opts]);
  // Pad to the BOOTP minimum of 300 bytes; some servers drop shorter packets.
  return out.length >= 300 ? out : Buffer.concat([out, Buffer.alloc(300 - out.length)]);
}

export function decode(buf: Buffer): DhcpMessage {
  if (buf.length < FIXED_LEN + 4) throw new Error(`DHCP packet too short (${buf.length} bytes)`);
  if (buf.readUInt32BE(FIXED_LEN) !== MAGIC_COOKIE) throw new Error('DHCP packet has no magic cookie');
  const hlen = Math.min(buf[2], 16);
  const chaddr = [...buf.subarray(28, 28 + Math.min(hlen, 6))].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const options = new Map<number, Buffer>();
  let i = FIXED_LEN + 4;
  while (i < buf.length) {
    const code = buf[i++];
    if (code === Opt.Pad) continue;
    if (code === Opt.End) break;
    if (i >= buf.length) throw new Error(`truncated DHCP option ${code}`);
    const len = buf[i++];
    if (i + len > buf.length) throw new Error(`truncated DHCP option ${code}`);
    const value = buf.subarray(i, i + len);
    const prev = options.get(code);
    options.set(code, prev ? Buffer.concat([prev, value]) : Buffer.from(value));
    i += len;
  }
  return {
    op: buf[0],
    htype: buf[1],
    hlen: buf[2],
    hops: buf[3],
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: bytesToIp(buf, 12),
    yiaddr: bytesToIp(buf, 16),
    siaddr: bytesToIp(buf, 20),
    giaddr: bytesToIp(buf, 24),
    chaddr: chaddr.length === 17 ? chaddr : '00:00:00:00:00:00',
    options,
  };
}

// ---- typed option readers ----

export function messageType(m: {options: Map<number, Buffer>}): number | undefined {
  const v = m.options.get(Opt.MessageType);
  return v && v.length === 1 ? v[0] : undefined;
}

function ipList(v: Buffer | undefined): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(bytesToIp(v, i));
  return out;
}

export function optIp(options: Map<number, Buffer>, code: number): string | undefined {
  return ipList(options.get(code))[0];
}

export function optIps(options: Map<number, Buffer>, code: number): string[] {
  return ipList(options.get(code));
}

export function optUint32(options: Map<number, Buffer>, code: number): number | undefined {
  const v = options.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

export function optString(options: Map<number, Buffer>, code: number): string | undefined {
  const v = options.get(code);
  if (!v) return undefined;
  // Some servers NUL-terminate strings.
  return v.toString('utf8').replace(/\0+$/, '');
}

/** Prefix length of a contiguous netmask; throws on a non-contiguous one. */
export function maskToPrefix(mask: string): number {
  const n = ipToBytes(mask).readUInt32BE(0);
  let len = 0;
  while (len < 32 && (n & (0x80000000 >>> len)) !== 0) len++;
  if ((len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0) >>> 0 !== n >>> 0) throw new Error(`non-contiguous netmask ${mask}`);
  return len;
}

export interface StaticRoute {
  dst: string;
  gw: string;
}

/** Option 121 (RFC 3442): width byte, significant destination octets, router. */
export function parseClasslessRoutes(v: Buffer): StaticRoute[] {
  const out: StaticRoute[] = [];
  let i = 0;
  while (i < v.length) {
    const width = v[i++];
    if (width > 32) throw new Error(`invalid classless route width ${width}`);
    const n = Math.ceil(width / 8);
    if (i + n + 4 > v.length) throw new Error('truncated classless static route option');
    const dst = Buffer.alloc(4);
    v.copy(dst, 0, i, i + n);
    i += n;
    out.push({dst: `${bytesToIp(dst)}/${width}`, gw: bytesToIp(v, i)});
    i += 4;
  }
  return out;
}

export function encodeClasslessRoutes(routes: StaticRoute[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of routes) {
    const [net, w] = r.dst.split('/');
    const width = Number(w);
    parts.push(Buffer.from([width]), ipToBytes(net).subarray(0, Math.ceil(width / 8)), ipToBytes(r.gw));
  }
  return Buffer.concat(parts);
}

/**
 * Option 33: pairs of (destination host/net, router). The reference keeps the
 * destination IP as given and applies the classful mask (A /8, B /16, C /24).
 */
export function parseStaticRoutes(v: Buffer): StaticRoute[] {
  const out: StaticRoute[] = [];
  for (let i = 0; i + 8 <= v.length; i += 8) {
    const dst = bytesToIp(v, i);
    const first = v[i];
    const prefix = first < 128 ? 8 : first < 192 ? 16 : 24;
    out.push({dst: `${dst}/${prefix}`, gw: bytesToIp(v, i + 4)});
  }
  return out;
}

/** Option 61 as the reference builds it: type byte 0 + id string truncated to 254 bytes. */
export function clientIdOption(id: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(id, 'utf8').subarray(0, 254)]);
}
