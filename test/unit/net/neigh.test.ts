import assert from 'node:assert/strict';
import {parsePermanentNeigh} from '../../../src/net/neigh.js';

describe("net/neigh (the overlay's VTEP neighbours)", () => {
  it('keeps permanent IPv4 neighbours with a link-layer address', () => {
    const json = [
      {dst: '10.240.4.0', lladdr: '4a:d9:42:87:e6:52', state: ['PERMANENT']},
      {dst: '10.240.5.0', lladdr: '4a:d9:42:87:e6:53', state: ['REACHABLE']},
      {dst: 'fe80::1', lladdr: '4a:d9:42:87:e6:54', state: ['PERMANENT']},
      {dst: '10.240.6.0', state: ['PERMANENT']},
    ];
    assert.deepEqual(parsePermanentNeigh(json), [{ip: '10.240.4.0', mac: '4a:d9:42:87:e6:52'}]);
  });
});
