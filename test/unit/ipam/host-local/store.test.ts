import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {join} from 'node:path';
import {lockFile} from '../../../../src/lock/flock.js';
import {
  DiskStore,
  goFsError,
  listReservations,
  readReservations,
  releaseReservation,
  storeWriteProblem,
} from '../../../../src/ipam/host-local/store.js';
import {ipString, parseIP, type Addr} from '../../../../src/util/ip.js';

/**
 * The host-local disk store on a temp dataDir: the reference's file names,
 * contents and modes, and how lookups and releases read them back (including
 * legacy `<id>`-only files, which older plugins wrote).
 */
const NET = 'unitnet';
const ip = (s: string): Addr => {
  const a = parseIP(s);
  if (!a) throw new Error(`bad ip ${s}`);
  return a;
};

describe('ipam/host-local/store DiskStore', () => {
  let dataDir: string;
  let store: DiskStore;
  const files = () => readdirSync(store.dir).sort();
  const read = (f: string) => readFileSync(join(store.dir, f), 'utf8');
  const put = (name: string, content: string) => writeFileSync(join(store.dir, name), content);

  beforeEach(() => {
    dataDir = mkdtempSync(join(os.tmpdir(), 'hl-store-'));
    store = DiskStore.open(NET, dataDir);
  });
  afterEach(() => rmSync(dataDir, {recursive: true, force: true}));

  it('open makes <dataDir>/<network> (0755) and its lock file (0750), and nothing else', () => {
    assert.equal(store.dir, join(dataDir, NET));
    assert.deepEqual(files(), ['lock']);
    assert.equal(statSync(store.dir).mode & 0o777, 0o755);
    assert.equal(statSync(join(store.dir, 'lock')).mode & 0o777, 0o750);
    DiskStore.open(NET, dataDir); // opening again is fine
  });

  it("open refuses network names that are not the reference's, and an empty dataDir, before making anything", () => {
    for (const bad of ['', '..', '.hidden', '-x', 'a/b', 'a b', 'ü']) {
      assert.throws(() => DiskStore.open(bad, dataDir), {message: `invalid characters found in network name: ${bad}`}, bad);
    }
    assert.throws(() => DiskStore.open('ok', ''), {message: 'empty dataDir'});
    assert.deepEqual(readdirSync(dataDir), [NET]);
    DiskStore.open('a.b_c-1', dataDir);
  });

  it('open words a directory it cannot make as Go does', () => {
    const file = join(dataDir, 'file');
    writeFileSync(file, '');
    assert.throws(() => DiskStore.open(NET, join(file, 'sub')), {message: `mkdir ${join(file, 'sub', NET)}: not a directory`});
  });

  it('reserve writes "<trimmed id>\\r\\n<ifname>" (0644) and the range\'s last reserved IP', () => {
    assert.equal(store.reserve('  c1\n', 'eth0', ip('10.1.0.5'), '0'), true);
    assert.equal(read('10.1.0.5'), 'c1\r\neth0');
    assert.equal(statSync(join(store.dir, '10.1.0.5')).mode & 0o777, 0o644);
    assert.equal(read('last_reserved_ip.0'), '10.1.0.5');
    assert.deepEqual(store.lastReservedIP('0'), ip('10.1.0.5'));
  });

  it('reserve of a taken address is false and changes nothing, not even the last reserved IP', () => {
    store.reserve('c1', 'eth0', ip('10.1.0.5'), '0');
    store.reserve('c1', 'eth0', ip('10.1.0.6'), '0');
    assert.equal(store.reserve('c2', 'eth1', ip('10.1.0.5'), '0'), false);
    assert.equal(read('10.1.0.5'), 'c1\r\neth0');
    assert.equal(read('last_reserved_ip.0'), '10.1.0.6');
  });

  it('the last reserved IP is rewritten whole when a shorter address follows a longer one', () => {
    // Written in place (no O_TRUNC): what is left past the new end must be cut.
    store.reserve('c1', 'eth0', ip('fd00:1::1234'), '1');
    store.reserve('c2', 'eth0', ip('fd00:1::2'), '1');
    assert.equal(read('last_reserved_ip.1'), 'fd00:1::2');
    assert.ok(files().includes('fd00:1::1234'), "an IPv6 address is its file's name, compressed");
  });

  it('lastReservedIP is undefined for a range never used or a file that holds no address', () => {
    assert.equal(store.lastReservedIP('0'), undefined);
    put('last_reserved_ip.0', 'garbage');
    assert.equal(store.lastReservedIP('0'), undefined);
  });

  it('getByID and findByID match id and ifname, or a legacy file holding only the id, ignoring whitespace', () => {
    store.reserve('c1', 'eth0', ip('10.1.0.2'), '0');
    store.reserve('c1', 'eth1', ip('10.1.0.3'), '0');
    store.reserve('c2', 'eth0', ip('10.1.0.4'), '0');
    put('10.1.0.9', ' c1\n'); // legacy
    put('notes', 'c1\r\neth0'); // not an address: its name cannot be returned
    assert.deepEqual(store.getByID('c1', 'eth0').map(ipString), ['10.1.0.2', '10.1.0.9']);
    assert.deepEqual(store.getByID('c1', 'eth1').map(ipString), ['10.1.0.3', '10.1.0.9']);
    assert.equal(store.findByID('c2', 'eth0'), true);
    assert.equal(store.findByID('c2', 'eth1'), false);
    assert.equal(store.findByID('c3', 'eth0'), false);
  });

  it('releaseByID removes only the files of id and ifname, and legacy ones only when it found none', () => {
    store.reserve('c1', 'eth0', ip('10.1.0.2'), '0');
    store.reserve('c1', 'eth1', ip('10.1.0.3'), '0');
    put('10.1.0.9', 'c1'); // legacy
    store.releaseByID('c1', 'eth0');
    assert.deepEqual(files(), ['10.1.0.3', '10.1.0.9', 'last_reserved_ip.0', 'lock'], 'the legacy file stays: eth0 had its own');
    store.releaseByID('c1', 'eth2');
    assert.deepEqual(files(), ['10.1.0.3', 'last_reserved_ip.0', 'lock'], 'nothing of eth2: the legacy file goes');
    store.releaseByID('nobody', 'eth0');
    assert.deepEqual(files(), ['10.1.0.3', 'last_reserved_ip.0', 'lock']);
  });

  it('lookups walk subdirectories too, as filepath.Walk does', () => {
    mkdirSync(join(store.dir, 'sub'));
    writeFileSync(join(store.dir, 'sub', '10.1.0.7'), 'c1\r\neth0');
    assert.equal(store.findByID('c1', 'eth0'), true);
    assert.deepEqual(store.getByID('c1', 'eth0').map(ipString), ['10.1.0.7']);
    store.releaseByID('c1', 'eth0');
    assert.deepEqual(readdirSync(join(store.dir, 'sub')), []);
  });

  it("lock holds the store's lock file against any other opener", async () => {
    const held = await store.lock();
    try {
      await assert.rejects(lockFile(join(store.dir, 'lock'), {timeoutSeconds: 0}));
    } finally {
      held.release();
    }
    (await lockFile(join(store.dir, 'lock'), {timeoutSeconds: 0})).release();
  });

  it("withLock runs its section under that lock and passes on its value; the lock options are the store's", async () => {
    assert.equal(
      await store.withLock(async () => {
        await assert.rejects(lockFile(join(store.dir, 'lock'), {timeoutSeconds: 0}));
        return 'done';
      }),
      'done',
    );
    const noFlock = DiskStore.open(NET, dataDir, {flockBin: join(dataDir, 'no-such-flock')});
    await assert.rejects(noFlock.lock());
  });
});

