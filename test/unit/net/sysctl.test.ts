import assert from 'node:assert/strict';
import {
  enableForwarding,
  writeHostSysctlsBestEffort,
  writeSysctls,
  writeSysctlsBestEffort,
  type HostSysctl,
} from '../../../src/net/sysctl.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = ['nsenter', '--net=/run/netns/x', '--'];

describe('net/sysctl', () => {
  it("writes a namespace's sysctls with sysctl run there, strictly or ignoring what is refused", async () => {
    const r = new FakeRunner([
      {
        argv: [...NS, 'sysctl', '-q', '-w', 'net/ipv6/conf/eth0/disable_ipv6=0'],
        reply: {exitCode: 255, stderr: 'sysctl: permission denied on key "net.ipv6.conf.eth0.disable_ipv6"\n'},
      },
      {
        argv: [...NS, 'sysctl', '-q', '-e', '-w', 'net/ipv6/conf/eth0/accept_dad=0', 'net/ipv4/conf/eth0/arp_notify=1'],
        reply: {exitCode: 255, stderr: 'sysctl: permission denied\n'},
      },
    ]);
    await assert.rejects(writeSysctls(r, {'net/ipv6/conf/eth0/disable_ipv6': '0'}, '/run/netns/x'), /permission denied/);
    await writeSysctlsBestEffort(r, {'net/ipv6/conf/eth0/accept_dad': '0', 'net/ipv4/conf/eth0/arp_notify': '1'}, '/run/netns/x');
    await writeSysctlsBestEffort(r, {}, '/run/netns/x');
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
