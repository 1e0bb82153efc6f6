import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {assertDockerTestBed, TestContainers, type TestContainer} from '../helpers/docker.js';
import {cli, cliJson} from '../helpers/cli.js';
import {rc, sh} from '../helpers/host.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import type {Outcome} from '../../src/runtime/outcome.js';

/**
 * Two --net=none containers on one macvlan master (a veth end the test
 * creates: this kernel has no dummy links), attached with the CLI: in mode
 * bridge they reach each other, in mode private they do not.
 */
const MASTER = 'tmvc0';
const PEER = 'tmvc1';

function conf(dir: string, mode: string): string {
  const file = path.join(dir, `tmvc-${mode}.conf`);
  writeFileSync(
    file,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `tmvc${mode}`,
      type: 'macvlan',
      master: MASTER,
      mode,
      ipam: {type: 'host-local', subnet: '10.213.60.0/24', dataDir: path.join(dir, 'ipam')},
    }),
  );
  return file;
}

describe('macvlan on --net=none containers through the CLI (real engine)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('tmvc-');
  let a: TestContainer;
  let b: TestContainer;
  let dir = '';

  before(async () => {
    await assertDockerTestBed();
    await rc('ip', 'link', 'del', MASTER);
    await sh('ip', 'link', 'add', MASTER, 'type', 'veth', 'peer', 'name', PEER);
    await sh('ip', 'link', 'set', MASTER, 'up');
    await sh('ip', 'link', 'set', PEER, 'up');
    dir = mkdtempSync(path.join(os.tmpdir(), 'tmvc-'));
    a = await containers.run({suffix: 'a'});
    b = await containers.run({suffix: 'b'});
  });

  after(async () => {
    await cli(['detach', a.name, b.name]);
    await containers.removeAll();
    await rc('ip', 'link', 'del', MASTER);
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  for (const [mode, reach] of [
    ['bridge', true],
    ['private', false],
  ] as const) {
    it(`mode ${mode}: the containers ${reach ? 'ping' : 'cannot ping'} each other`, async () => {
      const file = conf(dir, mode);
      const out = await cliJson<Outcome<Attachment>>(['attach', a.name, b.name, '--conf', file]);
      assert.deepEqual(out.failures, []);
      const [ipA, ipB] = out.done.map((x) => x.addresses[0].split('/')[0]);
      assert.match(ipA, /^10\.213\.60\./);
      const sandbox = (await containers.inspect(a.name)).NetworkSettings.SandboxKey;
      const [link] = JSON.parse(await sh('nsenter', `--net=${sandbox}`, 'ip', '-d', '-j', 'link', 'show', 'eth0')) as {
        linkinfo: {info_kind: string; info_data: {mode: string}};
      }[];
      assert.deepEqual([link.linkinfo.info_kind, link.linkinfo.info_data.mode], ['macvlan', mode]);
      const code = await rc('docker', 'exec', b.name, 'ping', '-c', '1', '-W', '2', ipA);
      if (reach) assert.equal(code, 0, `b → a (${ipA}) in mode ${mode}`);
      else assert.notEqual(code, 0, `b must not reach a (${ipA}) in mode ${mode}`);
      assert.equal((await rc('docker', 'exec', a.name, 'ping', '-c', '1', '-W', '2', ipB)) === 0, reach, `a → b in mode ${mode}`);
      const d = await cliJson<Outcome<unknown>>(['detach', a.name, b.name]);
      assert.equal(d.done.length, 2);
    });
  }
});
