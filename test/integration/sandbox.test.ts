import {strict as assert} from 'node:assert';
import {execFile} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {assertDockerTestBed, docker, TestContainers, type TestContainer} from '../helpers/docker.js';

const CLI_BIN = fileURLToPath(new URL('../../../bin/cni-docker', import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(CLI_BIN, args, {env: {...process.env, ...env}}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({code, stdout, stderr});
    });
  });
}

/** Exit 1 and exactly one line on stderr, "Error: ...", no stack trace. */
function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

describe('cni-docker sandbox (real engine)', function () {
  this.timeout(60_000);
  const containers = new TestContainers('tfd-');
  let web: TestContainer;

  before(async () => {
    await assertDockerTestBed();
    web = await containers.run({suffix: 'web'});
  });

  after(() => containers.removeAll());

  it('--json equals docker inspect for Id, PID and SandboxKey', async () => {
    const r = await cli(['sandbox', web.name, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    const want = await containers.inspect(web.name);
    assert.equal(got.id, want.Id);
    assert.equal(got.sandboxKey, want.NetworkSettings.SandboxKey);
    assert.match(got.sandboxKey, /^\/var\/run\/docker\/netns\/[0-9a-f]{12}$/);
    assert.equal(got.pid, want.State.Pid);
    assert.equal(got.name, web.name);
    assert.equal(got.running, true);
    assert.equal(got.networkMode, 'none');
  });

  it('prints Id, name, PID and SandboxKey for humans', async () => {
    const want = await containers.inspect(web.name);
    const r = await cli(['sandbox', web.name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Id: +${want.Id}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Name: +${web.name}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^PID: +${want.State.Pid}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^SandboxKey: +${want.NetworkSettings.SandboxKey}$`, 'm'));
  });

  it('resolves the full Id and a unique Id prefix', async () => {
    for (const ref of [web.id, web.id.slice(0, 12)]) {
      const r = await cli(['sandbox', ref, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).id, web.id);
    }
  });

  it('a stopped container: one-line error, exit 1', async () => {
    const stopped = await containers.run({suffix: 'stopped', cmd: ['true']});
    await docker('wait', stopped.name);
    assertOneLineError(await cli(['sandbox', stopped.name]), new RegExp(`container ${stopped.name} is not running \\(status: exited\\)`));
  });

  it('a --net=host container: refused with a one-line error, exit 1', async () => {
    const host = await containers.run({suffix: 'host', net: 'host'});
    assertOneLineError(await cli(['sandbox', host.name]), /host's network namespace \(--net=host\).*would reconfigure the host/);
  });

  it('an unknown name: one-line error, exit 1', async () => {
    assertOneLineError(await cli(['sandbox', 'tfd-no-such-container']), /^Error: no such container: tfd-no-such-container$/);
  });

  it('an ambiguous Id prefix lists the matches, exit 1', async () => {
    // Create (not start) containers until two of ours share a first Id digit.
    const seen = new Map<string, TestContainer>();
    let pair: [TestContainer, TestContainer] | undefined;
    for (let i = 0; i < 17 && !pair; i++) {
      const c = await containers.run({suffix: `amb${i}`, createOnly: true});
      const other = seen.get(c.id[0]);
      if (other) pair = [other, c];
      seen.set(c.id[0], c);
    }
    assert.ok(pair, '17 Ids always share a first hex digit');
    const prefix = pair[0].id[0];
    const r = await cli(['sandbox', prefix]);
    assertOneLineError(r, new RegExp(`Id prefix "${prefix}" is ambiguous`));
    for (const c of pair) assert.ok(r.stderr.includes(`${c.id.slice(0, 12)} (${c.name})`), `lists ${c.name}: ${r.stderr}`);
  });

  it("--net=container:X resolves to X's namespace and says so", async () => {
    const joined = await containers.run({suffix: 'joined', net: `container:${web.name}`});
    const r = await cli(['sandbox', joined.name, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    const owner = await containers.inspect(web.name);
    const self = await containers.inspect(joined.name);
    assert.equal(self.NetworkSettings.SandboxKey, '', 'docker gives the joined container no SandboxKey of its own');
    assert.equal(got.id, joined.id);
    assert.equal(got.pid, self.State.Pid);
    assert.equal(got.sandboxKey, owner.NetworkSettings.SandboxKey);
    assert.deepEqual(got.sharedWith, {id: web.id, name: web.name});
    assert.match(got.note, new RegExp(`--net=container:${web.name}`));
    const human = await cli(['sandbox', joined.name]);
    assert.match(human.stdout, new RegExp(`^Note: .*${web.name}'s network namespace`, 'm'));
  });

  it('Docker unreachable (DOCKER_HOST=unix:///nonexistent.sock): one-line error naming the socket and bin/setup', async () => {
    const r = await cli(['sandbox', web.name], {DOCKER_HOST: 'unix:///nonexistent.sock'});
    assertOneLineError(r, /Docker is unreachable at unix:\/\/\/nonexistent\.sock: no such socket.*sudo bin\/setup/);
  });

  it('--json errors: the typed error on stdout, one line on stderr, exit 1', async () => {
    const r = await cli(['sandbox', 'tfd-no-such-container', '--json']);
    assertOneLineError(r, /no such container/);
    assert.deepEqual(JSON.parse(r.stdout), {error: {kind: 'NoSuchContainerError', message: 'no such container: tfd-no-such-container'}});
  });

  it('a missing argument is a usage error, exit 2', async () => {
    const r = await cli(['sandbox']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Missing 1 required arg/);
  });

  it('cni-docker --help lists the command; sandbox --help shows examples', async () => {
    const root = await cli(['--help']);
    assert.equal(root.code, 0);
    assert.match(
      root.stdout,
      /^ {2}sandbox +Show a running container's Id, PID and network namespace\s+\(e\.g\.\s+cni-docker sandbox web\)/m,
    );
    const own = await cli(['sandbox', '--help']);
    assert.match(own.stdout, /EXAMPLES[\s\S]*\$ cni-docker sandbox web/);
  });
});
