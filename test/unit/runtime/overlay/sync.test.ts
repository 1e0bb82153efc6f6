import {strict as assert} from 'node:assert';
import {planChanges, renewDelayMs} from '../../../../src/runtime/overlay/sync.js';

describe('runtime/overlay/sync (pure parts)', () => {
  it('renews an hour before expiry, or halfway for a lease of two hours or less; never for a reservation', () => {
    const now = 1_000_000;
    assert.equal(renewDelayMs(new Date(now + 24 * 3600_000), now), 23 * 3600_000);
    assert.equal(renewDelayMs(new Date(now + 3600_000), now), 1800_000);
    assert.equal(renewDelayMs(new Date(now + 500), now), 1000, 'at least a second');
    assert.equal(renewDelayMs(undefined, now), undefined);
  });

  it('reads the peers added and removed from a sync plan', () => {
    const plan = {
      ip: [
        ['route', 'del', '10.240.9.0/24', 'dev', 'flannel.1'],
        ['neigh', 'replace', '10.240.4.0', 'lladdr', '02:00:00:00:00:04', 'dev', 'flannel.1', 'nud', 'permanent'],
        ['route', 'replace', '10.240.4.0/24', 'via', '10.240.4.0', 'dev', 'flannel.1', 'onlink'],
      ],
      bridge: [],
    };
    assert.deepEqual(planChanges(plan), {added: ['10.240.4.0/24'], removed: ['10.240.9.0/24']});
  });
});
