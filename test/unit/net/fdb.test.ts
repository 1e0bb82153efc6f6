import assert from 'node:assert/strict';
import {fdbBatch, parseFdb} from '../../../src/net/fdb.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

describe("net/fdb (the overlay's forwarding entries)", () => {
  it("keeps the device's own FDB entries that have a destination", () => {
    const json = [
      {mac: '4a:d9:42:87:e6:52', dst: '192.0.2.2', flags: ['self'], state: 'permanent'},
      {mac: '4a:d9:42:87:e6:53', flags: ['self']},
      {mac: '4a:d9:42:87:e6:54', dst: '192.0.2.4', flags: ['master']},
    ];
    assert.deepEqual(parseFdb(json), [{mac: '4a:d9:42:87:e6:52', dst: '192.0.2.2'}]);
    assert.deepEqual(parseFdb(undefined), []);
  });

  it('writes FDB entries in one `bridge -batch -`, refusing a token the batch could not carry', async () => {
    const r = new FakeRunner([{argv: ['bridge', '-batch', '-'], input: 'fdb del a dev flannel.1 self\nfdb del b dev flannel.1 self\n'}]);
    await fdbBatch(r, [
      ['fdb', 'del', 'a', 'dev', 'flannel.1', 'self'],
      ['fdb', 'del', 'b', 'dev', 'flannel.1', 'self'],
    ]);
    await assert.rejects(fdbBatch(r, [['fdb', 'del', 'a b']]), /refusing unsafe token in bridge batch/);
    r.assertDone();
  });
});
