import {strict as assert} from 'node:assert';
import {loadConfList} from '../../../src/cni/config.js';
import {parseCidrAsWritten} from '../../../src/util/ip.js';
import {overlaps, subnetsOf} from '../../../src/runtime/doctor.js';

describe('doctor helpers', () => {
  it('overlaps: containment either way, same family only', () => {
    const c = (s: string) => parseCidrAsWritten(s)!;
    assert.equal(overlaps(c('172.17.5.0/24'), c('172.17.0.0/16')), true);
    assert.equal(overlaps(c('172.17.0.0/16'), c('172.17.5.0/24')), true);
    assert.equal(overlaps(c('10.215.0.0/24'), c('10.215.1.0/24')), false);
    assert.equal(overlaps(c('10.215.0.0/24'), c('fd00::/8')), false);
  });
  it('subnetsOf: legacy subnet and ranges of host-local plugins, nothing for dhcp', () => {
    const l = loadConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tdo',
        plugins: [
          {
            type: 'bridge',
            ipam: {type: 'host-local', subnet: '10.215.0.0/24', ranges: [[{subnet: '10.215.9.0/24'}], [{subnet: 'fd00:215::/64'}]]},
          },
          {type: 'macvlan', master: 'x', ipam: {type: 'dhcp'}},
        ],
      }),
    );
    assert.deepEqual(subnetsOf(l), ['10.215.0.0/24', '10.215.9.0/24', 'fd00:215::/64']);
  });
});
