import {strict as assert} from 'node:assert';
import {setLinkDownInNetns} from '../../src/ipam/dhcp/daemon.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';

/** The daemon's action at lease expiry, on a real namespace: the interface goes down. */
const NS = 'tdhcpexp1';

describe('dhcp lease expiry (integration)', () => {
  before(() => {
    quiet('ip', 'netns', 'del', NS);
    sh('ip', 'netns', 'add', NS);
    sh('ip', '-n', NS, 'link', 'add', 'eth7', 'type', 'veth', 'peer', 'name', 'eth8'); // no dummy module on this kernel
    sh('ip', '-n', NS, 'link', 'set', 'eth7', 'up');
  });
  after(() => quiet('ip', 'netns', 'del', NS));

  it('sets the leased interface down in its namespace, and does nothing once the namespace is gone', async () => {
    const flags = (): string[] => (JSON.parse(sh('ip', '-n', NS, '-j', 'link', 'show', 'dev', 'eth7')) as {flags: string[]}[])[0].flags;
    assert.ok(flags().includes('UP'));
    await setLinkDownInNetns(`/var/run/netns/${NS}`, 'eth7');
    assert.ok(!flags().includes('UP'), `still up: ${flags().join(',')}`);
    await setLinkDownInNetns('/var/run/netns/tdhcpexp-gone', 'eth7');
  });
});
