import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, readdirSync, rmSync, utimesSync} from 'node:fs';
import path from 'node:path';
import {
  addBridgeUser,
  bridgeUsersDir,
  bridgesInUse,
  ensureIndexed,
  pruneBridgeUsers,
  removeBridgeUser,
} from '../../../../src/runtime/state/bridge-users.js';
import {deleteMeta, writeMeta} from '../../../../src/runtime/state/attachment-meta.js';

describe('bridge users index (runtime state)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync('/tmp/tbu-')));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('a bridge is in use while any user outside the leaving set remains; the last removal takes its directory', async () => {
    await addBridgeUser(dir, ['br0'], 'net-a-eth0');
    await addBridgeUser(dir, ['br0', 'br1'], 'net-b-eth0');
    assert.deepEqual((await bridgesInUse(dir)).sort(), ['br0', 'br1']);
    assert.deepEqual(await bridgesInUse(dir, new Set(['net-b-eth0'])), ['br0']);
    assert.deepEqual(await bridgesInUse(dir, new Set(['net-a-eth0', 'net-b-eth0'])), []);
    await removeBridgeUser(dir, 'net-b-eth0');
    assert.deepEqual(await bridgesInUse(dir), ['br0']);
    assert.ok(!existsSync(path.join(bridgeUsersDir(dir), 'br1')), 'an empty bridge directory stays behind');
    await removeBridgeUser(dir, 'net-a-eth0');
    assert.deepEqual(await bridgesInUse(dir), []);
    assert.deepEqual(readdirSync(bridgeUsersDir(dir)), []);
  });

  it('deleteMeta forgets the attachment among its bridges', async () => {
    await addBridgeUser(dir, ['br0'], 'net-c1-eth0');
    await writeMeta(dir, 'net', 'c1', 'eth0', {name: 'c1', kind: 'netns', createdAt: 'now'});
    await deleteMeta(dir, 'net', 'c1', 'eth0');
    assert.deepEqual(await bridgesInUse(dir), []);
  });

  it('indexes the known attachments once, when no index was ever built (state from an earlier version)', async () => {
    let calls = 0;
    const known = async () => {
      calls++;
      return [{key: 'net-old-eth0', bridges: ['br9']}];
    };
    await ensureIndexed(dir, known);
    await ensureIndexed(dir, known);
    assert.equal(calls, 1);
    assert.deepEqual(await bridgesInUse(dir), ['br9']);
    // A later attachment's marker does not stop the first indexing of a fresh state dir.
    const other = mkdtempSync('/tmp/tbu-');
    try {
      await addBridgeUser(other, ['br1'], 'net-new-eth0');
      await ensureIndexed(other, known);
      assert.deepEqual((await bridgesInUse(other)).sort(), ['br1', 'br9']);
    } finally {
      rmSync(other, {recursive: true, force: true});
    }
  });

  it('gc prunes the markers of unknown attachments, but not young ones (an attach may be writing its record)', async () => {
    await addBridgeUser(dir, ['br0'], 'net-known-eth0');
    await addBridgeUser(dir, ['br0'], 'net-stale-eth0');
    await addBridgeUser(dir, ['br0'], 'net-young-eth0');
    const old = (Date.now() - 120_000) / 1000;
    for (const k of ['net-known-eth0', 'net-stale-eth0']) utimesSync(path.join(bridgeUsersDir(dir), 'br0', k), old, old);
    const removed = await pruneBridgeUsers(dir, new Set(['net-known-eth0']));
    assert.deepEqual(removed, ['net-stale-eth0']);
    assert.deepEqual(readdirSync(path.join(bridgeUsersDir(dir), 'br0')).sort(), ['net-known-eth0', 'net-young-eth0']);
  });
});
