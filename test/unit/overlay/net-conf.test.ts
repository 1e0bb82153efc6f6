import {strict as assert} from 'node:assert';
import {CniError} from '../../../src/cni/errors.js';
import {parseOverlayConf} from '../../../src/overlay/net-conf.js';

const base = {cniVersion: '1.0.0', name: 'mesh', type: 'overlay', etcdEndpoints: ['http://10.0.0.1:2379']};
const conf = (extra: Record<string, unknown> = {}) => parseOverlayConf(JSON.stringify({...base, ...extra}));

describe('overlay/net-conf (the CNI config of type overlay)', () => {
  it("fills flannel's defaults: prefix /coreos.com/network, bridge cni0, no masquerade, MTU from the uplink", () => {
    const c = conf();
    assert.deepEqual(
      {prefix: c.prefix, bridge: c.bridge, ipMasq: c.ipMasq, mtu: c.mtu, iface: c.iface, publicIP: c.publicIP},
      {prefix: '/coreos.com/network', bridge: 'cni0', ipMasq: false, mtu: undefined, iface: undefined, publicIP: undefined},
    );
    assert.deepEqual(c.etcd.endpoints, ['http://10.0.0.1:2379']);
  });

  it('reads the documented example and the optional keys (Go key matching)', () => {
    const c = conf({
      etcdPrefix: '/mesh/net/',
      bridge: 'mesh0',
      ipMasq: true,
      IFACE: 'eth1',
      publicip: '192.0.2.7',
      mtu: 1400,
      etcdEndpoints: ['https://a:2379', 'https://b:2379'],
      etcdCAFile: '/etc/ca.pem',
      etcdCertFile: '/etc/c.pem',
      etcdKeyFile: '/etc/k.pem',
      etcdUsername: 'u',
      etcdPassword: 'p',
    });
    assert.deepEqual(
      {prefix: c.prefix, bridge: c.bridge, ipMasq: c.ipMasq, iface: c.iface, publicIP: c.publicIP, mtu: c.mtu},
      {prefix: '/mesh/net', bridge: 'mesh0', ipMasq: true, iface: 'eth1', publicIP: '192.0.2.7', mtu: 1400},
    );
    assert.deepEqual(c.etcd, {
      endpoints: ['https://a:2379', 'https://b:2379'],
      tls: {caFile: '/etc/ca.pem', certFile: '/etc/c.pem', keyFile: '/etc/k.pem'},
      username: 'u',
      password: 'p',
    });
  });

  it('refuses hostile or wrong values before anything runs, as one CNI error line', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{etcdEndpoints: []}, /etcdEndpoints is missing/],
      [{etcdEndpoints: ['http://a:2379/v3/kv']}, /only scheme, host and port/],
      [{etcdEndpoints: ['file:///etc/passwd']}, /scheme must be http or https/],
      [{etcdEndpoints: ['http://user:pw@a:2379']}, /credentials do not belong in the URL/],
      [{etcdEndpoints: ['http://a:2379'], etcdCAFile: '/ca.pem'}, /not every endpoint is https/],
      [{etcdUsername: 'u'}, /needs both a user and a password/],
      [{etcdPrefix: 'relative'}, /etcdPrefix: .*must start with \//],
      [{etcdPrefix: '/a/../b'}, /etcdPrefix: .*not '\.' or '\.\.'/],
      [{etcdPrefix: '/a b'}, /etcdPrefix/],
      [{bridge: 'a/b'}, /bridge "a\/b": invalid argument/],
      [{bridge: 'a-very-long-bridge-name'}, /bridge .*numerical result out of range/],
      [{iface: 'eth0 up'}, /iface "eth0 up": invalid argument/],
      [{publicIP: '224.0.0.1'}, /publicIP "224\.0\.0\.1" is not a unicast IPv4 address/],
      [{publicIP: '10.0.0.1; rm -rf /'}, /publicIP/],
      [{mtu: 20}, /mtu 20 is not 68\.\.65535/],
      [{name: '../etc'}, /invalid characters found in network name/],
      [
        {etcdEndpoints: 'http://a:2379'},
        /failed to load netconf: json: cannot unmarshal string into Go struct field NetConf\.etcdEndpoints of type \[\]string/,
      ],
      [{ipMasq: 'yes'}, /failed to load netconf/],
    ];
    for (const [extra, re] of cases) {
      assert.throws(
        () => conf(extra),
        (e: unknown) => e instanceof CniError && re.test(e.message) && !e.message.includes('\n'),
        JSON.stringify(extra),
      );
    }
  });
});
