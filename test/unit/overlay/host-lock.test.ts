import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, statSync, symlinkSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {lockFile} from '../../../src/lock/flock.js';
import {hostLockPath, lockHost, withHostLock} from '../../../src/overlay/host-lock.js';

describe('overlay/host-lock', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'host-lock-'));
  });
  afterEach(() => rmSync(root, {recursive: true, force: true}));

  /** Whether another opener can take the lock right now (flock -w 0). */
  const free = async (stateDir: string): Promise<boolean> => {
    try {
      (await lockFile(hostLockPath(stateDir), {timeoutSeconds: 0})).release();
      return true;
    } catch {
      return false;
    }
  };

  it('the lock is <stateDir>/overlay.lock', () => {
    assert.equal(hostLockPath('/var/lib/cni-docker'), '/var/lib/cni-docker/overlay.lock');
  });

  it('lockHost makes the state directory and holds the lock until released', async () => {
    const stateDir = path.join(root, 'state', 'dir');
    const lock = await lockHost(stateDir);
    assert.ok(statSync(stateDir).isDirectory());
    assert.equal(await free(stateDir), false);
    lock.release();
    assert.equal(await free(stateDir), true);
  });

  it('withHostLock holds the lock while its section runs, and releases it after, also when the section fails', async () => {
    const heldInside = await withHostLock(root, async () => !(await free(root)));
    assert.equal(heldInside, true);
    assert.equal(await free(root), true);
    const boom = new Error('sync failed');
    await assert.rejects(
      withHostLock(root, async () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.equal(await free(root), true);
  });

  it("a lock file that cannot be opened is an error naming it as the overlay's", async () => {
    // A dangling link into a missing directory: O_CREAT cannot create its target.
    symlinkSync(path.join(root, 'missing', 'target'), hostLockPath(root));
    await assert.rejects(
      lockHost(root),
      (e: Error) => e.message.startsWith(`overlay: ${hostLockPath(root)}: `) && /ENOENT/.test(e.message),
    );
  });
});
