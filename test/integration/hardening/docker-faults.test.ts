import {strict as assert} from 'node:assert';
import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {cli, CLI_BIN, type CliResult} from '../../helpers/cli.js';
import {assertDockerTestBed, docker, TestContainers} from '../../helpers/docker.js';
import {DockerProxy} from '../../helpers/docker-proxy.js';
import {iptablesLines, rc, sh} from '../../helpers/host.js';

/**
 * Docker faults against the real engine and the real CLI: a container that
 * stops between its lookup and the attach (CNI_DOCKER_PAUSE_AFTER holds the
 * attach right after target resolution), Docker cut mid-run (a unix-socket
 * proxy the test closes), and two `watch` services.
 * Reserved: containers thf-*, netns thf-*, links thf*, network thfnet,
 * 10.220.0.0/24, /tmp/thf-*.
 */
const NET = 'thfnet';
const BRIDGE = 'thfbr0';
const STORE = `/var/lib/cni/networks/${NET}`;
const DEAD_DOCKER = 'unix:///tmp/thf-no-such-dir/docker.sock';

const reservations = (): string[] =>
  existsSync(STORE) ? readdirSync(STORE).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.')) : [];
const files = (dir: string, id: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.includes(`-${id}-`)) : []);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errorLines = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('pause-hook:'));

/** Nothing of `id` is left on the host: reservation, cache, metadata, veth, masquerade rule. */
async function assertNothingFor(id: string): Promise<void> {
  assert.deepEqual(reservations(), [], 'no address reserved');
  assert.deepEqual(files('/var/lib/cni/results', id), [], 'no cache file');
  assert.deepEqual(files('/var/lib/cni-docker/attachments', id), [], 'no metadata');
  assert.deepEqual(await iptablesLines(new RegExp(`name: \\\\"${NET}\\\\"`)), [], 'no masquerade rule');
  const ports = (JSON.parse(await sh('ip', '-j', 'link')) as {ifname: string; master?: string}[]).filter((l) => l.master === BRIDGE);
  assert.deepEqual(ports, [], 'no veth on the bridge');
}

/** The CLI held at a pause point: wait for it to get there, change the world, let it go. */
class Paused {
  readonly done: Promise<CliResult>;
  private stderr = '';
  private stdout = '';
  private readonly child: ChildProcess;

