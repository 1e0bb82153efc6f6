import {strict as assert} from 'node:assert';
import {runSkel, type CniFuncs, type SkelOutput} from '../../../src/cni/skel.js';
import type {CmdArgs} from '../../../src/cni/types.js';

const calls: [string, CmdArgs][] = [];
const fake: CniFuncs = {
  add: async (a) => {
    calls.push(['ADD', a]);
    return {
      cniVersion: '1.1.0',
      interfaces: [{name: 'eth0', sandbox: a.netns}],
      ips: [{interface: 0, address: '10.210.0.2/24', gateway: '10.210.0.1'}],
    };
  },
  del: async (a) => void calls.push(['DEL', a]),
  check: async (a) => void calls.push(['CHECK', a]),
};
const l2: CniFuncs = {...fake, add: async () => ({cniVersion: '1.1.0', interfaces: [{name: 'eth0'}]})};
const failing: CniFuncs = {
  ...fake,
  del: async () => {
    throw new Error('boom <1>');
  },
};
const load = async (t: string): Promise<CniFuncs | undefined> => ({fake, l2, failing})[t as 'fake'];

const ENV = {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/tcore-x', CNI_IFNAME: 'eth0', CNI_PATH: '/a:/b'};
const conf = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({cniVersion: '1.0.0', name: 'tcorenet', type: 'fake', ...extra});

function code(out: SkelOutput): number {
  assert.equal(out.exitCode, 1, `expected failure, got ${out.stdout}`);
  return (JSON.parse(out.stdout) as {code: number}).code;
}

describe('skel dispatcher', () => {
  beforeEach(() => (calls.length = 0));

  it('ADD renders the result for the config version and passes CmdArgs through', async () => {
    const out = await runSkel({...ENV, CNI_ARGS: 'IgnoreUnknown=1'}, conf({cniVersion: '0.4.0'}), load);
    assert.equal(out.exitCode, 0);
    assert.equal(
      out.stdout,
      '{\n    "cniVersion": "0.4.0",\n    "interfaces": [\n        {\n            "name": "eth0",\n            "sandbox": "/var/run/netns/tcore-x"\n        }\n    ],\n    "ips": [\n        {\n            "version": "4",\n            "interface": 0,\n            "address": "10.210.0.2/24",\n            "gateway": "10.210.0.1"\n        }\n    ],\n    "dns": {}\n}',
    );
    assert.deepEqual(calls[0][1], {
      containerId: 'c1',
      netns: '/var/run/netns/tcore-x',
      ifname: 'eth0',
      args: 'IgnoreUnknown=1',
      path: ['/a', '/b'],
      stdin: conf({cniVersion: '0.4.0'}),
    });
  });

  it('no cniVersion means a 0.1.0 result', async () => {
    const out = await runSkel(ENV, JSON.stringify({name: 'n', type: 'fake'}), load);
    assert.match(out.stdout, /"cniVersion": "0.1.0",\n {4}"ip4"/);
  });

  it('VERSION ignores stdin and answers the supported list', async () => {
    const out = await runSkel({CNI_COMMAND: 'VERSION'}, 'not json', load);
    assert.deepEqual(out, {
      stdout: '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
      exitCode: 0,
    });
  });

  it('an empty CNI_COMMAND prints the about text to stderr and succeeds', async () => {
    const out = await runSkel({}, '', load, {name: 'bridge'});
    assert.equal(out.exitCode, 0);
    assert.equal(out.stdout, '');
    assert.equal(
      out.stderr,
      'CNI bridge plugin version unknown\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n',
    );
  });

  it('missing env is code 4 listing every missing name in order', async () => {
    const out = await runSkel({CNI_COMMAND: 'ADD', CNI_PATH: '/x'}, conf(), load);
    assert.deepEqual(JSON.parse(out.stdout), {code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing'});
    // DEL does not need CNI_NETNS
    assert.equal((await runSkel({...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: ''}, conf(), load)).exitCode, 0);
    assert.equal(calls[0][0], 'DEL');
  });

  it('config errors: code 6 bad JSON, code 7 missing/invalid name', async () => {
    assert.equal(code(await runSkel(ENV, '{bad', load)), 6);
    assert.equal(code(await runSkel(ENV, '', load)), 6);
    assert.equal(code(await runSkel(ENV, JSON.stringify({cniVersion: '1.0.0'}), load)), 7);
    const bad = await runSkel(ENV, conf({name: 'x<&>'}), load);
    assert.equal(
      bad.stdout,
      '{\n    "code": 7,\n    "msg": "invalid characters found in network name",\n    "details": "x\\u003c\\u0026\\u003e"\n}',
    );
  });

  it('code 4 for a bad container id or ifname, before the plugin runs', async () => {
    assert.equal(code(await runSkel({...ENV, CNI_CONTAINERID: 'a/b'}, conf(), load)), 4);
    assert.equal(code(await runSkel({...ENV, CNI_IFNAME: 'cfwaytoolongifnam'}, conf(), load)), 4);
    assert.equal(code(await runSkel({...ENV, CNI_COMMAND: 'FOO'}, conf(), load)), 4);
    assert.equal(calls.length, 0);
  });

  it('code 1 for an unsupported version, CHECK below 0.4.0 and GC/STATUS below 1.1.0', async () => {
    const v = await runSkel(ENV, conf({cniVersion: '0.9.9'}), load);
    assert.equal(code(v), 1);
    assert.match(v.stdout, /plugin supports \[\\"0.1.0\\" .* \\"1.1.0\\"\]/);
    assert.equal(code(await runSkel({...ENV, CNI_COMMAND: 'CHECK'}, conf({cniVersion: '0.3.1'}), load)), 1);
    assert.equal(code(await runSkel({CNI_COMMAND: 'GC', CNI_PATH: '/x'}, conf(), load)), 1);
    assert.equal(code(await runSkel({...ENV, CNI_COMMAND: 'CHECK'}, conf({cniVersion: 'abc'}), load)), 6);
    assert.equal(calls.length, 0);
  });

  it('GC and STATUS at 1.1.0 need only CNI_PATH and succeed silently without a handler', async () => {
    for (const cmd of ['GC', 'STATUS']) {
      assert.deepEqual(await runSkel({CNI_COMMAND: cmd, CNI_PATH: '/x'}, conf({cniVersion: '1.1.0'}), load), {stdout: '', exitCode: 0});
    }
  });

  it('the wrapper name beats the config type (an IPAM binary gets the parent config)', async () => {
    const out = await runSkel(ENV, conf({type: 'bridge'}), load, {name: 'fake'});
    assert.equal(out.exitCode, 0);
    assert.equal(calls[0][0], 'ADD');
  });

  it('plugin errors are code 999 with the message; 0.2.0 L2 results cannot be converted', async () => {
    const out = await runSkel({...ENV, CNI_COMMAND: 'DEL'}, conf({type: 'failing'}), load);
    assert.equal(out.stdout, '{\n    "code": 999,\n    "msg": "boom \\u003c1\\u003e"\n}');
    const l2out = await runSkel(ENV, conf({type: 'l2', cniVersion: '0.2.0'}), load);
    assert.deepEqual(JSON.parse(l2out.stdout), {code: 999, msg: 'cannot convert: no valid IP addresses'});
  });

  it('CHECK at 0.4.0 calls the plugin and prints nothing', async () => {
    assert.deepEqual(await runSkel({...ENV, CNI_COMMAND: 'CHECK'}, conf({cniVersion: '0.4.0'}), load), {stdout: '', exitCode: 0});
    assert.equal(calls[0][0], 'CHECK');
  });
});
