import assert from 'node:assert/strict';
import {delLink, getLink, randomLinkName, readAddrsAndDelLink, setLinkUp} from '../../../src/net/link.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = ['nsenter', '--net=/run/netns/x', '--'];

describe('net/link', () => {
  it('getLink is one `ip -j -d link show dev`: a missing link or namespace is undefined, anything else throws', async () => {
    const show = ['ip', '-j', '-d', 'link', 'show', 'dev', 'eth0'];
    const r = new FakeRunner([
      {argv: [...NS, ...show], reply: {stdout: '[{"ifindex":2,"ifname":"eth0","mtu":1500,"linkinfo":{"info_kind":"veth"}}]\n'}},
      {argv: show, reply: {exitCode: 1, stderr: 'Device "eth0" does not exist.\n'}},
      {argv: [...NS, ...show], reply: {exitCode: 1, stderr: 'nsenter: cannot open /run/netns/x: No such file or directory\n'}},
      {argv: show, reply: {exitCode: 1, stderr: 'Cannot open netlink socket: Permission denied\n'}},
    ]);
    const l = await getLink(r, 'eth0', '/run/netns/x');
    assert.deepEqual([l?.ifname, l?.flags, l?.linkinfo?.info_kind], ['eth0', [], 'veth']);
    assert.equal(await getLink(r, 'eth0'), undefined);
    assert.equal(await getLink(r, 'eth0', '/run/netns/x'), undefined);
    await assert.rejects(getLink(r, 'eth0'), /Permission denied/);
    r.assertDone();
  });

  it('delLink treats a missing link as deleted; setLinkUp leaves the wording to the caller', async () => {
    const r = new FakeRunner([
      {argv: [...NS, 'ip', 'link', 'del', 'dev', 'eth0'], reply: {exitCode: 1, stderr: 'Cannot find device "eth0"\n'}},
      {argv: [...NS, 'ip', 'link', 'set', 'dev', 'eth0', 'up'], reply: {exitCode: 2, stderr: 'RTNETLINK answers: Network is down\n'}},
    ]);
    await delLink(r, 'eth0', '/run/netns/x');
    await assert.rejects(setLinkUp(r, 'eth0', '/run/netns/x'), {name: 'CommandError'});
    r.assertDone();
  });

  it('readAddrsAndDelLink reads and deletes in one process, a missing link being fine', async () => {
    const addrs = '[{"ifindex":1,"ifname":"lo","flags":[],"addr_info":[]}]';
    const argv = [...NS, 'ip', '-j', '-d', '-batch', '-'];
    const r = new FakeRunner([
      {
        argv,
        input: 'addr show\nlink del dev eth0\n',
        reply: {stdout: `${addrs}\n`, exitCode: 1, stderr: 'Cannot find device "eth0"\nCommand failed -:2\n'},
      },
      {argv, reply: {exitCode: 1, stderr: 'nsenter: cannot open /run/netns/x: No such file or directory\n'}},
    ]);
    assert.deepEqual(
      (await readAddrsAndDelLink(r, '/run/netns/x', 'eth0'))?.map((l) => l.ifname),
      ['lo'],
    );
    assert.equal(await readAddrsAndDelLink(r, '/run/netns/x', 'eth0'), undefined);
    r.assertDone();
  });

  it('names a temporary link as the reference does (veth and 8 hex digits)', () => {
    assert.match(randomLinkName(), /^veth[0-9a-f]{8}$/);
  });
});
