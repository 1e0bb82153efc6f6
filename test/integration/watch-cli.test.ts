import {strict as assert} from 'node:assert';
import {spawn, type ChildProcessByStdio} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {createInterface} from 'node:readline';
import type {Readable} from 'node:stream';
import {CLI_BIN, cli} from '../helpers/cli.js';
import {assertDockerTestBed, docker} from '../helpers/docker.js';
import {quietSync as quiet, sh} from '../helpers/host.js';

/**
 * `cni-docker watch --json` as a user runs it: one JSON line per action on
 * stdout (oclif's own log() is silent under --json, so this pins that watch
 * writes them itself), its log lines on stderr, and a clean stop on SIGTERM.
 */
const NET = 'twc1';
const BR = 'twcbr0';

interface Action {
  action: string;
  containerId: string;
  network?: string;
  ifname?: string;
  addresses?: string[];
  latencyMs?: number;
}

describe('cni-docker watch --json (integration, real engine)', function () {
  this.timeout(60_000);
  let tmp: string;
  let confDir: string;
  let watcher: ChildProcessByStdio<null, Readable, Readable> | undefined;
  const actions: Action[] = [];
  let stderr = '';
  const name = `twc-${process.pid}`;

  const waitFor = async (what: string, pick: () => Action | undefined): Promise<Action> => {
    const end = Date.now() + 15_000;
    for (;;) {
      const a = pick();
      if (a) return a;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stdout lines: ${JSON.stringify(actions)}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/twc-');
    confDir = path.join(tmp, 'net.d');
    mkdirSync(confDir);
    writeFileSync(
      path.join(confDir, `${NET}.conf`),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        isGateway: true,
        ipam: {type: 'host-local', subnet: '10.222.7.0/24', dataDir: path.join(tmp, 'ipam')},
      }),
    );
  });

  after(async () => {
    watcher?.kill('SIGKILL');
    await docker('rm', '-f', name).catch(() => '');
    await cli(['detach', '--all', '--net', NET, '--conf-dir', confDir]);
    quiet('ip', 'link', 'del', BR);
    rmSync(tmp, {recursive: true, force: true});
  });

  it('prints one JSON line per action: attached on a labelled start, released on docker rm -f; SIGTERM stops it with status 0', async () => {
    watcher = spawn(CLI_BIN, ['watch', '--json'], {env: {...process.env, NETCONFPATH: confDir}, stdio: ['ignore', 'pipe', 'pipe']});
    watcher.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({input: watcher.stdout}).on('line', (line) => actions.push(JSON.parse(line) as Action));
    const end = Date.now() + 15_000;
    while (!/following Docker events/.test(stderr)) {
      if (Date.now() > end || watcher.exitCode !== null) throw new Error(`watch did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const id = await docker(
      'run',
      '-d',
      '--name',
      name,
      '--net=none',
      '--label',
      `cni-docker.networks=${NET}`,
      'cni-docker/busybox:test',
      'sleep',
      '3600',
    );
    const attached = await waitFor('attached', () => actions.find((a) => a.containerId === id && a.action === 'attached'));
    assert.equal(attached.network, NET);
    assert.ok(attached.latencyMs !== undefined && attached.latencyMs >= 0, `latency ${attached.latencyMs}`);
    const sandbox = await docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', id);
    const addr = await sh('nsenter', `--net=${sandbox}`, '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', attached.ifname ?? '');
    assert.ok(attached.addresses?.[0] && addr.includes(attached.addresses[0]), `${addr} lacks ${attached.addresses?.[0]}`);
    await docker('rm', '-f', name);
    await waitFor('released', () => actions.find((a) => a.containerId === id && a.action === 'released'));
    const code = await new Promise<number | null>((resolve) => {
      watcher!.once('exit', (c) => resolve(c));
      watcher!.kill('SIGTERM');
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: stopping/);
  });
});
