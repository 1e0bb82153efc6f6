import {strict as assert} from 'node:assert';
import {
  BOOTREQUEST,
  FLAG_BROADCAST,
  MessageType,
  Opt,
  clientIdOption,
  decode,
  encode,
  encodeClasslessRoutes,
  maskToPrefix,
  messageType,
  optIp,
  optIps,
  optString,
  optUint32,
  parseClasslessRoutes,
  parseStaticRoutes,
  type DhcpMessage,
} from '../../../../src/ipam/dhcp/packet.js';

function sample(): DhcpMessage {
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0xdeadbeef,
    secs: 3,
    flags: FLAG_BROADCAST,
    ciaddr: '10.214.0.7',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: '3a:48:35:63:9b:34',
    options: new Map([
      [Opt.MessageType, Buffer.from([MessageType.Discover])],
      [Opt.ClientId, clientIdOption('cid/net/eth0')],
      [Opt.ParamRequestList, Buffer.from([1, 3, 6, 15, 121])],
    ]),
  };
}

describe('dhcp packet', () => {
  it('round-trips the fixed header and options', () => {
    const buf = encode(sample());
    assert.ok(buf.length >= 300, 'padded to the BOOTP minimum');
    assert.equal(buf.readUInt32BE(236), 0x63825363);
    const back = decode(buf);
    const s = sample();
    for (const k of ['op', 'htype', 'hlen', 'xid', 'secs', 'flags', 'ciaddr', 'yiaddr', 'chaddr'] as const) assert.equal(back[k], s[k], k);
    assert.deepEqual([...back.options.keys()], [...s.options.keys()]);
    assert.equal(messageType(back), MessageType.Discover);
    assert.deepEqual(back.options.get(Opt.ClientId), Buffer.concat([Buffer.from([0]), Buffer.from('cid/net/eth0')]));
  });

  it('client id is type byte 0 plus the id truncated to 254 bytes', () => {
    const v = clientIdOption('x'.repeat(400));
    assert.equal(v.length, 255);
    assert.equal(v[0], 0);
  });

  it('splits long options on encode and concatenates them on decode (RFC 3396)', () => {
    const m = sample();
    const long = Buffer.alloc(300, 7);
    m.options.set(Opt.ClasslessRoutes, long);
    assert.deepEqual(decode(encode(m)).options.get(Opt.ClasslessRoutes), long);
  });

  it('skips pad bytes and rejects truncated options and missing cookies', () => {
    const buf = encode(sample());
    const withPad = Buffer.concat([buf.subarray(0, 240), Buffer.from([0, 0]), buf.subarray(240)]);
    assert.equal(messageType(decode(withPad)), MessageType.Discover);
    assert.throws(() => decode(Buffer.concat([buf.subarray(0, 240), Buffer.from([51, 4, 0])])), /truncated/);
    const noCookie = Buffer.from(buf);
    noCookie.writeUInt32BE(0, 236);
    assert.throws(() => decode(noCookie), /magic cookie/);
    assert.throws(() => decode(Buffer.alloc(100)), /too short/);
  });

  it('reads typed options', () => {
    const o = new Map<number, Buffer>([
      [Opt.SubnetMask, Buffer.from([255, 255, 255, 0])],
      [Opt.DNS, Buffer.from([10, 214, 0, 1, 10, 214, 0, 2])],
      [Opt.DomainName, Buffer.from('tdh.test\0')],
      [Opt.LeaseTime, Buffer.from([0, 0, 0, 120])],
    ]);
    assert.equal(optIp(o, Opt.SubnetMask), '255.255.255.0');
    assert.deepEqual(optIps(o, Opt.DNS), ['10.214.0.1', '10.214.0.2']);
    assert.equal(optString(o, Opt.DomainName), 'tdh.test');
    assert.equal(optUint32(o, Opt.LeaseTime), 120);
    assert.equal(optUint32(o, Opt.RenewalTime), undefined);
  });

  it('converts masks to prefixes and rejects non-contiguous ones', () => {
    assert.equal(maskToPrefix('255.255.255.0'), 24);
    assert.equal(maskToPrefix('255.255.240.0'), 20);
    assert.equal(maskToPrefix('0.0.0.0'), 0);
    assert.equal(maskToPrefix('255.255.255.255'), 32);
    assert.throws(() => maskToPrefix('255.0.255.0'), /non-contiguous/);
  });

  it('parses and encodes option 121 classless routes (RFC 3442)', () => {
    const routes = [
      {dst: '10.0.0.0/8', gw: '192.168.77.1'},
      {dst: '172.16.0.0/12', gw: '192.168.77.2'},
      {dst: '0.0.0.0/0', gw: '192.168.77.1'},
      {dst: '10.214.0.128/25', gw: '0.0.0.0'},
    ];
    const enc = encodeClasslessRoutes(routes);
    assert.deepEqual([...enc.subarray(0, 6)], [8, 10, 192, 168, 77, 1]);
    assert.deepEqual(parseClasslessRoutes(enc), routes);
    assert.throws(() => parseClasslessRoutes(Buffer.from([24, 10, 0])), /truncated/);
    assert.throws(() => parseClasslessRoutes(Buffer.from([33, 1, 1, 1, 1, 1, 1, 1, 1])), /width/);
  });

  it('parses option 33 with classful masks as the reference (10.0.0.0 → /8, 192.168.1.0 → /24)', () => {
    const v = Buffer.from([10, 0, 0, 0, 10, 1, 1, 1, 172, 16, 0, 0, 10, 1, 1, 2, 192, 168, 1, 0, 10, 1, 1, 3]);
    assert.deepEqual(parseStaticRoutes(v), [
      {dst: '10.0.0.0/8', gw: '10.1.1.1'},
      {dst: '172.16.0.0/16', gw: '10.1.1.2'},
      {dst: '192.168.1.0/24', gw: '10.1.1.3'},
    ]);
  });
});
