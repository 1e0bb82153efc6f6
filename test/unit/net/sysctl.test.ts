import assert from 'node:assert/strict';
import {enableForwarding, writeHostSysctlsBestEffort, writeSysctls, type HostSysctl} from '../../../src/net/sysctl.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = ['nsenter', '--net=/run/netns/x', '--'];

describe('net/sysctl', () => {
  it('writes a namespace\'s sysctls with sysctl run there, failing when one is refused', async () => {
    const r = new FakeRunner([
      {argv: [...NS, 'sysctl', '-q', '-w', 'net/ipv6/conf/eth0/disable_ipv6=0'], reply: {exitCode: 255, stderr: 'sysctl: permission denied on key "net.ipv6.conf.eth0.disable_ipv6"\n'}},
    ]);
    await assert.rejects(writeSysctls(r, {'net/ipv6/conf/eth0/disable_ipv6': '0'}, '/run/netns/x'), /permission denied/);
    r.assertDone();
  });

  it('enableForwarding writes only what is not 1 yet', () => {
    const writes: string[] = [];
    const sys: HostSysctl = {read: (k) => (k === 'net/ipv4/ip_forward' ? '1' : '0'), write: (k, v) => writes.push(`${k}=${v}`)};
    enableForwarding([4, 6], sys);
    assert.deepEqual(writes, ['net/ipv6/conf/all/forwarding=1']);
  });

  it('host sysctls written best-effort go on past a refused key', () => {
    const writes: string[] = [];
    const sys: HostSysctl = {
      read: () => undefined,
      write: (k, v) => {
        if (k.includes('gone')) throw new Error('ENOENT');
        writes.push(`${k}=${v}`);
      },
    };
    writeHostSysctlsBestEffort({'net/ipv6/conf/gone/accept_ra': '0', 'net/ipv6/conf/br0/accept_ra': '0'}, sys);
    assert.deepEqual(writes, ['net/ipv6/conf/br0/accept_ra=0']);
  });
});
