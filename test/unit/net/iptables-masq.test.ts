import assert from 'node:assert/strict';
import {
  masqChainName,
  masqComment,
  masqOwners,
  planFreshSetup,
  planSetup,
  planTeardown,
  setupIpMasq,
} from '../../../src/net/iptables-masq.js';
import {parseNatSave} from '../../../src/net/iptables.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {hexId} from '../../helpers/fake-docker.js';

describe('net/iptables-masq: masquerade chain naming and rules', () => {
  it('derives the chain name like the reference', () => {
    assert.equal(masqChainName('test', '1234'), 'CNI-2bbe0c48b91a7d1b8a6753a8');
    assert.equal(masqChainName('testalongnamethatdoesnotmakesense', '1234'), 'CNI-374f33fe84ab0ed84dcdebe3');
    assert.equal(masqChainName('invnet020', 'invctr1'), 'CNI-8a5f942aa7a977350554535b');
    // The seed's first scenario (network mybridge, container 1234567890).
    assert.equal(masqChainName('mybridge', '1234567890'), 'CNI-26633426ea992aa1f0477097');
  });
  it('formats the comment with Go %q quoting', () => {
    assert.equal(masqComment('invnet020', 'invctr1'), 'name: "invnet020" id: "invctr1"');
    assert.equal(masqComment('a"b', 'c\\d'), 'name: "a\\"b" id: "c\\\\d"');
  });
  const t = {chain: 'CNI-8a5f942aa7a977350554535b', comment: masqComment('invnet020', 'invctr1')};
  const q = '"name: \\"invnet020\\" id: \\"invctr1\\""';
  const saved = [
    `-A POSTROUTING -s 10.77.0.2/32 -m comment --comment ${q} -j ${t.chain}`,
    `-A ${t.chain} -d 10.77.0.0/24 -m comment --comment ${q} -j ACCEPT`,
    `-A ${t.chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE`,
  ];
  it('plans exactly the lines iptables-save shows for the reference', () => {
    const plan = planSetup(t, parseNatSave('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'), ['10.77.0.2/24']);
    assert.equal(plan, ['*nat', `:${t.chain} - [0:0]`, saved[1], saved[2], saved[0], 'COMMIT', ''].join('\n'));
  });
  it('appends only what is missing (AppendUnique) and never re-declares an existing chain', () => {
    const table = parseNatSave(`:${t.chain} - [0:0]\n${saved.join('\n')}\n`);
    assert.equal(planSetup(t, table, ['10.77.0.2/24']), undefined);
    assert.equal(
      planSetup(t, table, ['10.77.0.3/24']),
      `*nat\n-A POSTROUTING -s 10.77.0.3/32 -m comment --comment ${q} -j ${t.chain}\nCOMMIT\n`,
    );
  });
  it('tears down one jump but keeps the chain while another ifname still jumps to it', () => {
    const second = `-A POSTROUTING -s 10.77.0.3/32 -m comment --comment ${q} -j ${t.chain}`;
    const table = parseNatSave(`:${t.chain} - [0:0]\n${[...saved, second].join('\n')}\n`);
    assert.equal(planTeardown(t, table, {kind: 'ips', ips: ['10.77.0.3']}), `*nat\n-D ${second.slice(3)}\nCOMMIT\n`);
    assert.equal(
      planTeardown(t, table, {kind: 'all'}),
      `*nat\n-D ${saved[0].slice(3)}\n-D ${second.slice(3)}\n-F ${t.chain}\n-X ${t.chain}\nCOMMIT\n`,
    );
    assert.equal(planTeardown(t, table, {kind: 'except', ips: ['10.77.0.2']}), `*nat\n-D ${second.slice(3)}\nCOMMIT\n`);
  });
  it('is a no-op when nothing is there', () => {
    assert.equal(planTeardown(t, parseNatSave(':POSTROUTING ACCEPT [0:0]\n'), {kind: 'all'}), undefined);
  });

  it('adds to an existing masquerade chain with read-and-plan after the -N write is refused', async () => {
    const chain = masqChainName('tbrunit', 'tbrctr1');
    const q = '"name: \\"tbrunit\\" id: \\"tbrctr1\\""';
    const t = {chain, comment: masqComment('tbrunit', 'tbrctr1')};
    const fresh = planFreshSetup(t, ['10.212.0.7/24']);
    assert.match(fresh, new RegExp(`^\\*nat\\n-N ${chain}\\n`));
    assert.doesNotMatch(fresh, /^:/m, 'a :CHAIN line under --noflush would flush an existing chain');
    const saved = `*nat\n:${chain} - [0:0]\n-A ${chain} -d 10.212.0.0/24 -m comment --comment ${q} -j ACCEPT\nCOMMIT\n`;
    const r = new FakeRunner([
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: fresh,
        reply: {exitCode: 1, stderr: 'iptables-restore: line 2 failed: Chain already exists.'},
      },
      {argv: ['iptables-save', '-t', 'nat'], reply: {stdout: saved}},
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: `*nat\n-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE\n-A POSTROUTING -s 10.212.0.7/32 -m comment --comment ${q} -j ${chain}\nCOMMIT\n`,
      },
    ]);
    await setupIpMasq(r, t, ['10.212.0.7/24']);
    r.assertDone();
  });
});

describe('net/iptables-masq masqOwners', () => {
  it('reads (network, id) from reference-format chains and skips chains whose name does not match the hash', () => {
    const id = hexId('ab');
    const chain = masqChainName('tgc1', id);
    const c = `--comment "name: \\"tgc1\\" id: \\"${id}\\""`;
    const t = parseNatSave(
      [
        `:${chain} - [0:0]`,
        `:CNI-000000000000000000000000 - [0:0]`,
        `-A POSTROUTING -s 10.215.0.2/32 -m comment ${c} -j ${chain}`,
        `-A ${chain} -d 10.215.0.0/24 -m comment ${c} -j ACCEPT`,
        `-A POSTROUTING -s 10.215.0.3/32 -m comment --comment "name: \\"tgc1\\" id: \\"x\\"" -j CNI-000000000000000000000000`,
      ].join('\n'),
    );
    assert.deepEqual(masqOwners(t), [{network: 'tgc1', containerId: id, chain}]);
  });
});
