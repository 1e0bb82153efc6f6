import {strict as assert} from 'node:assert';
import {describePeers, describeSync, planChanges, renewDelayMs} from '../../../src/runtime/overlay-sync.js';

describe('runtime/overlay-sync (pure parts)', () => {
  it('renews an hour before expiry, or halfway for a lease of two hours or less; never for a reservation', () => {
    const now = 1_000_000;
    assert.equal(renewDelayMs(new Date(now + 24 * 3600_000), now), 23 * 3600_000);
    assert.equal(renewDelayMs(new Date(now + 3600_000), now), 1800_000);
    assert.equal(renewDelayMs(new Date(now + 500), now), 1000, 'at least a second');
    assert.equal(renewDelayMs(undefined, now), undefined);
  });

  it('reads the peers added and removed from a sync plan', () => {
    const plan = {
      ip: [['route', 'del', '10.240.9.0/24', 'dev', 'flannel.1'], ['neigh', 'replace', '10.240.4.0', 'lladdr', '02:00:00:00:00:04', 'dev', 'flannel.1', 'nud', 'permanent'],
        ['route', 'replace', '10.240.4.0/24', 'via', '10.240.4.0', 'dev', 'flannel.1', 'onlink']],
      bridge: [],
    };
    assert.deepEqual(planChanges(plan), {added: ['10.240.4.0/24'], removed: ['10.240.9.0/24']});
  });

  it('says what a sync did in one line', () => {
    const r = {network: 'mesh', publicIP: '192.0.2.1', uplink: 'eth0', subnet: '10.240.3.0/24', device: 'flannel.1', vtepMac: '02:00:00:00:00:03', mtu: 1450,
      expiresAt: '2030-01-01T00:00:00.000Z', peers: [{subnet: '10.240.4.0/24', publicIP: '192.0.2.2', vtepMac: '02:00:00:00:00:04'}], changes: {added: ['10.240.4.0/24'], removed: []}};
    assert.equal(describeSync(r), 'mesh: 10.240.3.0/24 on 192.0.2.1 (flannel.1 02:00:00:00:00:03 via eth0, lease until 2030-01-01T00:00:00.000Z), 1 peer(s) (+10.240.4.0/24)');
    assert.equal(describePeers({network: 'mesh', peers: [], changes: {added: [], removed: ['10.240.4.0/24']}}), 'mesh: 0 peer(s) (-10.240.4.0/24)');
  });
});
