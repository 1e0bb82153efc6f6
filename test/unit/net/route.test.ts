import assert from 'node:assert/strict';
import {defaultRouteInterface, delRoute, ensureRoute, parseRoutes, routeAddLine} from '../../../src/net/route.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const NS = ['nsenter', '--net=/run/netns/x', '--'];

describe('net/route', () => {
  it('adds a route as the configure batch writes it: via, metric, table and scope only when given', () => {
    assert.deepEqual(routeAddLine({dst: '0.0.0.0/0', via: '10.1.2.1', dev: 'eth0'}), [
      'route',
      'prepend',
      '0.0.0.0/0',
      'via',
      '10.1.2.1',
      'dev',
      'eth0',
    ]);
    assert.deepEqual(routeAddLine({dst: '10.9.0.0/16', dev: 'eth0', metric: 5, table: 100, scope: 253}), [
      'route',
      'prepend',
      '10.9.0.0/16',
      'dev',
      'eth0',
      'metric',
      '5',
      'table',
      '100',
      'scope',
      '253',
    ]);
  });

  it('parses `ip -j route`: entries without a destination are dropped, missing flags are none', () => {
    assert.deepEqual(parseRoutes([{dst: 'default', gateway: '10.1.2.1', dev: 'eth0'}, {dev: 'x'}, null]), [
      {dst: 'default', gateway: '10.1.2.1', dev: 'eth0', flags: []},
    ]);
    assert.throws(() => parseRoutes({}), /expected a list/);
  });

  it("the default route's interface, IPv4 first, then IPv6", async () => {
    const r = new FakeRunner([
      {argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'main'], reply: {stdout: '[{"dst":"10.0.0.0/8","dev":"x","flags":[]}]'}},
      {
        argv: ['ip', '-j', '-6', 'route', 'show', 'table', 'main'],
        reply: {stdout: '[{"dst":"default","gateway":"fe80::1","dev":"eth6","flags":[]}]'},
      },
    ]);
    assert.equal(await defaultRouteInterface(r), 'eth6');
    r.assertDone();
  });

  it('ensureRoute says whether it added the route; delRoute takes an absent one as deleted', async () => {
    const argv = [...NS, 'ip', 'route', 'add', '255.255.255.255/32', 'dev', 'eth1'];
    const r = new FakeRunner([
      {argv},
      {argv, reply: {exitCode: 2, stderr: 'RTNETLINK answers: File exists\n'}},
      {argv, reply: {exitCode: 1, stderr: 'Cannot find device "eth1"\n'}},
      {
        argv: [...NS, 'ip', 'route', 'del', '255.255.255.255/32', 'dev', 'eth1'],
        reply: {exitCode: 2, stderr: 'RTNETLINK answers: No such process\n'},
      },
    ]);
    assert.equal(await ensureRoute(r, '255.255.255.255/32', 'eth1', '/run/netns/x'), true);
    assert.equal(await ensureRoute(r, '255.255.255.255/32', 'eth1', '/run/netns/x'), false);
    await assert.rejects(ensureRoute(r, '255.255.255.255/32', 'eth1', '/run/netns/x'), {
      name: 'CommandError',
      message: /Cannot find device/,
    });
    await delRoute(r, '255.255.255.255/32', 'eth1', '/run/netns/x');
    r.assertDone();
  });
});
