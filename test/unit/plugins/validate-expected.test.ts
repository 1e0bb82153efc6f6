import assert from 'node:assert/strict';
import {prefixKey, validateExpectedIps, validateExpectedRoutes} from '../../../src/plugins/validate-expected.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = '/run/netns/x';
const IN_NS = ['nsenter', `--net=${NS}`, '--'];

describe('plugins/validate-expected', () => {
  it('normalises route destinations for CHECK comparisons', () => {
    assert.equal(prefixKey('default', 4), prefixKey('0.0.0.0/0', 4));
    assert.equal(prefixKey('10.213.0.7/24', 4), prefixKey('10.213.0.0/24', 4));
    assert.equal(prefixKey('10.213.0.7', 4), prefixKey('10.213.0.7/32', 4));
    assert.notEqual(prefixKey('10.213.0.0/24', 4), prefixKey('10.213.0.0/25', 4));
  });

  it('finds each address on the interface with a route to its prefix, and each route by destination (and gateway)', async () => {
    const addrs =
      '[{"ifindex":2,"ifname":"net1","flags":[],"addr_info":[{"family":"inet","local":"10.213.0.7","prefixlen":24,"scope":"global"}]}]';
    const routes = '[{"dst":"default","gateway":"10.213.0.1","dev":"net1","flags":[]},{"dst":"10.213.0.0/24","dev":"net1","flags":[]}]';
    const r = new FakeRunner([
      {argv: [...IN_NS, 'ip', '-j', 'addr', 'show', 'dev', 'net1'], reply: {stdout: addrs}},
      {argv: [...IN_NS, 'ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: routes}},
      {argv: [...IN_NS, 'ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: routes}},
      {argv: [...IN_NS, 'ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: routes}},
    ]);
    await validateExpectedIps(r, NS, 'net1', [{address: '10.213.0.7/24', gateway: '10.213.0.1'}]);
    await validateExpectedRoutes(r, NS, [{dst: '0.0.0.0/0', gw: '10.213.0.254'}]);
    await assert.rejects(validateExpectedRoutes(r, NS, [{dst: '1.1.1.1/32', gw: '10.213.0.1'}]), {
      message: 'Expected Route {Dst:{IP:1.1.1.1 Mask:ffffffff} GW:10.213.0.1} not found in routing table',
    });
    r.assertDone();
  });
});
