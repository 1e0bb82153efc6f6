import assert from 'node:assert/strict';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {setupSpoofCheck, spoofNames, spoofSetupScript, teardownSpoofCheck} from '../../../src/net/nft-spoofchk.js';

const spec = {hostIface: 'veth1a2b3c4d', mac: '0A:58:0A:DE:00:02', containerId: 'tspc1', ifname: 'eth0'};

const SETUP =
  [
    'add table bridge nat',
    'add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }',
    'add chain bridge nat cni-br-iface-tspc1-eth0',
    'add chain bridge nat cni-br-iface-tspc1-eth0-mac',
    'flush chain bridge nat cni-br-iface-tspc1-eth0',
    'flush chain bridge nat cni-br-iface-tspc1-eth0-mac',
    'add rule bridge nat PREROUTING iifname "veth1a2b3c4d" jump cni-br-iface-tspc1-eth0 comment "macspoofchk-tspc1-eth0"',
    'add rule bridge nat cni-br-iface-tspc1-eth0 jump cni-br-iface-tspc1-eth0-mac comment "macspoofchk-tspc1-eth0"',
    'add rule bridge nat cni-br-iface-tspc1-eth0-mac ether saddr 0a:58:0a:de:00:02 return comment "macspoofchk-tspc1-eth0"',
    'add rule bridge nat cni-br-iface-tspc1-eth0-mac drop comment "macspoofchk-tspc1-eth0"',
  ].join('\n') + '\n';

/** `nft -j list table bridge nat` with our attachment, another one (tspc2) and a foreign rule. */
const LISTING = JSON.stringify({
  nftables: [
    {metainfo: {version: '1.0.6'}},
    {table: {family: 'bridge', name: 'nat', handle: 4}},
    {
      chain: {
        family: 'bridge',
        table: 'nat',
        name: 'PREROUTING',
        handle: 1,
        type: 'filter',
        hook: 'prerouting',
        prio: -300,
        policy: 'accept',
      },
    },
    {chain: {family: 'bridge', table: 'nat', name: 'cni-br-iface-tspc1-eth0', handle: 2}},
    {chain: {family: 'bridge', table: 'nat', name: 'cni-br-iface-tspc1-eth0-mac', handle: 3}},
    {chain: {family: 'bridge', table: 'nat', name: 'cni-br-iface-tspc2-eth0', handle: 8}},
    {rule: {family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 4, comment: 'macspoofchk-tspc1-eth0', expr: []}},
    {rule: {family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 9, comment: 'macspoofchk-tspc2-eth0', expr: []}},
    {rule: {family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 10, expr: []}},
    {rule: {family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 11, comment: 'macspoofchk-tspc1-eth0', expr: []}},
    {rule: {family: 'bridge', table: 'nat', chain: 'cni-br-iface-tspc1-eth0', handle: 5, comment: 'macspoofchk-tspc1-eth0', expr: []}},
  ],
});

describe('net/nft-spoofchk', () => {
  it('names chains and the comment from <containerID>-<ifname>', () => {
    assert.deepEqual(spoofNames('dummy-0', 'eth0'), {
      ifaceChain: 'cni-br-iface-dummy-0-eth0',
      macChain: 'cni-br-iface-dummy-0-eth0-mac',
      comment: 'macspoofchk-dummy-0-eth0',
    });
  });

  it('refuses names that cannot be written into an nft script', () => {
    assert.throws(() => spoofNames('c1', 'eth"0'), /interface name "eth\\"0" cannot be used in an nftables name/);
    assert.throws(() => spoofNames('c1;flush ruleset', 'eth0'), /container ID/);
    assert.throws(() => spoofSetupScript({...spec, hostIface: 'veth x'}), /host interface/);
    assert.throws(() => spoofSetupScript({...spec, mac: '0a:58:0a:de:00'}), /invalid MAC address/);
  });

  it('ADD: one nft -f - transaction declaring, flushing and filling the chains', async () => {
    const r = new FakeRunner([{argv: ['nft', '-f', '-'], input: SETUP}]);
    await setupSpoofCheck(r, spec);
    r.assertDone();
  });

  it('ADD: an nft failure is reported as a spoof-check failure', async () => {
    const r = new FakeRunner([
      {argv: ['nft', '-f', '-'], reply: {exitCode: 1, stderr: 'Error: Could not process rule: Operation not supported'}},
    ]);
    await assert.rejects(setupSpoofCheck(r, spec), /^Error: failed to setup spoof-check: .*Operation not supported/);
    r.assertDone();
  });

  it("DEL: deletes only this attachment's PREROUTING rules and chains, in one transaction", async () => {
    const r = new FakeRunner([
      {argv: ['nft', '-j', 'list', 'table', 'bridge', 'nat'], reply: {stdout: LISTING}},
      {
        argv: ['nft', '-f', '-'],
        input:
          [
            'delete rule bridge nat PREROUTING handle 4',
            'delete rule bridge nat PREROUTING handle 11',
            'delete chain bridge nat cni-br-iface-tspc1-eth0',
            'delete chain bridge nat cni-br-iface-tspc1-eth0-mac',
          ].join('\n') + '\n',
      },
    ]);
    await teardownSpoofCheck(r, 'tspc1', 'eth0');
    r.assertDone();
  });

  it('DEL: deletes only the chains that still exist', async () => {
    const r = new FakeRunner([
      {argv: ['nft', '-j', 'list', 'table', 'bridge', 'nat'], reply: {stdout: LISTING}},
      {argv: ['nft', '-f', '-'], input: 'delete rule bridge nat PREROUTING handle 9\ndelete chain bridge nat cni-br-iface-tspc2-eth0\n'},
    ]);
    await teardownSpoofCheck(r, 'tspc2', 'eth0');
    r.assertDone();
  });

  it('DEL: nothing of ours (or no table at all) writes nothing', async () => {
    const none = new FakeRunner([{argv: ['nft', '-j', 'list', 'table', 'bridge', 'nat'], reply: {stdout: LISTING}}]);
    await teardownSpoofCheck(none, 'tspc3', 'eth0');
    none.assertDone();
    const noTable = new FakeRunner([
      {
        argv: ['nft', '-j', 'list', 'table', 'bridge', 'nat'],
        reply: {exitCode: 1, stderr: 'Error: No such file or directory\nlist table bridge nat\n'},
      },
    ]);
    await teardownSpoofCheck(noTable, 'tspc1', 'eth0');
    noTable.assertDone();
  });

  it('DEL: a read failure other than not-found is an error', async () => {
    const r = new FakeRunner([
      {argv: ['nft', '-j', 'list', 'table', 'bridge', 'nat'], reply: {exitCode: 1, stderr: 'Error: Operation not permitted'}},
    ]);
    await assert.rejects(teardownSpoofCheck(r, 'tspc1', 'eth0'), /Operation not permitted/);
  });
});