describe('ipam/host-local/store reservations', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(os.tmpdir(), 'hl-res-')), NET);
  });
  afterEach(() => rmSync(join(dir, '..'), {recursive: true, force: true}));

  it('readReservations lists the address files in order, legacy ones without an ifname', () => {
    const store = DiskStore.open(NET, join(dir, '..'));
    store.reserve('c2', 'eth0', ip('10.1.0.3'), '0');
    store.reserve('c1', 'eth1', ip('fd00::2'), '1');
    writeFileSync(join(dir, '10.1.0.10'), 'old\n');
    writeFileSync(join(dir, 'README'), 'c9\r\neth0');
    assert.deepEqual(readReservations(dir), [
      {ip: '10.1.0.10', id: 'old', ifname: undefined, path: join(dir, '10.1.0.10')},
      {ip: '10.1.0.3', id: 'c2', ifname: 'eth0', path: join(dir, '10.1.0.3')},
      {ip: 'fd00::2', id: 'c1', ifname: 'eth1', path: join(dir, 'fd00::2')},
    ]);
    assert.deepEqual(listReservations(store), readReservations(dir));
  });

  it('readReservations of a store not made yet is empty', () => {
    assert.deepEqual(readReservations(dir), []);
  });

  it('releaseReservation removes the file only while it has the same owner', () => {
    const store = DiskStore.open(NET, join(dir, '..'));
    store.reserve('c1', 'eth0', ip('10.1.0.3'), '0');
    const [r] = readReservations(dir);
    // Released and taken by another container since it was listed: not ours to remove.
    writeFileSync(r.path, 'c2\r\neth0');
    assert.equal(releaseReservation(r), false);
    assert.equal(readFileSync(r.path, 'utf8'), 'c2\r\neth0');
    writeFileSync(r.path, 'c1\r\neth1');
    assert.equal(releaseReservation(r), false, 'same id, another interface');
    writeFileSync(r.path, 'c1\r\neth0\n');
    assert.equal(releaseReservation(r), true);
    assert.equal(releaseReservation(r), false, 'already gone');
  });

  it('releaseReservation matches a legacy file only as legacy', () => {
    mkdirSync(dir);
    writeFileSync(join(dir, '10.1.0.4'), 'c1');
    const [r] = readReservations(dir);
    assert.equal(releaseReservation({...r, ifname: 'eth0'}), false);
    assert.equal(releaseReservation(r), true);
  });
});

describe('ipam/host-local/store goFsError and storeWriteProblem', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(os.tmpdir(), 'hl-prob-'));
  });
  afterEach(() => rmSync(root, {recursive: true, force: true}));

  it("goFsError words an errno as Go's *PathError, or keeps the message of one it does not know", () => {
    const e = (code: string) => Object.assign(new Error(`${code}: node words`), {code});
    assert.equal(goFsError(e('ENOENT'), 'open', '/x').message, 'open /x: no such file or directory');
    assert.equal(goFsError(e('EROFS'), 'mkdir', '/x').message, 'mkdir /x: read-only file system');
    assert.equal(goFsError(e('EMFILE'), 'open', '/x').message, 'open /x: EMFILE: node words');
  });

  it('storeWriteProblem is nothing for a directory, or a missing one under a directory', () => {
    assert.equal(storeWriteProblem(root), undefined);
    assert.equal(storeWriteProblem(join(root, 'a', 'b', NET)), undefined);
  });

  it('storeWriteProblem names a file standing where a directory must be', () => {
    const file = join(root, 'file');
    writeFileSync(file, '');
    assert.equal(storeWriteProblem(file), `stat ${file}: not a directory`);
    assert.equal(storeWriteProblem(join(file, NET)), `stat ${join(file, NET)}: not a directory`);
  });
});
