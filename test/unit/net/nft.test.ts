import {strict as assert} from 'node:assert';
import {checkNftName, nftApply, nftList, nftString, parseNftJson} from '../../../src/net/nft.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const LIST = ['nft', '-j', 'list', 'table', 'inet', 'cni_plugins_masquerade'];

describe('net/nft', () => {
  it('parseNftJson collects chain names and rules, skipping metainfo, tables and sets', () => {
    const rule = {family: 'inet', table: 't', chain: 'c1', handle: 4, comment: 'hi', expr: [{accept: null}]};
    const l = parseNftJson(
      JSON.stringify({
        nftables: [
          {metainfo: {json_schema_version: 1}},
          {table: {family: 'inet', name: 't'}},
          {chain: {name: 'c1'}},
          {chain: {name: 'c2'}},
          {set: {name: 's'}},
          {rule},
        ],
      }),
    );
    assert.deepEqual([...l.chains], ['c1', 'c2']);
    assert.deepEqual(l.rules, [rule]);
    assert.deepEqual(parseNftJson('{}'), {chains: new Set(), rules: []});
    assert.throws(() => parseNftJson('not json'), SyntaxError);
  });

  it('nftList lists with -j and parses; a missing table or chain is undefined', async () => {
    const r = new FakeRunner([
      {argv: LIST, reply: {stdout: JSON.stringify({nftables: [{chain: {name: 'masq_checks'}}]})}},
      {argv: LIST, reply: {exitCode: 1, stderr: 'Error: No such file or directory\nlist table inet cni_plugins_masquerade\n'}},
    ]);
    assert.deepEqual((await nftList(r, ['table', 'inet', 'cni_plugins_masquerade']))?.chains, new Set(['masq_checks']));
    assert.equal(await nftList(r, ['table', 'inet', 'cni_plugins_masquerade']), undefined);
    r.assertDone();
  });

  it('nftList passes on any other failure', async () => {
    const r = new FakeRunner([{argv: LIST, reply: {exitCode: 1, stderr: 'Error: Operation not permitted\n'}}]);
    await assert.rejects(nftList(r, ['table', 'inet', 'cni_plugins_masquerade']), /Operation not permitted/);
    r.assertDone();
  });

  it('nftApply sends the lines as one script on stdin, ending in a newline', async () => {
    const r = new FakeRunner([{argv: ['nft', '-f', '-'], input: 'add table inet t\nadd chain inet t c\n'}]);
    await nftApply(r, ['add table inet t', 'add chain inet t c']);
    r.assertDone();
  });

  it('checkNftName allows letters, digits, "_", "." and "-" only', () => {
    checkNftName('chain', 'cni-1a2b_c.eth0');
    for (const bad of ['', 'a b', 'a;b', 'x"', 'a}', 'é', 'a\nb']) {
      assert.throws(() => checkNftName('chain', bad), {
        message: `chain ${JSON.stringify(bad)} cannot be used in an nftables name (allowed: letters, digits, "_", ".", "-")`,
      });
    }
  });

  it('nftString quotes, and refuses what nft cannot quote (no escapes inside quotes)', () => {
    assert.equal(nftString("cni-docker: 'x' eth0"), `"cni-docker: 'x' eth0"`);
    assert.equal(nftString(''), '""');
    for (const bad of ['a"b', 'a\nb', 'tab\there', 'del\u007f', 'nul\u0000']) {
      assert.throws(() => nftString(bad), /cannot be written as an nftables string/, JSON.stringify(bad));
    }
  });
});
