import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {pendingEntries, writeMeta} from '../../../../src/runtime/state/attachment-meta.js';

describe('runtime/state/attachment-meta', () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync('/tmp/tpub-meta-')));
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('a pending record hands back the capabilityArgs its ADD ran with, so the DEL of a half-made attach gets them too', async () => {
    const capabilityArgs = {portMappings: [{hostPort: 18080, containerPort: 8080, protocol: 'tcp'}]};
    const pending = {network: 'tpub', containerId: 'c1', ifname: 'eth0', config: '{}', netns: '/ns', capabilityArgs};
    await writeMeta(tmp, 'tpub', 'c1', 'eth0', {name: 'web', kind: 'netns', createdAt: 'now', pending});
    assert.deepEqual(await pendingEntries(tmp), [
      {containerId: 'c1', ifName: 'eth0', networkName: 'tpub', config: '{}', netns: '/ns', cniArgs: undefined, capabilityArgs},
    ]);
  });
});
