import assert from 'node:assert/strict';
import {createMacvlan, macvlanAddLine, macvlanModeOf} from '../../../src/net/link-macvlan.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = '/proc/self/ns/net';
const IN_NS = ['nsenter', `--net=${NS}`, '--'];

describe('net/link-macvlan', () => {
  it('builds the create command with the netns as an absolute path before `type`', () => {
    const argv = macvlanAddLine('vethTEMP', {
      master: 'm0',
      mode: 'private',
      mtu: 1400,
      mac: '02:00:00:00:00:09',
      netns: 'rel/ns',
      ifname: 'eth0',
      linkInContainer: false,
    });
    assert.deepEqual(argv.slice(0, 11), [
      'link',
      'add',
      'vethTEMP',
      'address',
      '02:00:00:00:00:09',
      'mtu',
      '1400',
      'txqueuelen',
      '0',
      'link',
      'm0',
    ]);
    assert.equal(argv[11], 'netns');
    assert.ok(argv[12].startsWith('/') && argv[12].endsWith('/rel/ns'));
    assert.deepEqual(argv.slice(13), ['type', 'macvlan', 'mode', 'private']);
  });

  it('creates in the container namespace when the master lives there, renames, and reads the MAC back', async () => {
    const fake = new FakeRunner([
      {argv: [...IN_NS, 'ip', 'link', 'add', 'vethTEMP', 'txqueuelen', '0', 'link', 'm0', 'type', 'macvlan', 'mode', 'vepa']},
      {argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'vethTEMP', 'name', 'eth0']},
      {
        argv: [...IN_NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'eth0'],
        reply: {
          stdout:
            '[{"ifindex":3,"ifname":"eth0","flags":[],"mtu":1500,"address":"02:aa:bb:cc:dd:ee","linkinfo":{"info_kind":"macvlan","info_data":{"mode":"vepa"}}}]',
        },
      },
    ]);
    const o = {master: 'm0', mode: 'vepa' as const, mtu: 0, netns: NS, ifname: 'eth0', linkInContainer: true, tempName: 'vethTEMP'};
    assert.deepEqual(await createMacvlan(fake, o), {name: 'eth0', mac: '02:aa:bb:cc:dd:ee'});
    fake.assertDone();
  });

  it('deletes the temporary link when the rename fails', async () => {
    const fake = new FakeRunner([
      {argv: ['ip', 'link', 'add', 'vethTEMP', 'txqueuelen', '0', 'link', 'm0', 'netns', NS, 'type', 'macvlan', 'mode', 'bridge']},
      {
        argv: [...IN_NS, 'ip', 'link', 'set', 'dev', 'vethTEMP', 'name', 'eth0'],
        reply: {exitCode: 2, stderr: 'RTNETLINK answers: File exists\n'},
      },
      {argv: [...IN_NS, 'ip', 'link', 'del', 'dev', 'vethTEMP']},
    ]);
    const o = {master: 'm0', mode: 'bridge' as const, mtu: 0, netns: NS, ifname: 'eth0', linkInContainer: false, tempName: 'vethTEMP'};
    await assert.rejects(createMacvlan(fake, o), {code: 999, message: 'failed to rename macvlan to "eth0": file exists'});
    fake.assertDone();
  });

  it('reads the mode of a macvlan, and none of anything else', () => {
    assert.equal(
      macvlanModeOf({ifindex: 3, ifname: 'eth0', flags: [], mtu: 1500, linkinfo: {info_kind: 'macvlan', info_data: {mode: 'private'}}}),
      'private',
    );
    assert.equal(macvlanModeOf({ifindex: 3, ifname: 'eth0', flags: [], mtu: 1500, linkinfo: {info_kind: 'veth'}}), undefined);
  });
});
