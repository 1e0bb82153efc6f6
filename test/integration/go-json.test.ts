import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {CLI_BIN} from '../helpers/cli.js';
import {REF} from '../helpers/reference.js';

/**
 * Configs that every plugin refuses while decoding, before it touches
 * anything: our plugins (through `cni-docker plugin`) must answer with the
 * reference's message, word for word, and its code (or, where the reference
 * answers the generic 999, a well-known one, as the conformance harness
 * allows). The netns never exists, and every bridge is named so that the
 * kernel would refuse to make it.
 */
const ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'tgjctr',
  CNI_NETNS: '/var/run/netns/tgj-none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: REF,
  PATH: process.env.PATH ?? '',
};

interface Answer {
  rc: number;
  code?: number;
  msg?: string;
}

function answer(file: string, args: string[], stdin: string): Answer {
  const r = spawnSync(file, args, {input: stdin, env: ENV, encoding: 'utf8'});
  const out = (r.stdout ?? '').trim();
  const o = out ? (JSON.parse(out) as {code?: number; msg?: string}) : {};
  return {rc: r.status ?? 1, code: o.code, msg: o.msg};
}

const bridge = (extra: string) => `{"cniVersion":"0.4.0","name":"tgjnet","type":"bridge","bridge":"tgj/x"${extra}}`;
const macvlan = (extra: string) => `{"cniVersion":"0.4.0","name":"tgjnet","type":"macvlan"${extra}}`;
const hostLocal = (ipam: string, top = '') =>
  `{"cniVersion":"0.4.0","name":"tgjnet","type":"host-local"${top},"ipam":{"type":"host-local","dataDir":"/tmp/tgj-none"${ipam}}}`;

const CASES: [string, string][] = [
  ['bridge', bridge(',"vlan":"x"')],
  ['bridge', bridge(',"vlan":5000,"VLAN":6000')],
  ['bridge', bridge(',"VLAN":6000,"vlan":5000')],
  ['bridge', bridge(',"vlan":5000,"VLAN":6000,"vlan":5001')],
  ['bridge', bridge(',"vlan":5000,"VLAN":null')],
  ['bridge', bridge(',"vlan":1.0')],
  ['bridge', bridge(',"vlan":1e3')],
  ['bridge', bridge(',"mtu":"x","vlan":"y"')],
  ['bridge', bridge(',"vlan":"y","mtu":"x"')],
  ['bridge', bridge(',"vlan":"x","vlan":5')],
  ['bridge', bridge(',"ipam":{"type":5}')],
  ['bridge', bridge(',"args":{"cni":{"mac":5}}')],
  ['bridge', bridge(',"runtimeConfig":5')],
  ['bridge', bridge(',"dns":{"nameservers":5}')],
  ['bridge', bridge(',"prevResult":5')],
  ['bridge', bridge(',"capabilities":5')],
  ['bridge', '{"cniVersion":"0.4.0","name":"tgjnet","Name":5,"type":"bridge"}'],
  ['macvlan', macvlan(',"master":5')],
  ['macvlan', macvlan(',"mode":5,"mtu":"x"')],
  ['macvlan', macvlan(',"mtu":1.5')],
  ['macvlan', macvlan(',"type":5,"master":"tgjnone"')],
  ['macvlan', macvlan(',"dns":{"domain":5}')],
  ['macvlan', macvlan(',"prevResult":[1]')],
  ['host-local', hostLocal(',"subnet":5')],
  ['host-local', hostLocal(',"rangeStart":5,"subnet":"10.200.0.0/24"')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","routes":[5]')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","routes":[{"dst":5}]')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","routes":[{"dst":"0.0.0.0/0","gw":5}]')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","ranges":[[5]]')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","SUBNET":"10.200.1.0/33"')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","subnet":null')],
  ['host-local', hostLocal(',"subnet":"10.200.0.0/24","gateway":"x"')],
  ['host-local', hostLocal(',"dataDir":5,"subnet":"bad"')],
  ['host-local', hostLocal(',"name":5')],
  ['host-local', hostLocal('', ',"runtimeConfig":{"ipRanges":[[{"subnet":5}]]}')],
  ['host-local', hostLocal('', ',"args":{"cni":{"ips":[5]}}')],
  ['host-local', '{"cniVersion":"0.4.0","name":"tgjnet","ipam":5}'],
];

describe('Go-JSON decoding: our plugins answer as the reference (real binaries)', function () {
  this.timeout(120_000);

  for (const [type, stdin] of CASES) {
    it(`${type} ${stdin}`, () => {
      const ref = answer(`${REF}/${type}`, [], stdin);
      assert.notEqual(ref.rc, 0, `the reference accepted it: ${JSON.stringify(ref)}`);
      const ours = answer(CLI_BIN, ['plugin', type], stdin);
      assert.deepEqual({rc: ours.rc, msg: ours.msg}, {rc: ref.rc, msg: ref.msg});
      assert.ok(
        ours.code === ref.code || (ref.code === 999 && ours.code !== undefined && ours.code < 100),
        `code ${ours.code}, reference ${ref.code}`,
      );
    });
  }
});
