import {strict as assert} from 'node:assert';
import {labelNetworks, previousIdentity, reattachArgs} from '../../../../src/runtime/watch/lifecycle.js';

describe('watch: container lifecycle', () => {
  it('labelNetworks splits, trims and dedupes cni-docker.networks', () => {
    assert.deepEqual(labelNetworks({'cni-docker.networks': ' a, b,,a '}), ['a', 'b']);
    assert.deepEqual(labelNetworks({other: 'x'}), []);
    assert.deepEqual(labelNetworks(undefined), []);
  });

  it('asks for the previous addresses (bare) and MAC of a cached attachment', () => {
    const ids = previousIdentity(
      {
        containerId: 'c',
        ifName: 'eth1',
        networkName: 'n',
        config: '',
        netns: '/x',
        result: {
          cniVersion: '1.0.0',
          interfaces: [{name: 'eth1', mac: '02:00:00:00:00:01', sandbox: '/x'}],
          ips: [
            {address: '10.215.0.9/24', interface: 0},
            {address: 'fd00::9/64', interface: 0},
          ],
        },
      },
      {name: 'c', kind: 'container', mac: '02:ff:ff:ff:ff:ff', createdAt: ''},
    );
    assert.deepEqual(ids, {ips: ['10.215.0.9', 'fd00::9'], mac: '02:00:00:00:00:01'});
    assert.deepEqual(reattachArgs(ids), {args: ['IP=10.215.0.9,fd00::9'], mac: '02:00:00:00:00:01'});
    assert.deepEqual(reattachArgs({ips: []}), {args: [], mac: undefined});
  });
});
