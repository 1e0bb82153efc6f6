import assert from 'node:assert/strict';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {
  commentForInstance,
  hashForInstance,
  hashForNetwork,
  nftMasqSetupScript,
  resolveMasqBackend,
  setupNftMasq,
  teardownBackend,
  teardownNftMasq,
} from '../../../src/net/nft-masq.js';

const LIST = ['nft', '-j', 'list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks'];
const HEADER = [
  'add table inet cni_plugins_masquerade { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }',
  'add chain inet cni_plugins_masquerade masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }',
  'add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority srcnat ; }',
  'flush chain inet cni_plugins_masquerade postrouting',
  'add rule inet cni_plugins_masquerade postrouting ip daddr == 224.0.0.0/4 return',
  'add rule inet cni_plugins_masquerade postrouting ip6 daddr == ff00::/8 return',
  'add rule inet cni_plugins_masquerade postrouting goto masq_checks',
];
const ONE = {network: 'unit-test', ifname: 'eth0', containerId: 'one'};
const C_ONE = '6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one';
const C_TWO = '6fd94d501e58f0aa-d750b2c8f0f25d5f, net: unit-test, if: eth0, id: two';

const rule = (handle: number, comment?: string): unknown => ({
  rule: {family: 'inet', table: 'cni_plugins_masquerade', chain: 'masq_checks', handle, comment, expr: []},
});
const listing = (...rules: unknown[]): string =>
  JSON.stringify({
    nftables: [{metainfo: {}}, {chain: {family: 'inet', table: 'cni_plugins_masquerade', name: 'masq_checks', handle: 1}}, ...rules],
  });
const NO_CHAIN = {exitCode: 1, stderr: 'Error: No such file or directory\nlist chain inet cni_plugins_masquerade masq_checks\n'};

describe('net/nft-masq', () => {
  it('hashes and comments match the reference test vectors', () => {
    assert.equal(hashForNetwork('unit-test'), '6fd94d501e58f0aa');
    assert.equal(hashForInstance('unit-test', 'eth0', 'one'), '6fd94d501e58f0aa-287fc69eff0574a2');
    assert.equal(commentForInstance('unit-test', 'eth0', 'one'), C_ONE);
    assert.equal(commentForInstance('unit-test', 'eth0', 'two'), C_TWO);
    assert.equal(
      commentForInstance('alternate', 'net1', 'three'),
      '82783ef24bdc7036-acb19d111858e348, net: alternate, if: net1, id: three',
    );
  });

  it('comments strip " and are cut to 128 bytes', () => {
    const c = commentForInstance('n"et', 'eth0', 'x'.repeat(200));
    assert.equal(c.length, 128);
    assert.ok(c.startsWith(`${hashForInstance('n"et', 'eth0', 'x'.repeat(200))}, net: net, if: eth0, id: xxx`));
  });

  it('ADD on a fresh host: one read, one transaction with v4 and v6 rules', async () => {
    const r = new FakeRunner([
      {argv: LIST, reply: NO_CHAIN},
      {
        argv: ['nft', '-f', '-'],
        input:
          [
            ...HEADER,
            `add rule inet cni_plugins_masquerade masq_checks ip saddr == 192.168.1.2 ip daddr != 192.168.1.0/24 masquerade comment "${C_TWO}"`,
            `add rule inet cni_plugins_masquerade masq_checks ip6 saddr == 2001:db8::2 ip6 daddr != 2001:db8::/64 masquerade comment "${C_TWO}"`,
          ].join('\n') + '\n',
      },
    ]);
    await setupNftMasq(r, {...ONE, containerId: 'two'}, ['192.168.1.2/24', '2001:0db8:0:0::2/64']);
    r.assertDone();
  });

  it("ADD again: this instance's stale rules are deleted in the same transaction, others kept", async () => {
    const r = new FakeRunner([
      {argv: LIST, reply: {stdout: listing(rule(6, C_ONE), rule(7, C_TWO), rule(8), rule(9, C_ONE))}},
      {
        argv: ['nft', '-f', '-'],
        input:
          [
            ...HEADER,
            'delete rule inet cni_plugins_masquerade masq_checks handle 6',
            'delete rule inet cni_plugins_masquerade masq_checks handle 9',
            `add rule inet cni_plugins_masquerade masq_checks ip saddr == 192.168.1.1 ip daddr != 192.168.1.0/24 masquerade comment "${C_ONE}"`,
          ].join('\n') + '\n',
      },
    ]);
    await setupNftMasq(r, ONE, ['192.168.1.1/24']);
    r.assertDone();
  });

  it('refuses an address it cannot parse and a comment nft cannot quote', () => {
    assert.throws(() => nftMasqSetupScript(ONE, ['192.168.1.1'], []), /invalid address/);
    assert.throws(
      () => nftMasqSetupScript({...ONE, containerId: 'a\nb'}, ['192.168.1.1/24'], []),
      /cannot be written as an nftables string/,
    );
  });

  it("DEL deletes only rules whose comment starts with this instance's hash", async () => {
    const r = new FakeRunner([
      {argv: LIST, reply: {stdout: listing(rule(6, C_ONE), rule(7, C_TWO), rule(8), rule(9, C_ONE))}},
      {
        argv: ['nft', '-f', '-'],
        input:
          'delete rule inet cni_plugins_masquerade masq_checks handle 6\ndelete rule inet cni_plugins_masquerade masq_checks handle 9\n',
      },
    ]);
    await teardownNftMasq(r, ONE);
    r.assertDone();
  });

  it('DEL with nothing to delete (or no table) writes nothing', async () => {
    const r = new FakeRunner([{argv: LIST, reply: {stdout: listing(rule(7, C_TWO))}}]);
    await teardownNftMasq(r, ONE);
    r.assertDone();
    const gone = new FakeRunner([{argv: LIST, reply: NO_CHAIN}]);
    await teardownNftMasq(gone, ONE);
    gone.assertDone();
  });

  it('backend choice: explicit, auto = iptables unless only nft is installed, unknown refused', () => {
    const has =
      (...tools: string[]) =>
      (t: string): boolean =>
        tools.includes(t);
    assert.equal(resolveMasqBackend('nftables', has()), 'nftables');
    assert.equal(resolveMasqBackend('iptables', has('nft')), 'iptables');
    assert.equal(resolveMasqBackend('', has('iptables', 'nft')), 'iptables');
    assert.equal(resolveMasqBackend('', has('nft')), 'nftables');
    assert.equal(resolveMasqBackend('', has()), 'iptables');
    assert.throws(() => resolveMasqBackend('ebpf', has()), /unknown ipmasq backend "ebpf"/);
    assert.equal(teardownBackend('ebpf', has('nft')), 'iptables');
    assert.equal(teardownBackend('', has('nft')), 'nftables');
  });
});
