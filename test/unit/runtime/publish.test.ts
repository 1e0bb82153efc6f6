import {strict as assert} from 'node:assert';
import {loadConfList} from '../../../src/cni/config.js';
import {UserError} from '../../../src/errors.js';
import {buildPluginConfig} from '../../../src/runtime/chain.js';
import {
  capabilityArgsFor,
  collides,
  containerV4,
  formatPort,
  mappingsOf,
  parsePublish,
  parsePublishList,
  publishSpec,
  sameMappings,
} from '../../../src/runtime/publish.js';

describe('runtime/publish (--publish)', () => {
  it('parses [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], tcp by default, IPv6 host addresses in brackets', () => {
    assert.deepEqual(parsePublish('18080:8080'), {hostPort: 18080, containerPort: 8080, protocol: 'tcp'});
    assert.deepEqual(parsePublish('53:5353/udp'), {hostPort: 53, containerPort: 5353, protocol: 'udp'});
    assert.deepEqual(parsePublish('127.0.0.1:1:65535/tcp'), {hostPort: 1, containerPort: 65535, protocol: 'tcp', hostIP: '127.0.0.1'});
    assert.deepEqual(parsePublish('[FD00::0001]:80:80'), {hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: 'fd00::1'});
    assert.deepEqual(parsePublish('0.0.0.0:80:80/udp'), {hostPort: 80, containerPort: 80, protocol: 'udp', hostIP: '0.0.0.0'});
  });

  it('refuses every malformed value with one line that names it', () => {
    const bad: [string, RegExp][] = [
      ['8080', /expected \[HOSTIP:\]HOSTPORT:CONTAINERPORT/],
      ['', /expected/],
      ['0:80', /host port "0" is not a port number from 1 to 65535/],
      ['65536:80', /host port "65536"/],
      ['80:99999', /container port "99999"/],
      ['080:80', /host port "080"/],
      ['+80:80', /host port "\+80"/],
      [' 80:80', /host port " 80"/],
      ['80:80/sctp', /protocol "sctp" is not tcp or udp/],
      ['80:80/TCP', /protocol "TCP"/],
      ['80:80/', /protocol ""/],
      ['a.b.c.d:80:80', /host address "a.b.c.d" is not an IP address/],
      ['10.0.0.0/8:80:80', /protocol|not an IP address/],
      ['localhost:80:80', /host address "localhost"/],
      ['fe80::1%eth0:80:80', /in brackets/],
      ['::1:80:80', /in brackets/],
      ['[fe80::1%eth0]:80:80', /not an IP address/],
      ['[1.2.3.4]:80:80', /brackets are for IPv6/],
      ['[::1]80:80', /expected \[HOSTIP\]:HOSTPORT:CONTAINERPORT/],
      ['[::1:80:80', /expected \[HOSTIP\]/],
      ['[::ffff:1.2.3.4]:80:80', /write the IPv4-mapped host address .* as 1\.2\.3\.4/],
      ['1.2.3.4:80:80:80', /in brackets/],
      ['80:80;IP=1', /container port/],
      ['80:80\n/tcp', /container port/],
    ];
    for (const [spec, re] of bad) {
      assert.throws(
        () => parsePublish(spec),
        (err: unknown) =>
          err instanceof UserError &&
          err.exitCode === 1 &&
          !err.message.includes('\n') &&
          err.message.startsWith(`invalid --publish ${JSON.stringify(spec)}: `) &&
          re.test(err.message),
        spec,
      );
    }
  });

  it('refuses two values that claim one host socket, and only those', () => {
    assert.throws(
      () => parsePublishList(['18080:80', '18080:81']),
      /host port 18080\/tcp is already published by --publish 18080->80\/tcp/,
    );
    assert.throws(() => parsePublishList(['0.0.0.0:18080:80', '127.0.0.1:18080:81']), /already published/);
    assert.equal(parsePublishList(['18080:80', '18080:80/udp', '18081:80']).length, 3);
    assert.equal(parsePublishList(['127.0.0.1:18080:80', '127.0.0.2:18080:80', '[::]:18080:80']).length, 3);
  });

  it('collides: same protocol and port, overlapping host addresses', () => {
    const m = (hostIP?: string, hostPort = 80, protocol: 'tcp' | 'udp' = 'tcp') => ({
      hostPort,
      containerPort: 1,
      protocol,
      ...(hostIP ? {hostIP} : {}),
    });
    assert.equal(collides(m(), m('10.0.0.1')), true);
    assert.equal(collides(m('::'), m('fd00::1')), true);
    assert.equal(collides(m('0.0.0.0'), m('fd00::1')), false);
    assert.equal(collides(m('10.0.0.1'), m('10.0.0.2')), false);
    assert.equal(collides(m(), m(undefined, 81)), false);
    assert.equal(collides(m(), m(undefined, 80, 'udp')), false);
  });

  it('gives back the --publish value of a mapping (watch re-attaches with it)', () => {
    for (const spec of ['18080:8080/tcp', '127.0.0.1:53:5353/udp', '[fd00::1]:1:2/tcp'])
      assert.equal(publishSpec(parsePublish(spec)), spec);
  });

  it('compares sets of mappings in any order', () => {
    assert.equal(sameMappings([parsePublish('1:2'), parsePublish('3:4/udp')], [parsePublish('3:4/udp'), parsePublish('1:2')]), true);
    assert.equal(sameMappings([parsePublish('1:2')], [parsePublish('1:3')]), false);
  });

  it('fills portMappings and ips in runtimeConfig only for the plugins that declare them', () => {
    const list = loadConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tpub',
        plugins: [
          {type: 'bridge', capabilities: {ips: true}, ipam: {type: 'host-local'}},
          {type: 'portmap', capabilities: {portMappings: true}},
          {type: 'tuning', capabilities: {portMappings: false}},
        ],
      }),
    );
    const caps = capabilityArgsFor(list, {ip: '10.0.0.5', publish: [parsePublish('18080:8080')]});
    assert.deepEqual(caps, {portMappings: [{hostPort: 18080, containerPort: 8080, protocol: 'tcp'}], ips: ['10.0.0.5']});
    const rc = list.plugins.map(
      (p) => (JSON.parse(buildPluginConfig(list, p, undefined, caps)) as {runtimeConfig?: unknown}).runtimeConfig,
    );
    assert.deepEqual(rc, [{ips: ['10.0.0.5']}, {portMappings: [{containerPort: 8080, hostPort: 18080, protocol: 'tcp'}]}, undefined]);
    const noIps = loadConfList(JSON.stringify({cniVersion: '1.0.0', name: 'tpub', plugins: [{type: 'bridge'}]}));
    assert.equal(
      capabilityArgsFor(noIps, {ip: '10.0.0.5', publish: []}),
      undefined,
      '--ip stays CNI_ARGS only where no plugin declares ips',
    );
  });

  it('reads back only well-formed mappings from a cache entry', () => {
    const caps = {
      portMappings: [
        {hostPort: 18080, containerPort: 8080, protocol: 'tcp'},
        {hostPort: 18081, containerPort: 8081, protocol: 'udp', hostIP: '127.0.0.1'},
        {hostPort: '1 -j ACCEPT', containerPort: 1, protocol: 'tcp'},
        {hostPort: 0, containerPort: 1, protocol: 'tcp'},
        {hostPort: 1, containerPort: 1, protocol: 'icmp'},
        {hostPort: 1, containerPort: 1, protocol: 'tcp', hostIP: '1.2.3.4 -j DROP'},
        null,
      ],
    };
    assert.deepEqual(mappingsOf(caps).map(formatPort), ['18080->8080/tcp', '127.0.0.1:18081->8081/udp']);
    assert.deepEqual(mappingsOf(undefined), []);
    assert.deepEqual(mappingsOf({portMappings: 'x'}), []);
  });

  it('finds the container IPv4 addresses on the interface as portmap does', () => {
    const r = {
      cniVersion: '1.0.0',
      interfaces: [{name: 'br0'}, {name: 'veth1'}, {name: 'eth1', sandbox: '/ns'}, {name: 'eth2', sandbox: '/ns'}],
      ips: [
        {interface: 2, address: '10.0.0.2/24'},
        {interface: 2, address: 'fd00::2/64'},
        {interface: 0, address: '10.0.0.1/24'},
        {interface: 3, address: '10.9.0.2/24'},
        {address: '10.0.0.3/24'},
      ],
    };
    assert.deepEqual(containerV4(r, 'eth1'), ['10.0.0.2', '10.0.0.3']);
  });
});
