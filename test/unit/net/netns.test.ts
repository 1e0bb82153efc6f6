import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {CniError} from '../../../src/cni/errors.js';
import {checkNetnsPath, isLiveNetns, linkNamesViaPid, netnsExists} from '../../../src/net/netns.js';

// Our own namespace: an nsfs path that exists without root or any setup.
const SELF = '/proc/self/ns/net';

describe('net/netns', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'netns-'));
    file = path.join(dir, 'stale-sandbox-key');
    writeFileSync(file, ''); // what Docker leaves behind on a disk-backed /var/run
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('isLiveNetns: a namespace is live, a leftover file, a missing path or none is not', () => {
    assert.equal(isLiveNetns(SELF), true);
    assert.equal(isLiveNetns(file), false);
    assert.equal(isLiveNetns(path.join(dir, 'missing')), false);
    assert.equal(isLiveNetns(undefined), false);
    assert.equal(isLiveNetns(''), false);
  });

  it('checkNetnsPath passes a namespace and words the failures as the reference does', async () => {
    await checkNetnsPath(SELF);
    const missing = path.join(dir, 'missing');
    await assert.rejects(
      checkNetnsPath(missing),
      (e: unknown) => e instanceof CniError && e.code === 999 && e.message === `failed to Statfs "${missing}": no such file or directory`,
    );
    await assert.rejects(
      checkNetnsPath(file),
      (e: unknown) => e instanceof CniError && e.code === 999 && new RegExp(`^unknown FS magic on "${file}": [0-9a-f]+$`).test(e.message),
    );
  });

  it('netnsExists is whether the path exists at all, live or not', async () => {
    assert.equal(await netnsExists(SELF), true);
    assert.equal(await netnsExists(file), true);
    assert.equal(await netnsExists(path.join(dir, 'missing')), false);
  });

  it('linkNamesViaPid reads the link names of a pid in that namespace', () => {
    const names = linkNamesViaPid(SELF, process.pid);
    assert.ok(names, 'our own pid is in our own namespace');
    assert.ok(names.includes('lo'), `every namespace has lo: ${names.join(',')}`);
    assert.ok(
      names.every((n) => n.length > 0 && !/[\s:]/.test(n)),
      'names only, no counters',
    );
  });

  it('linkNamesViaPid answers nothing unless the pid lives in that very namespace', () => {
    assert.equal(linkNamesViaPid(file, process.pid), undefined, 'another inode: not that namespace');
    for (const pid of [undefined, 0, -1, 1.5]) assert.equal(linkNamesViaPid(SELF, pid), undefined, String(pid));
    assert.equal(linkNamesViaPid(SELF, 2 ** 30), undefined, 'no such process');
  });
});
