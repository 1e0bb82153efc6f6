import {strict as assert} from 'node:assert';
import {loadConfList} from '../../../src/cni/config.js';
import {bridgesOf, overlayBridgesOf, typeOf} from '../../../src/runtime/network-config.js';

const list = (plugins: Record<string, unknown>[]) => loadConfList(JSON.stringify({cniVersion: '1.0.0', name: 'n', plugins}));
const overlay = {type: 'overlay', etcdEndpoints: ['http://e:2379'], bridge: 'mesh0'};

describe('runtime/network-config: what the runtime reads from a list', () => {
  it("bridgesOf: a bridge plugin's bridge and an overlay's, so the bridge users index and forwarding count both alike", () => {
    assert.deepEqual(bridgesOf(list([{type: 'bridge', bridge: 'br0'}])), ['br0']);
    assert.deepEqual(bridgesOf(list([overlay])), ['mesh0']);
    assert.deepEqual(
      bridgesOf(list([{type: 'overlay', etcdEndpoints: ['http://e:2379']}])),
      ['cni0'],
      'an overlay without "bridge" uses cni0, as the plugin does',
    );
    assert.deepEqual(bridgesOf(list([{type: 'macvlan', master: 'eth0'}])), []);
  });

  it("overlayBridgesOf: only the overlays' bridges (they also accept traffic from the vxlan devices)", () => {
    assert.deepEqual(overlayBridgesOf(list([{type: 'bridge', bridge: 'br0'}])), []);
    assert.deepEqual(overlayBridgesOf(list([overlay, {type: 'portmap'}])), ['mesh0']);
    assert.equal(typeOf(list([overlay, {type: 'portmap'}])), 'overlay+portmap');
  });
});
