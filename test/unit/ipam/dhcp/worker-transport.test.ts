import {strict as assert} from 'node:assert';
import {WorkerTransport} from '../../../../src/ipam/dhcp/worker-transport.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';

/**
 * Only what happens before the worker is started: the interface is looked up
 * (and brought up) through the runner, and a failure there ends open() with
 * the words the lease manager recognises. Starting the worker needs nsenter
 * and a namespace: the DHCP integration tests cover it.
 */
const NS = ['nsenter', '--net=/run/netns/c1', '--'];
const SHOW = [...NS, 'ip', '-j', '-d', 'link', 'show', 'dev', 'eth1'];

describe('ipam/dhcp/worker-transport WorkerTransport.open before the worker starts', () => {
  it('a missing interface is "error looking up" it, and no worker is started', async () => {
    const r = new FakeRunner([{argv: SHOW, reply: {exitCode: 1, stderr: 'Device "eth1" does not exist.\n'}}]);
    await assert.rejects(WorkerTransport.open('/run/netns/c1', 'eth1', r), {message: 'error looking up "eth1": Link not found'});
    r.assertDone();
  });

  it("a lookup that fails otherwise says so in the command's own words", async () => {
    const r = new FakeRunner([{argv: SHOW, reply: {exitCode: 1, stderr: 'Cannot open netlink socket: Permission denied\n'}}]);
    await assert.rejects(WorkerTransport.open('/run/netns/c1', 'eth1', r), {
      message: 'error looking up "eth1": Cannot open netlink socket: Permission denied',
    });
    r.assertDone();
  });

  it('an interface that is down is brought up first; failing that is a lookup error too', async () => {
    const r = new FakeRunner([
      {argv: SHOW, reply: {stdout: '[{"ifindex":3,"ifname":"eth1","flags":["BROADCAST","MULTICAST"],"address":"02:00:00:00:00:07"}]\n'}},
      {
        argv: [...NS, 'ip', 'link', 'set', 'dev', 'eth1', 'up'],
        reply: {exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted\n'},
      },
    ]);
    await assert.rejects(WorkerTransport.open('/run/netns/c1', 'eth1', r), {
      message: 'error looking up "eth1": RTNETLINK answers: Operation not permitted',
    });
    r.assertDone();
  });
});
