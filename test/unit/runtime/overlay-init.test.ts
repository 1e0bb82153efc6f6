import {strict as assert} from 'node:assert';
import {UserError} from '../../../src/errors.js';
import {overlayInit} from '../../../src/runtime/overlay-init.js';

/**
 * What overlay init checks before it connects: each bad value is one
 * UserError naming the option, and no etcd is reached (the endpoint is a
 * reserved TEST-NET address, so a connection attempt would hang, not answer).
 * Writing the config is covered against a real etcd in the integration tests.
 */
describe('runtime/overlay-init', () => {
  const good = {endpoints: ['http://192.0.2.1:2379'], network: '10.240.0.0/16'};
  const refused = (req: Parameters<typeof overlayInit>[0], re: RegExp) =>
    assert.rejects(overlayInit(req), (e: unknown) => e instanceof UserError && re.test(e.message));

  it('refuses bad endpoints under --etcd', async () => {
    await refused({...good, endpoints: []}, /^--etcd: /);
    await refused({...good, endpoints: ['ftp://192.0.2.1:2379']}, /^--etcd: .*scheme must be http or https/);
    await refused({...good, username: 'u'}, /^--etcd: .*both a user and a password/);
  });

  it('refuses a bad prefix under --prefix', async () => {
    await refused({...good, prefix: 'relative'}, /^--prefix: .*must start with \//);
    await refused({...good, prefix: '/a/../b'}, /^--prefix: /);
  });

  it('refuses a bad overlay network under "overlay network"', async () => {
    await refused({...good, network: 'not-a-cidr'}, /^overlay network: /);
    await refused({...good, network: '10.240.0.0/16', subnetLen: 8}, /^overlay network: /);
  });
});
