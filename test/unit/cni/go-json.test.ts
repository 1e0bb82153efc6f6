import {strict as assert} from 'node:assert';
import {
  decodeGoJson,
  equalFold,
  goAny,
  goBool,
  goInt,
  goMap,
  goPtr,
  goSlice,
  goString,
  goStruct,
  omitEmpty,
  type GoType,
} from '../../../src/cni/go-json.js';
import {parseConf as bridgeConf} from '../../../src/plugins/bridge-conf.js';
import {decodeConf as macvlanConf} from '../../../src/plugins/macvlan.js';
import {parseConf as hostLocalConf} from '../../../src/ipam/host-local/config.js';
import {parseConf as dhcpConf} from '../../../src/ipam/dhcp/conf.js';
import {ipString} from '../../../src/util/ip.js';

/**
 * The Go-JSON reader, rule by rule. Where a case says "(reference)", the
 * expected value or message is what the reference plugins (Debian
 * containernetworking-plugins 1.1.1) answer for that config.
 */
const inner = goStruct('types.IPAM', {type: goString});
const conf = goStruct('main.NetConf', {
  name: goString,
  vlan: goInt,
  mtu: goInt,
  bridge: goString,
  hairpinMode: goBool,
  ipam: inner,
  list: goSlice(goString),
  opt: goPtr(goInt),
  caps: goMap(goBool),
  prev: goAny,
  runtimeConfig: goStruct('struct { Mac string "json:\\"mac,omitempty\\"" }', {mac: goString}),
});
const decode = (text: string) => decodeGoJson(text, conf);
const message = (text: string, type: GoType<unknown> = conf): string => {
  try {
    decodeGoJson(text, type);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('cni/go-json: the Go-JSON reader', () => {
  it('finds a field by exact name, else by the first case-insensitive match', () => {
    assert.equal(decode('{"VLAN":5000}').vlan, 5000); // (reference)
    const twins = goStruct('T', {Foo: goString, foo: goString});
    assert.deepEqual(decodeGoJson('{"foo":"a","Foo":"b"}', twins), {Foo: 'b', foo: 'a'});
    assert.deepEqual(decodeGoJson('{"FOO":"c"}', twins), {Foo: 'c', foo: ''});
  });

  it("folds as Go's EqualFold: ASCII letters either case, ſ for s, the Kelvin sign for k, other characters only themselves", () => {
    assert.ok(equalFold('master', 'MaſTER')); // (reference: macvlan takes "maſter" as master)
    assert.ok(equalFold('linkInContainer', 'LIN\u212aINCONTAINER'));
    assert.ok(!equalFold('dataDir', 'data_Dir'));
    assert.ok(!equalFold('ipam', 'ıpam'));
    assert.ok(!equalFold('a1', 'a!'));
  });

  it('applies members in document order: of keys naming one field the last wins, duplicates included', () => {
    assert.equal(decode('{"vlan":5000,"VLAN":6000}').vlan, 6000); // (reference)
    assert.equal(decode('{"VLAN":6000,"vlan":5000}').vlan, 5000); // (reference)
    assert.equal(decode('{"vlan":5000,"VLAN":6000,"vlan":5001}').vlan, 5001); // (reference)
  });

  it('merges a struct or map met twice; a slice is replaced', () => {
    const c = decode('{"ipam":{"type":"a"},"IPAM":{},"caps":{"x":true},"caps":{"y":false},"list":["a"],"list":["b"]}');
    assert.deepEqual([c.ipam, c.caps, c.list], [{type: 'a'}, {x: true, y: false}, ['b']]);
  });

  it('null leaves a string, bool, number or struct as it was, and sets a pointer, slice, map or interface to nil', () => {
    assert.equal(decode('{"vlan":5000,"VLAN":null}').vlan, 5000); // (reference)
    assert.equal(decode('{"hairpinMode":true,"hairpinMode":null}').hairpinMode, true); // (reference)
    assert.deepEqual(decodeGoJson('{"bridge":null,"ipam":null}', conf, {...conf.zero(), bridge: 'cni0', ipam: {type: 'x'}}).bridge, 'cni0');
    const c = decode('{"opt":1,"opt":null,"list":["a"],"list":null,"caps":{"x":true},"caps":null,"prev":{"a":1},"prev":null}');
    assert.deepEqual([c.opt, c.list, c.caps, c.prev], [undefined, [], undefined, null]);
    assert.deepEqual(decode('null'), conf.zero());
  });

  it('ignores unknown keys and decodes interface{} as plain data', () => {
    const c = decode('{"unknown":[1,{"a":2}],"prev":{"ips":[{"address":"10.0.0.2/24"}],"n":1.5,"a":1,"a":2}}');
    assert.deepEqual(c.prev, {ips: [{address: '10.0.0.2/24'}], n: 1.5, a: 2});
  });

  it('words a type error as Go does: the JSON kind, the literal of a number that is no int, the innermost struct and the field path', () => {
    const cases: [string, string][] = [
      ['{"vlan":"x"}', 'json: cannot unmarshal string into Go struct field NetConf.vlan of type int'], // (reference)
      ['{"bridge":5}', 'json: cannot unmarshal number into Go struct field NetConf.bridge of type string'], // (reference)
      ['{"vlan":1.5}', 'json: cannot unmarshal number 1.5 into Go struct field NetConf.vlan of type int'], // (reference)
      ['{"vlan":1.0}', 'json: cannot unmarshal number 1.0 into Go struct field NetConf.vlan of type int'], // (reference)
      ['{"vlan":1e3}', 'json: cannot unmarshal number 1e3 into Go struct field NetConf.vlan of type int'], // (reference)
      ['{"vlan":99999999999999999999}', 'json: cannot unmarshal number 99999999999999999999 into Go struct field NetConf.vlan of type int'], // (reference)
      ['{"hairpinMode":"yes"}', 'json: cannot unmarshal string into Go struct field NetConf.hairpinMode of type bool'],
      ['{"ipam":5}', 'json: cannot unmarshal number into Go struct field NetConf.ipam of type types.IPAM'], // (reference)
      ['{"ipam":{"type":5}}', 'json: cannot unmarshal number into Go struct field IPAM.ipam.type of type string'], // (reference)
      ['{"IPAM":{"TYPE":[]}}', 'json: cannot unmarshal array into Go struct field IPAM.ipam.type of type string'],
      ['{"runtimeConfig":{"mac":5}}', 'json: cannot unmarshal number into Go struct field .runtimeConfig.mac of type string'], // (reference)
      [
        '{"runtimeConfig":5}',
        'json: cannot unmarshal number into Go struct field NetConf.runtimeConfig of type struct { Mac string "json:\\"mac,omitempty\\"" }',
      ], // (reference)
      ['{"list":{}}', 'json: cannot unmarshal object into Go struct field NetConf.list of type []string'],
      ['{"list":[true]}', 'json: cannot unmarshal bool into Go struct field NetConf.list of type string'],
      ['{"caps":{"a":1}}', 'json: cannot unmarshal number into Go struct field NetConf.caps of type bool'],
      ['{"opt":"1"}', 'json: cannot unmarshal string into Go struct field NetConf.opt of type int'],
      ['[]', 'json: cannot unmarshal array into Go value of type main.NetConf'],
    ];
    for (const [text, msg] of cases) assert.equal(message(text), msg, text);
  });

  it('reports the earliest type error in document order, even when a later key sets the field well', () => {
    assert.match(message('{"mtu":"x","vlan":"y"}'), /NetConf\.mtu of type int$/); // (reference)
    assert.match(message('{"vlan":"y","mtu":"x"}'), /NetConf\.vlan of type int$/); // (reference)
    assert.match(message('{"vlan":"x","vlan":5}'), /NetConf\.vlan of type int$/); // (reference)
  });

  it('a type that decodes itself ends decoding with its own error, before an earlier type error', () => {
    const cidr: GoType<string> = {
      name: 'types.IPNet',
      zero: () => '',
      decode(node, _prev, st) {
        const s = st.nested(goString, node);
        if (!s.includes('/')) throw new Error(`invalid CIDR address: ${s}`);
        return s;
      },
    };
    const routeFields = goStruct('types.route', {dst: cidr});
    const route: GoType<string> = {name: '*types.Route', zero: () => '', decode: (node, _prev, st) => st.nested(routeFields, node).dst};
    const t = goStruct('allocator.IPAMConfig', {dataDir: goString, subnet: cidr, routes: goSlice(route), plain: goSlice(routeFields)});
    assert.equal(message('{"dataDir":5,"subnet":"bad"}', t), 'invalid CIDR address: bad'); // (reference)
    assert.equal(message('{"subnet":null}', t), 'invalid CIDR address: '); // (reference)
    // its nested decode's type error is reported at the field that holds it
    assert.equal(message('{"subnet":5}', t), 'json: cannot unmarshal number into Go struct field IPAMConfig.subnet of type string');
    assert.equal(
      message('{"routes":[{"dst":5}]}', t),
      'json: cannot unmarshal number into Go struct field IPAMConfig.routes of type string',
    );
    assert.equal(message('{"plain":[{"dst":5}]}', t), 'json: cannot unmarshal number into Go struct field route.plain.dst of type string');
  });

  it('keeps syntax errors in Go words', () => {
    assert.equal(message(''), 'unexpected end of JSON input');
    assert.equal(message('{bad}'), "invalid character 'b' looking for beginning of object key string");
  });

  it('omitEmpty leaves what Go prints for omitempty fields', () => {
    assert.deepEqual(omitEmpty({nameservers: ['a'], domain: '', search: [], options: undefined}), {nameservers: ['a']});
  });
});

describe("cni/go-json: the plugins' configs, as the reference plugins read them", () => {
  const bridge = (extra: string) => `{"cniVersion":"1.0.0","name":"tgj","type":"bridge"${extra}}`;
  const err = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('bridge: the last of vlan/VLAN, null keeping the earlier value, errors worded as the reference', () => {
    assert.equal(
      err(() => bridgeConf(bridge(',"vlan":5000,"VLAN":6000'), '')),
      'invalid VLAN ID 6000 (must be between 0 and 4094)',
    ); // (reference)
    assert.equal(
      err(() => bridgeConf(bridge(',"vlan":5000,"VLAN":null'), '')),
      'invalid VLAN ID 5000 (must be between 0 and 4094)',
    ); // (reference)
    assert.equal(bridgeConf(bridge(',"mtu":1400,"MTU":1500'), '').mtu, 1500);
    assert.equal(
      err(() => bridgeConf(bridge(',"args":{"cni":{"mac":5}}'), '')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field BridgeArgs.args.cni.mac of type string',
    ); // (reference)
    assert.equal(
      err(() => bridgeConf(bridge(',"dns":{"nameservers":5}'), '')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field DNS.dns.nameservers of type []string',
    ); // (reference)
    assert.equal(
      err(() => bridgeConf(bridge(',"capabilities":5'), '')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.capabilities of type map[string]bool',
    ); // (reference)
    assert.equal(
      err(() => bridgeConf(bridge(',"prevResult":5'), '')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.prevResult of type map[string]interface {}',
    ); // (reference)
    assert.deepEqual(bridgeConf(bridge(',"prevResult":{"cniVersion":"0.4.0"},"PREVRESULT":{"cniVersion":"1.0.0"}'), '').prevResult, {
      cniVersion: '1.0.0',
    });
  });

  it('macvlan: the last master wins, ſ included; type errors worded as the reference', () => {
    assert.equal(macvlanConf('{"name":"n","master":"r1none","MASTER":"lo"}').master, 'lo'); // (reference)
    assert.equal(macvlanConf('{"name":"n","MASTER":"lo","master":"r1none"}').master, 'r1none'); // (reference)
    assert.equal(macvlanConf('{"name":"n","maſter":"lo"}').master, 'lo'); // (reference)
    assert.equal(macvlanConf('{"name":"n","master":"lo","master":null}').master, 'lo'); // (reference)
    assert.equal(
      err(() => macvlanConf('{"name":"n","mode":5,"mtu":"x"}')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.mode of type string',
    ); // (reference)
    assert.equal(
      err(() => macvlanConf('{"name":"n","type":5}')),
      'failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.type of type string',
    ); // (reference)
    assert.equal(
      err(() => macvlanConf('{"name":"n","ipam":[]}')),
      'failed to load netconf: json: cannot unmarshal array into Go struct field NetConf.ipam of type types.IPAM',
    ); // (reference)
  });

  it('host-local: its self-decoding types and struct names as the reference words them', () => {
    const hl = (ipam: string, top = '') => `{"cniVersion":"1.0.0","name":"tgj"${top},"ipam":{"type":"host-local"${ipam}}}`;
    const cases: [string, string][] = [
      [hl(',"subnet":5'), 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.subnet of type string'],
      [
        hl(',"rangeStart":5,"subnet":"10.1.0.0/24"'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.rangeStart of type net.IP',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","gateway":true'),
        'json: cannot unmarshal bool into Go struct field IPAMConfig.ipam.gateway of type net.IP',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","routes":5'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type []*types.Route',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","routes":[5]'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type types.route',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","routes":[{"dst":5}]'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type string',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","routes":[{"dst":"0.0.0.0/0","gw":5}]'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type net.IP',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","ranges":[5]'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.ranges of type allocator.RangeSet',
      ],
      [
        hl(',"subnet":"10.1.0.0/24","ranges":[[5]]'),
        'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.ranges of type allocator.Range',
      ],
      [hl(',"name":5'), 'json: cannot unmarshal number into Go struct field IPAMConfig.ipam.Name of type string'],
      [
        hl('', ',"runtimeConfig":{"ipRanges":[[{"subnet":5}]]}'),
        'json: cannot unmarshal number into Go struct field Range.runtimeConfig.ipRanges.subnet of type string',
      ],
      [
        hl('', ',"runtimeConfig":5'),
        'json: cannot unmarshal number into Go struct field Net.runtimeConfig of type struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
      ],
      [hl('', ',"args":{"cni":5}'), 'json: cannot unmarshal number into Go struct field .args.cni of type allocator.IPAMArgs'],
      [hl('', ',"args":{"cni":{"ips":[5]}}'), 'json: cannot unmarshal number into Go struct field IPAMArgs.args.cni.ips of type *ip.IP'],
      [
        '{"cniVersion":"1.0.0","name":"tgj","ipam":5}',
        'json: cannot unmarshal number into Go struct field Net.ipam of type allocator.IPAMConfig',
      ],
      [hl(',"subnet":"10.1.0.0/24","SUBNET":"10.2.0.0/33"'), 'invalid CIDR address: 10.2.0.0/33'],
      [hl(',"dataDir":5,"subnet":"bad"'), 'invalid CIDR address: bad'],
    ];
    for (const [stdin, msg] of cases)
      assert.equal(
        err(() => hostLocalConf(stdin, '')),
        msg,
        stdin,
      ); // (reference, all)
    const c = hostLocalConf(hl(',"subnet":"10.1.0.0/24","rangeStart":null,"routes":null,"ranges":null,"RangeEnd":"10.1.0.9"'), '');
    assert.deepEqual([c.ranges.length, ipString(c.ranges[0][0].rangeEnd), c.routes], [1, '10.1.0.9', []]);
  });

  it('dhcp: its option structs, as the reference words them', () => {
    const dh = (ipam: string) => ({
      containerId: 'c',
      netns: '/n',
      ifname: 'eth0',
      args: '',
      path: [],
      stdin: `{"cniVersion":"1.0.0","name":"tgj","ipam":{"type":"dhcp"${ipam}}}`,
    });
    assert.equal(
      err(() => dhcpConf(dh(',"request":[{"skipDefault":"x"}]'))),
      'failed to load netconf: json: cannot unmarshal string into Go struct field RequestOption.ipam.request.skipDefault of type bool',
    );
    assert.equal(
      err(() => dhcpConf(dh(',"provide":[{"option":5}]'))),
      'failed to load netconf: json: cannot unmarshal number into Go struct field ProvideOption.ipam.provide.option of type main.DHCPOption',
    );
    assert.equal(dhcpConf(dh(',"DaemonSocketPath":"/tmp/tgj.sock"')).daemonSocketPath, '/tmp/tgj.sock');
  });
});
