import {strict as assert} from 'node:assert';
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {
  cacheFile,
  deleteCache,
  encodeCacheEntry,
  listCache,
  nameMayHold,
  readCache,
  writeCache,
  type CacheEntry,
} from '../../../../src/runtime/state/result-cache.js';

const entry: CacheEntry = {
  containerId: 'c1',
  ifName: 'eth0',
  networkName: 'tcorenet',
  config: '{"cniVersion":"1.0.0","name":"tcorenet","plugins":[{"type":"bridge"}]}',
  netns: '/var/run/netns/tcore-x',
  cniArgs: [['IgnoreUnknown', '1']],
  result: {cniVersion: '1.0.0', ips: [{address: '10.210.0.2/24'}], dns: {}},
};

describe('result cache (libcni layout)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync('/tmp/tcore-cache-')));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('encodes exactly the libcni cachedInfo fields, config base64, result keys sorted', () => {
    const text = encodeCacheEntry(entry);
    const b64 = Buffer.from(entry.config).toString('base64');
    assert.equal(
      text,
      `{"kind":"cniCacheV1","containerId":"c1","config":"${b64}","ifName":"eth0","networkName":"tcorenet",` +
        '"netns":"/var/run/netns/tcore-x","cniArgs":[["IgnoreUnknown","1"]],"result":{"cniVersion":"1.0.0","dns":{},"ips":[{"address":"10.210.0.2/24"}]}}',
    );
  });

  it('writes atomically at results/<net>-<cid>-<ifname> with mode 0600 and reads it back', async () => {
    const file = await writeCache(dir, entry);
    assert.equal(file, `${dir}/results/tcorenet-c1-eth0`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(`${dir}/results`).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(`${dir}/results`), ['tcorenet-c1-eth0']);
    const back = await readCache(dir, 'tcorenet', 'c1', 'eth0');
    assert.deepEqual({...back, result: back?.result}, {...entry, capabilityArgs: undefined});
  });

  it('a missing file reads as undefined and delete is idempotent', async () => {
    assert.equal(await readCache(dir, 'tcorenet', 'c1', 'eth0'), undefined);
    await writeCache(dir, entry);
    await deleteCache(dir, 'tcorenet', 'c1', 'eth0');
    await deleteCache(dir, 'tcorenet', 'c1', 'eth0');
    assert.deepEqual(readdirSync(`${dir}/results`), []);
  });

  it('treats a non-cniCacheV1 file as a legacy bare result', async () => {
    await writeCache(dir, entry);
    writeFileSync(cacheFile(dir, 'old', 'c1', 'eth0'), '{"cniVersion":"0.3.1","ips":[]}');
    const legacy = await readCache(dir, 'old', 'c1', 'eth0');
    assert.deepEqual(legacy?.result, {cniVersion: '0.3.1', ips: []});
    assert.equal(readFileSync(cacheFile(dir, 'old', 'c1', 'eth0'), 'utf8').includes('kind'), false);
  });

  it('lists attachments sorted, filtered by container id, skipping legacy files', async () => {
    await writeCache(dir, {...entry, ifName: 'net1'});
    await writeCache(dir, entry);
    await writeCache(dir, {...entry, containerId: 'c2'});
    writeFileSync(cacheFile(dir, 'old', 'c1', 'eth0'), '{}');
    assert.deepEqual(
      (await listCache(dir)).map((e) => `${e.containerId}/${e.ifName}`),
      ['c1/eth0', 'c1/net1', 'c2/eth0'],
    );
    assert.deepEqual(
      (await listCache(dir, 'c2')).map((e) => e.ifName),
      ['eth0'],
    );
  });

  it('requires all three name parts', () => {
    assert.throws(() => cacheFile(dir, 'n', '', 'eth0'), /cache file path requires network name/);
  });

  it('lists the entries of a set of container ids, reading only the files whose names can hold them', async () => {
    for (const id of ['c1', 'c2', 'c3']) await writeCache(dir, {...entry, containerId: id});
    // A file whose name matches but whose content names another container is not listed.
    writeFileSync(`${dir}/results/tcorenet-c2-eth9`, encodeCacheEntry({...entry, containerId: 'c9', ifName: 'eth9'}));
    assert.deepEqual(
      (await listCache(dir, new Set(['c1', 'c2']))).map((e) => `${e.containerId}/${e.ifName}`),
      ['c1/eth0', 'c2/eth0'],
    );
    assert.deepEqual((await listCache(dir, new Set())).length, 0);
    assert.ok(nameMayHold('net-a-b-c2-eth0', new Set(['c2'])) && !nameMayHold('net-c22-eth0', new Set(['c2'])));
  });
});