  constructor(
    args: string[],
    private readonly gate: string,
    step: string,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(CLI_BIN, args, {
      env: {...process.env, ...env, CNI_DOCKER_PAUSE_AFTER: `${step}=${gate}`},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.done = new Promise((resolve) =>
      this.child.on('close', (code) => resolve({code: code ?? -1, stdout: this.stdout, stderr: this.stderr})),
    );
  }

  async paused(): Promise<void> {
    const end = Date.now() + 30_000;
    while (!this.stderr.includes('pause-hook: paused')) {
      if (this.child.exitCode !== null || Date.now() > end) throw new Error(`never reached the pause point: ${this.stdout}${this.stderr}`);
      await sleep(20);
    }
  }

  resume(): Promise<CliResult> {
    writeFileSync(this.gate, '');
    return this.done;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

describe('Docker faults (real engine, real CLI)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('thf-');
  let tmp = '';
  let conf = '';
  let gates = 0;
  const gate = (): string => path.join(tmp, `gate${gates++}`);
  const running: Paused[] = [];
  const ids: string[] = [];
  const run = async (suffix: string): Promise<{id: string; name: string}> => {
    const c = await containers.run({suffix});
    ids.push(c.id);
    return c;
  };

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/thf-');
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: {type: 'host-local', subnet: '10.220.0.0/24'},
      }),
    );
  });

  after(async () => {
    for (const p of running) p.kill();
    // Anything a failed test left attached: detach from our state (never a broad gc of shared state).
    for (const id of ids) await rc(CLI_BIN, 'detach', id);
    await containers.removeAll();
    for (const ns of ['thf-n1', 'thf-n2']) {
      await rc(CLI_BIN, 'detach', '--netns', `/var/run/netns/${ns}`);
      await rc('ip', 'netns', 'del', ns);
    }
    await rc('ip', 'link', 'del', BRIDGE);
    rmSync(STORE, {recursive: true, force: true});
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  describe('a container that stops between lookup and attach', () => {
    for (const how of ['kill', 'rm -f'] as const) {
      for (const ifname of [[], ['--ifname', 'eth1']]) {
        it(`docker ${how} after the lookup${ifname.length ? ' (with --ifname)' : ''}: one-line error naming it, exit 1, nothing reserved`, async () => {
          const c = await run(`stop${how === 'kill' ? 'k' : 'r'}${ifname.length}`);
          const p = new Paused(['attach', c.name, '--conf', conf, ...ifname], gate(), 'attach:targets');
          running.push(p);
          await p.paused();
          await docker(...how.split(' '), c.name);
          if (how === 'kill') await docker('wait', c.name);
          const r = await p.resume();
          assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
          const lines = errorLines(r);
          assert.equal(lines.length, 1, `one line: ${r.stderr}`);
          assert.match(lines[0], new RegExp(`${c.name}.*no longer running.*nothing was attached`));
          assert.doesNotMatch(lines[0], /nsenter|reassociate/);
          await assertNothingFor(c.id);
        });
      }
    }

    it('a plain netns deleted after it was resolved: one-line error, exit 1, nothing reserved', async () => {
      await rc('ip', 'netns', 'del', 'thf-n2');
      await sh('ip', 'netns', 'add', 'thf-n2');
      const p = new Paused(['attach', '--netns', '/var/run/netns/thf-n2', '--conf', conf, '--ifname', 'eth1'], gate(), 'attach:targets');
      running.push(p);
      await p.paused();
      await sh('ip', 'netns', 'del', 'thf-n2');
      const r = await p.resume();
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.deepEqual(errorLines(r).length, 1, r.stderr);
      assert.match(errorLines(r)[0], /network namespace thf-n2 was deleted.*nothing was attached/);
      await assertNothingFor('thf-n2');
    });
  });

  describe('Docker unreachable', () => {
    it('attach and detach of a plain --netns target never need Docker', async () => {
      await rc('ip', 'netns', 'del', 'thf-n1');
      await sh('ip', 'netns', 'add', 'thf-n1');
      const env = {DOCKER_HOST: DEAD_DOCKER};
      const a = await cli(['attach', '--netns', '/var/run/netns/thf-n1', '--conf', conf, '--json'], env);
      assert.equal(a.code, 0, a.stderr);
      const [att] = (JSON.parse(a.stdout) as {done: {addresses: string[]}[]}).done;
      assert.match(att.addresses[0], /^10\.220\.0\.\d+\/24$/);
      assert.equal(reservations().length, 1);
      const d = await cli(['detach', '--netns', '/var/run/netns/thf-n1'], env);
      assert.equal(d.code, 0, d.stderr);
      await assertNothingFor('thf-n1');
      await sh('ip', 'netns', 'del', 'thf-n1');
    });

    it('cut after the lookup: attach completes; list says "unknown" and exits 0; detach of a removed container works from our state', async () => {
      const proxy = new DockerProxy(path.join(tmp, 'docker.sock'));
      await proxy.open();
      const env = {DOCKER_HOST: proxy.dockerHost};
      const c = await run('cut');
      try {
        const p = new Paused(['attach', c.name, '--conf', conf, '--json'], gate(), 'attach:targets', env);
        running.push(p);
        await p.paused();
        await proxy.cut();
        const a = await p.resume();
        assert.equal(a.code, 0, a.stderr);
        const [att] = (JSON.parse(a.stdout) as {done: {ifname: string; addresses: string[]}[]}).done;
        const sandbox = (await containers.inspect(c.id)).NetworkSettings.SandboxKey;
        assert.match(
          await sh('nsenter', `--net=${sandbox}`, 'ip', '-4', 'addr', 'show', att.ifname),
          new RegExp(`inet ${att.addresses[0]}`),
        );
      } finally {
        await proxy.cut();
      }

      const l = await cli(['list', '--json'], env);
      assert.equal(l.code, 0, l.stderr);
      const mine = (JSON.parse(l.stdout) as {containerId: string; state: string; container: string}[]).filter(
        (e) => e.containerId === c.id,
      );
      assert.deepEqual(
        mine.map((e) => [e.container, e.state]),
        [[c.name, 'unknown']],
      );

      await docker('rm', '-f', c.name);
      const d = await cli(['detach', c.name], env);
      assert.equal(d.code, 0, d.stderr + d.stdout);
      await assertNothingFor(c.id);
    });
  });

  describe('two watch services', () => {
    // Docker is unreachable for both, so neither reconciles the shared state:
    // the first holds the lock and retries; the second must refuse at once.
    const startWatch = (): {child: ChildProcess; log: () => string; exited: Promise<number | null>} => {
      const child = spawn(CLI_BIN, ['watch'], {env: {...process.env, DOCKER_HOST: DEAD_DOCKER}, stdio: ['ignore', 'pipe', 'pipe']});
      let log = '';
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      return {child, log: () => log, exited};
    };
    const retrying = async (w: ReturnType<typeof startWatch>): Promise<void> => {
      const end = Date.now() + 20_000;
      while (!/Docker event stream unavailable/.test(w.log())) {
        if (w.child.exitCode !== null || Date.now() > end) throw new Error(`watch did not start: ${w.log()}`);
        await sleep(25);
      }
    };
    const watches: ReturnType<typeof startWatch>[] = [];
    after(() => {
      for (const w of watches) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    });

    it('the second exits non-zero with a one-line error while the first runs; after the first stops, a new one starts', async () => {
      const first = startWatch();
      watches.push(first);
      await retrying(first);

      const second = await cli(['watch'], {DOCKER_HOST: DEAD_DOCKER});
      assert.notEqual(second.code, 0);
      const lines = second.stderr.split('\n').filter((x) => x.trim());
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0], /another cni-docker watch is already running \(.*watch\.lock is locked\)/);
      assert.equal(first.child.exitCode, null, 'the first watch still runs');

      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0, first.log());
      const third = startWatch();
      watches.push(third);
      await retrying(third);
      third.child.kill('SIGTERM');
      assert.equal(await third.exited, 0, third.log());
    });
  });
});
