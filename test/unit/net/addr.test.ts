import assert from 'node:assert/strict';
import {addrAddLine, ensureAddr, readLinksAddrs, revertAddr} from '../../../src/net/addr.js';
import {parseCidrAsWritten} from '../../../src/util/ip.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

describe('net/addr', () => {
  it('adds an IPv4 address with its broadcast below /31, as netlink.AddrAdd', () => {
    assert.deepEqual(addrAddLine('10.1.2.3/24', 'eth0'), ['addr', 'add', '10.1.2.3/24', 'broadcast', '+', 'dev', 'eth0']);
    assert.deepEqual(addrAddLine('10.1.2.3/31', 'eth0'), ['addr', 'add', '10.1.2.3/31', 'dev', 'eth0']);
    assert.deepEqual(addrAddLine('fd00::3/64', 'eth0'), ['addr', 'add', 'fd00::3/64', 'dev', 'eth0']);
    assert.throws(() => addrAddLine('10.1.2.3', 'eth0'), {message: 'invalid IP address 10.1.2.3'});
  });

  it('ensureAddr refuses another IPv4 address, and with force replaces it and pins the MAC', async () => {
    const show = {
      argv: ['ip', '-j', 'addr', 'show', 'dev', 'tbrbr9'],
      reply: {
        stdout:
          '[{"ifindex":5,"ifname":"tbrbr9","flags":[],"address":"aa:bb:cc:dd:ee:ff","addr_info":[{"family":"inet","local":"10.212.0.1","prefixlen":16,"scope":"global"}]}]',
      },
    };
    const gw = parseCidrAsWritten('10.212.0.1/24')!;
    const r1 = new FakeRunner([show]);
    await assert.rejects(ensureAddr(r1, 'tbrbr9', gw, false), {message: '"tbrbr9" already has an IP address different from 10.212.0.1/24'});
    r1.assertDone();
    const r2 = new FakeRunner([
      show,
      {
        argv: ['ip', '-batch', '-'],
        input:
          'addr del 10.212.0.1/16 dev tbrbr9\naddr add 10.212.0.1/24 broadcast + dev tbrbr9\nlink set dev tbrbr9 address 02:11:22:33:44:55\n',
      },
    ]);
    assert.deepEqual(await ensureAddr(r2, 'tbrbr9', gw, true, '02:11:22:33:44:55'), {
      added: '10.212.0.1/24',
      removed: ['10.212.0.1/16'],
      mac: '02:11:22:33:44:55',
    });
    r2.assertDone();
  });

  it('ensureAddr uses addresses already read and reports the MAC when the gateway is there', async () => {
    const r = new FakeRunner([]);
    const known = {
      ifindex: 5,
      ifname: 'tbrbr9',
      flags: [],
      address: 'aa:bb:cc:dd:ee:ff',
      addr_info: [{family: 'inet' as const, local: '10.212.0.1', prefixlen: 24, scope: 'global'}],
    };
    assert.deepEqual(await ensureAddr(r, 'tbrbr9', parseCidrAsWritten('10.212.0.1/24')!, false, undefined, known), {
      removed: [],
      mac: 'aa:bb:cc:dd:ee:ff',
    });
    r.assertDone();
  });

  it('revertAddr takes back what ensureAddr added and puts back what it replaced, in one batch', async () => {
    const r = new FakeRunner([
      {argv: ['ip', '-batch', '-'], input: 'addr del 10.212.0.1/24 dev tbrbr9\naddr add 10.212.0.1/16 broadcast + dev tbrbr9\n'},
    ]);
    await revertAddr(r, 'tbrbr9', {added: '10.212.0.1/24', removed: ['10.212.0.1/16']});
    r.assertDone();
  });

  it('readLinksAddrs reads several links in one process; a missing one reads as undefined', async () => {
    const r = new FakeRunner([
      {
        argv: ['ip', '-j', '-d', '-batch', '-'],
        input: 'addr show dev veth00000001\naddr show dev tbrbr9\n',
        reply: {
          stdout: '[{"ifindex":9,"ifname":"veth00000001","flags":["UP"],"operstate":"UP","addr_info":[]}]\n',
          exitCode: 1,
          stderr: 'Device "tbrbr9" does not exist.\nCommand failed -:2\n',
        },
      },
    ]);
    const [port, bridge] = await readLinksAddrs(r, ['veth00000001', 'tbrbr9']);
    assert.deepEqual([port?.ifname, bridge], ['veth00000001', undefined]);
    r.assertDone();
  });
});
