import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {join} from 'node:path';
import {DiskStore} from '../../../../src/ipam/host-local/store.js';
import {forgetIndexesInMemory, pruneIndexes} from '../../../../src/ipam/host-local/reservation-index.js';
import {ipString, parseIP, type Addr} from '../../../../src/util/ip.js';

/**
 * The CLI's reservation index beside a host-local store: lookups and releases
 * answer as the full walk does, read only the files the index does not hold
 * yet, follow another writer's reservations (a store opened without an index
 * stands for the reference and the plugin executables), and leave the store's
 * own files exactly the reference's.
 */
const NET = 'unitidx';
const ip = (s: string): Addr => {
  const a = parseIP(s);
  if (!a) throw new Error(`bad ip ${s}`);
  return a;
};
const ips = (xs: Addr[]): string[] => xs.map(ipString).sort();

describe('ipam/host-local/reservation-index', () => {
  let tmp: string;
  let dataDir: string;
  let indexDir: string;
  const indexed = (): DiskStore => DiskStore.open(NET, dataDir, {}, indexDir);
  const plain = (): DiskStore => DiskStore.open(NET, dataDir);
  const reserveAll = async (store: DiskStore, n: number): Promise<void> =>
    store.withLock(() => {
      for (let i = 1; i <= n; i++) assert.ok(store.reserve(`ctr${i}`, 'eth0', ip(`10.9.0.${i}`), '0'));
    });
  /** Files read by `fn` on `store` (its own count). */
  const reads = async (store: DiskStore, fn: () => unknown): Promise<number> => {
    const before = store.filesRead;
    await store.withLock(fn);
    return store.filesRead - before;
  };

  beforeEach(() => {
    tmp = mkdtempSync(join(os.tmpdir(), 'hl-idx-'));
    dataDir = join(tmp, 'data');
    indexDir = join(tmp, 'state', 'ipam-index');
    forgetIndexesInMemory();
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('after one full read, a lookup reads only the lock and last_reserved_ip.0; the store keeps the reference layout', async () => {
    await reserveAll(plain(), 30);
    const s = indexed();
    assert.equal(await reads(s, () => assert.deepEqual(ips(s.getByID('ctr7', 'eth0')), ['10.9.0.7'])), 32);
    assert.equal(await reads(s, () => assert.deepEqual(ips(s.getByID('ctr8', 'eth0')), ['10.9.0.8'])), 2);
    // A new store object of the same process, and then a new process (memory forgotten), use the index too.
    const t = indexed();
    assert.equal(await reads(t, () => assert.deepEqual(t.getByID('nobody', 'eth0'), [])), 2);
    forgetIndexesInMemory();
    const u = indexed();
    assert.equal(await reads(u, () => assert.equal(u.findByID('ctr30', 'eth0'), true)), 2);
    const names = readdirSync(join(dataDir, NET)).sort();
    assert.deepEqual(
      names.filter((n) => !/^10\.9\.0\.\d+$/.test(n)),
      ['last_reserved_ip.0', 'lock'],
    );
    assert.equal(readdirSync(indexDir).length, 1);
  });

  it('follows another writer: its new reservation is read (that file only), its release is dropped', async () => {
    await reserveAll(plain(), 10);
    const s = indexed();
    await reads(s, () => s.getByID('x', 'eth0'));
    const other = plain();
    await other.withLock(() => assert.ok(other.reserve('ref', 'eth1', ip('10.9.0.50'), '0')));
    assert.equal(await reads(s, () => assert.deepEqual(ips(s.getByID('ref', 'eth1')), ['10.9.0.50'])), 3);
    await other.withLock(() => other.releaseByID('ref', 'eth1'));
    await other.withLock(() => other.releaseByID('ctr3', 'eth0'));
    assert.equal(await reads(s, () => assert.deepEqual(s.getByID('ref', 'eth1'), [])), 2);
    assert.equal(await reads(s, () => assert.equal(s.findByID('ctr3', 'eth0'), false)), 2);
  });

  it('its own reservations and releases keep the index current without reading them back', async () => {
    const s = indexed();
    await reads(s, () => s.getByID('x', 'eth0'));
    await s.withLock(() => {
      s.getByID('a', 'eth0');
      assert.ok(s.reserve('a', 'eth0', ip('10.9.0.1'), '0'));
    });
    assert.equal(await reads(s, () => assert.deepEqual(ips(s.getByID('a', 'eth0')), ['10.9.0.1'])), 2);
    await s.withLock(() => s.releaseByID('a', 'eth0'));
    assert.deepEqual(readdirSync(join(dataDir, NET)).sort(), ['last_reserved_ip.0', 'lock']);
    assert.equal(await reads(s, () => assert.deepEqual(s.getByID('a', 'eth0'), [])), 2);
    const onDisk = JSON.parse(readFileSync(join(indexDir, readdirSync(indexDir)[0]), 'utf8')) as {dir: string; files: unknown[]};
    assert.equal(onDisk.dir, join(dataDir, NET));
    assert.deepEqual(onDisk.files, []);
  });

  it('answers every lookup and release as the full walk does, legacy files and whitespace included', async () => {
    const s = indexed();
    const ref = plain();
    const dir = join(dataDir, NET);
    writeFileSync(join(dir, '10.9.0.1'), ' a\r\neth0\n');
    writeFileSync(join(dir, '10.9.0.2'), 'a');
    writeFileSync(join(dir, '10.9.0.3'), 'b\r\neth1\n');
    writeFileSync(join(dir, 'fd00::3'), 'b\r\neth1');
    for (const [id, ifname] of [
      ['a', 'eth0'],
      ['a', 'eth9'],
      ['b', 'eth1'],
      ['c', 'eth0'],
    ]) {
      assert.deepEqual(ips(await s.withLock(() => s.getByID(id, ifname))), ips(ref.getByID(id, ifname)), `${id}/${ifname}`);
      assert.equal(await s.withLock(() => s.findByID(id, ifname)), ref.findByID(id, ifname), `${id}/${ifname}`);
    }
    // Release: the legacy file goes only when no id+ifname file matched, as in the walk.
    await s.withLock(() => s.releaseByID('a', 'eth0'));
    assert.deepEqual(readdirSync(dir).sort(), ['10.9.0.2', '10.9.0.3', 'fd00::3', 'lock']);
    await s.withLock(() => s.releaseByID('a', 'eth0'));
    assert.deepEqual(readdirSync(dir).sort(), ['10.9.0.3', 'fd00::3', 'lock']);
  });

  it('a release checks the file itself: a name another writer reused for another owner stays', async () => {
    await reserveAll(plain(), 3);
    const s = indexed();
    await reads(s, () => s.getByID('x', 'eth0'));
    const file = join(dataDir, NET, '10.9.0.2');
    unlinkSync(file);
    writeFileSync(file, 'someone\r\neth0');
    await s.withLock(() => s.releaseByID('ctr2', 'eth0'));
    assert.equal(readFileSync(file, 'utf8'), 'someone\r\neth0');
  });

  it('a broken or foreign index file counts as none: the store is read in full and the index written again', async () => {
    await reserveAll(plain(), 5);
    const s = indexed();
    await reads(s, () => s.getByID('x', 'eth0'));
    const [name] = readdirSync(indexDir);
    for (const body of ['{"dir":', JSON.stringify({dir: '/elsewhere', files: [['10.9.0.1', 'ctr1\r\neth0']]}), '[1,2]']) {
      writeFileSync(join(indexDir, name), body);
      forgetIndexesInMemory();
      const t = indexed();
      assert.equal(await reads(t, () => assert.deepEqual(ips(t.getByID('ctr4', 'eth0')), ['10.9.0.4'])), 7, body);
      assert.equal(await reads(t, () => t.getByID('ctr4', 'eth0')), 2, body);
    }
  });

  it('a store with a subdirectory is walked in full, as the reference walks it', async () => {
    await reserveAll(plain(), 2);
    mkdirSync(join(dataDir, NET, 'sub'));
    writeFileSync(join(dataDir, NET, 'sub', '10.9.0.9'), 'deep\r\neth0');
    const s = indexed();
    assert.deepEqual(ips(await s.withLock(() => s.getByID('deep', 'eth0'))), ['10.9.0.9']);
    assert.equal(await reads(s, () => s.getByID('deep', 'eth0')), 5);
  });

  it('an index it cannot write costs a full read next time, never an error', async () => {
    await reserveAll(plain(), 4);
    writeFileSync(join(tmp, 'state'), 'a file where the state dir should be');
    const s = indexed();
    assert.deepEqual(ips(await s.withLock(() => s.getByID('ctr1', 'eth0'))), ['10.9.0.1']);
    forgetIndexesInMemory();
    assert.equal(await reads(s, () => s.getByID('ctr1', 'eth0')), 6);
  });

  it('gc prunes the indexes of stores that are gone, and nothing else', async () => {
    await reserveAll(plain(), 2);
    const kept = indexed();
    await reads(kept, () => kept.getByID('x', 'eth0'));
    const gone = DiskStore.open('unitgone', dataDir, {}, indexDir);
    await gone.withLock(() => gone.getByID('x', 'eth0') && gone.reserve('y', 'eth0', ip('10.9.1.1'), '0'));
    writeFileSync(join(indexDir, 'notes.txt'), 'not an index');
    writeFileSync(join(indexDir, `${'f'.repeat(32)}.json`), '{broken');
    rmSync(gone.dir, {recursive: true});
    const before = readdirSync(indexDir).sort();
    assert.equal(before.length, 4);
    const dry = await pruneIndexes(indexDir, true);
    assert.deepEqual(
      dry.map(([, dir]) => dir),
      [gone.dir],
    );
    assert.deepEqual(readdirSync(indexDir).sort(), before);
    assert.deepEqual(await pruneIndexes(indexDir), dry);
    assert.deepEqual(
      readdirSync(indexDir).sort(),
      before.filter((n) => n !== dry[0][0]),
    );
    assert.deepEqual(await pruneIndexes(join(tmp, 'nowhere')), []);
  });
});
