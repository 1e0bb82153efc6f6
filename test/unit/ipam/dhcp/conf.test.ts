import {strict as assert} from 'node:assert';
import {parseConf, parseOptionName} from '../../../../src/ipam/dhcp/conf.js';

describe('dhcp conf', () => {
  const args = (ipam: unknown, cniArgs = '') => ({
    containerId: 'c',
    netns: '/n',
    ifname: 'eth0',
    args: cniArgs,
    path: [],
    stdin: JSON.stringify({cniVersion: '1.0.0', name: 'net', type: 'macvlan', ipam}),
  });

  it('parses option names as the reference', () => {
    assert.equal(parseOptionName('host-name'), 12);
    assert.equal(parseOptionName('12'), 12);
    assert.throws(() => parseOptionName('nope'), /Can not parse option "nope"/);
  });

  it('builds the parameter list, provided options and socket override', () => {
    const c = parseConf(
      args(
        {
          type: 'dhcp',
          daemonSocketPath: '/tmp/x.sock',
          request: [{option: 'host-name'}],
          provide: [{option: 'host-name', fromArg: 'K8S_POD_NAME'}],
        },
        'K8S_POD_NAME=web',
      ),
    );
    assert.equal(c.daemonSocketPath, '/tmp/x.sock');
    assert.ok(c.paramList.includes(1) && c.paramList.includes(3) && c.paramList.includes(12));
    assert.equal(c.provide.get(12)?.toString(), 'web');
    const skip = parseConf(args({type: 'dhcp', request: [{option: '42', skipDefault: true}]}));
    assert.deepEqual(skip.paramList, [42]);
    assert.throws(() => parseConf(args({type: 'dhcp', provide: [{option: '12', value: 'x'.repeat(256)}]})), /value too long/);
  });
});
