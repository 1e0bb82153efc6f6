import {strict as assert} from 'node:assert';
import {assertDockerReachable, assertReferencePlugins, assertRoot, assertTestImage, docker, TEST_IMAGE} from '../helpers/docker.js';

// The first integration file (mocha loads files in name order): when the
// machine is not set up, this fails loudly and names `sudo bin/setup`.
describe('integration preflight (the test bed from bin/setup)', () => {
  it('runs as root', () => {
    assertRoot();
    assert.equal(process.getuid?.(), 0);
  });

  it('reaches the Docker engine', async () => {
    await assertDockerReachable();
    assert.match(await docker('version', '--format', '{{.Server.APIVersion}}'), /^1\.\d+$/);
  });

  it(`has the test image ${TEST_IMAGE}`, async () => {
    await assertTestImage();
    const out = await docker('run', '--rm', '--net=none', TEST_IMAGE, 'sh', '-c', 'busybox ip link show lo >/dev/null && echo ok');
    assert.equal(out, 'ok');
  });

  it('has the reference CNI plugins in /usr/lib/cni', () => {
    assertReferencePlugins();
  });
});
