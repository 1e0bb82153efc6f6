import {strict as assert} from 'node:assert';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {execFile} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {assertDockerTestBed, TestContainers, type TestContainer} from '../helpers/docker.js';
import {CLI_BIN, type CliResult} from '../helpers/cli.js';
import {iptablesLines, pingFromNetns, quietSync, sh} from '../helpers/host.js';
import type {ServiceStatus} from '../../src/service/server.js';

/**
 * The resident service end to end: `cni-docker service start` on a temporary
 * socket, then attach/detach/list through bin/cni-docker as a user runs them
 * (bin/cni-docker-client talks to the service), against the real engine,
 * namespaces and iptables. Each test checks that the service really served
 * (its request count) or really did not (the hand-backs).
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BRIDGE = 'tsvc0';
const NET = 'tsvc';

function run(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(CLI_BIN, args, {env, cwd, maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr});
    });
  });
}

async function addrs(netns: string): Promise<string[]> {
  const links = JSON.parse(await sh('nsenter', `--net=${netns}`, 'ip', '-j', '-4', 'addr', 'show')) as {addr_info: {local: string; prefixlen: number}[]}[];
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).filter((a) => !a.startsWith('127.'));
}

describe('the resident service (integration)', function () {
  this.timeout(120_000);
  const containers = new TestContainers('tsvc-');
  let tmp: string;
  let sock: string;
  let conf: string;
  let env: NodeJS.ProcessEnv;
  let direct: NodeJS.ProcessEnv;
  let c1: TestContainer;
  let c2: TestContainer;

  const status = async (): Promise<ServiceStatus | undefined> => {
    const r = await run(['service', 'status', '--socket', sock, '--json'], direct);
    const s = JSON.parse(r.stdout) as ServiceStatus & {running: boolean};
    assert.equal(r.code, s.running ? 0 : 1, r.stderr);
    return s.running ? s : undefined;
  };
  const start = async (): Promise<ServiceStatus> => {
    const r = await run(['service', 'start', '--socket', sock, '--log', path.join(tmp, 'service.log'), '--json'], direct);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as ServiceStatus;
  };
  const served = async (): Promise<number> => (await status())!.requests;

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/tsvc-');
    sock = path.join(tmp, 'run', 'service.sock');
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(conf, JSON.stringify({cniVersion: '1.0.0', name: NET, type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: true, ipam: {type: 'host-local', subnet: '10.219.0.0/24', dataDir: path.join(tmp, 'ipam')}}));
    env = {...process.env, CNI_DOCKER_SERVICE_SOCKET: sock};
    direct = {...process.env};
    delete direct.CNI_DOCKER_SERVICE_SOCKET;
    c1 = await containers.run({suffix: 'a'});
    c2 = await containers.run({suffix: 'b'});
  });
  after(async () => {
    if (tmp) {
      await run(['service', 'stop', '--socket', sock], direct);
      // Whatever a failed test left attached on this suite's network.
      await run(['detach', '--all', '--conf', conf], direct);
    }
    await containers.removeAll();
    quietSync('ip', 'link', 'del', BRIDGE);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('starts on a root-only socket and says so; a second start leaves it running', async () => {
    const s = await start();
    assert.equal(s.requests, 0);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(sock)).mode & 0o777, 0o700);
    const again = await run(['service', 'start', '--socket', sock], direct);
    assert.equal(again.code, 0);
    assert.match(again.stdout, new RegExp(`^cni-docker service already running \\(pid ${s.pid}\\) on `));
  });

  it('two attaches at once are served, work, and the containers reach each other across the bridge; detach undoes both', async () => {
    const before = await served();
    const [a, b] = await Promise.all([run(['attach', c1.name, '--conf', conf, '--json'], env), run(['attach', c2.name, '--conf', conf, '--json'], env)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(await served(), before + 2, 'the service did not serve both attaches');
    const ja = JSON.parse(a.stdout) as {done: {addresses: string[]; netns: string}[]};
    const jb = JSON.parse(b.stdout) as {done: {addresses: string[]; netns: string}[]};
    assert.deepEqual(await addrs(ja.done[0].netns), ja.done[0].addresses);
    assert.deepEqual(await addrs(jb.done[0].netns), jb.done[0].addresses);
    assert.equal(await pingFromNetns(ja.done[0].netns, jb.done[0].addresses[0].split('/')[0]), 0, 'no ping across the bridge');
    const listed = await run(['list', '--net', NET, '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as {container: string}[]).map((r) => r.container).sort(), [c1.name, c2.name].sort());
    const d = await run(['detach', c1.name, c2.name, '--conf', conf], env);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.split('\n').filter(Boolean).sort(), [`${c1.name}: detached eth0 from ${NET}`, `${c2.name}: detached eth0 from ${NET}`].sort());
    assert.equal(await served(), before + 4);
    assert.deepEqual(await addrs(ja.done[0].netns), []);
    assert.deepEqual(await iptablesLines(new RegExp(BRIDGE)), [], 'forwarding rules left behind');
  });

  it('prints exactly what the command prints without it: output, errors and exit statuses', async () => {
    const cases: string[][] = [
      ['attach', 'tsvc-no-such-container', '--conf', conf],
      ['attach', c1.name, '--conf', path.join(tmp, 'missing.conf')],
      ['attach', c1.name, '--conf', tmp],
      ['attach', '--netns', '/var/run/netns/tsvc-none', '--conf', conf],
      ['detach', c1.name, '--conf', conf],
      ['attach', c1.name, '--conf', conf, '--ifname', 'bad/name'],
      ['list', '--net', NET, '--json'],
      ['list', '--container', 'tsvc-no-such-container'],
      ['attach', 'tsvc-no-such-container', '--conf', conf, '--json'],
    ];
    const before = await served();
    for (const args of cases) {
      const plain = await run(args, {...direct, CNI_DOCKER_NO_SERVICE: '1'});
      const viaService = await run(args, env);
      assert.deepEqual(viaService, plain, `cni-docker ${args.join(' ')}`);
    }
    assert.equal(await served(), before + cases.length, 'not every case was served');
  });

  it("runs with the caller's working directory and environment, for our code and the plugins it starts", async () => {
    // An external plugin after bridge records its environment and directory.
    const bin = path.join(tmp, 'bin');
    mkdirSync(bin, {recursive: true});
    writeFileSync(path.join(bin, 'recorder'), ['#!/bin/sh', 'env > "$RECORD_DIR/$CNI_COMMAND.env"', 'pwd -P > "$RECORD_DIR/$CNI_COMMAND.cwd"', 'jq -c .prevResult', ''].join('\n'));
    chmodSync(path.join(bin, 'recorder'), 0o755);
    const work = path.join(tmp, 'work');
    mkdirSync(work);
    writeFileSync(path.join(work, 'chain.conflist'), JSON.stringify({cniVersion: '1.0.0', name: NET, plugins: [JSON.parse(readFileSync(conf, 'utf8')), {type: 'recorder'}]}));
    const marker = `svc-${process.pid}`;
    const e = {...env, RECORD_DIR: tmp, TSVC_MARKER: marker, CNI_PATH: `../bin:/usr/lib/cni`, PWD: work};
    const before = await served();
    const a = await run(['attach', c1.name, '--conf', 'chain.conflist'], e, work);
    assert.equal(a.code, 0, a.stderr);
    const d = await run(['detach', c1.name, '--conf', './chain.conflist'], e, work);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(await served(), before + 2);
    for (const cmd of ['ADD', 'DEL']) {
      const recorded = readFileSync(path.join(tmp, `${cmd}.env`), 'utf8');
      assert.match(recorded, new RegExp(`^TSVC_MARKER=${marker}$`, 'm'), `${cmd}: the plugin did not get the caller's environment`);
      assert.equal(readFileSync(path.join(tmp, `${cmd}.cwd`), 'utf8').trim(), work, `${cmd}: the plugin did not run in the caller's directory`);
    }
    const pid = (await status())!.pid;
    assert.ok(!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker), 'the marker came from the service, not the request');
  });

  it('requests of the service and commands of their own on one network at once get distinct addresses, and all of it undoes', async () => {
    const extra = await Promise.all([0, 1, 2, 3].map((i) => containers.run({suffix: `m${i}`})));
    const before = await served();
    const [viaService, own] = await Promise.all([
      run(['attach', c1.name, c2.name, extra[0].name, extra[1].name, '--conf', conf, '--json'], env),
      run(['attach', extra[2].name, extra[3].name, '--conf', conf, '--json'], {...direct, CNI_DOCKER_NO_SERVICE: '1'}),
    ]);
    assert.equal(viaService.code, 0, viaService.stderr);
    assert.equal(own.code, 0, own.stderr);
    assert.equal(await served(), before + 1);
    const done = [viaService, own].flatMap((r) => (JSON.parse(r.stdout) as {done: {addresses: string[]; netns: string}[]}).done);
    const addresses = done.map((d) => d.addresses[0]);
    assert.equal(new Set(addresses).size, 6, `addresses handed out twice: ${addresses.join(' ')}`);
    for (const d of done) assert.deepEqual(await addrs(d.netns), d.addresses);
    const all = [c1, c2, ...extra].map((c) => c.name);
    const [d1, d2] = await Promise.all([run(['detach', ...all.slice(0, 3), '--conf', conf], env), run(['detach', ...all.slice(3), '--conf', conf], {...direct, CNI_DOCKER_NO_SERVICE: '1'})]);
    assert.equal(d1.code, 0, d1.stderr);
    assert.equal(d2.code, 0, d2.stderr);
    for (const d of done) assert.deepEqual(await addrs(d.netns), []);
    assert.deepEqual(await iptablesLines(new RegExp(`${BRIDGE}|10\\.219\\.`)), [], 'rules left behind');
  });

  it('an interrupted client does not interrupt the work: the attach completes and detach undoes it', async () => {
    // A plugin after bridge that takes a second, so the client can be interrupted mid-attach.
    const bin = path.join(tmp, 'slowbin');
    mkdirSync(bin, {recursive: true});
    writeFileSync(path.join(bin, 'slow'), ['#!/bin/sh', 'sleep 1', 'jq -c .prevResult', ''].join('\n'));
    chmodSync(path.join(bin, 'slow'), 0o755);
    const chain = path.join(tmp, 'slow.conflist');
    writeFileSync(chain, JSON.stringify({cniVersion: '1.0.0', name: NET, plugins: [JSON.parse(readFileSync(conf, 'utf8')), {type: 'slow'}]}));
    const e = {...env, CNI_PATH: `${bin}:/usr/lib/cni`};
    const before = await served();
    const child = execFile(CLI_BIN, ['attach', c1.name, '--conf', chain], {env: e});
    const exited = new Promise<number | null>((r) => child.once('exit', (code, signal) => r(signal ? -1 : code)));
    for (let i = 0; i < 100 && (await status())!.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    assert.equal(await exited, -1, 'the client was not interrupted');
    for (let i = 0; i < 200 && (await status())!.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await served(), before + 1);
    const listed = JSON.parse((await run(['list', '--container', c1.name, '--json'], env)).stdout) as {addresses: string[]; netns: string}[];
    assert.equal(listed.length, 1, 'the interrupted attach was not completed');
    assert.deepEqual(await addrs(listed[0].netns), listed[0].addresses);
    const d = await run(['detach', c1.name, '--conf', chain], e);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await addrs(listed[0].netns), []);
  });

  it('doctor reports the running service, as ok', async () => {
    const {serviceCheck} = await import('../../src/runtime/doctor.js');
    const {makeDeps} = await import('../../src/deps.js');
    const c = await serviceCheck(makeDeps({env}));
    assert.equal(c.status, 'ok');
    assert.match(c.message, new RegExp(`^the service runs attach, detach and list \\(pid ${(await status())!.pid}, ${sock}, \\d+ served\\)$`));
  });

  it('a command of another build is handed back and run on its own, and the out-of-date service exits', async () => {
    const file = path.join(ROOT, 'dist/src/service/server.js');
    const st = statSync(file);
    const pid = (await status())!.pid;
    utimesSync(file, st.atime, new Date(st.mtimeMs - 10_000));
    try {
      const r = await run(['list', '--net', NET, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), []);
    } finally {
      utimesSync(file, st.atime, st.mtime);
    }
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!existsSync(`/proc/${pid}`), 'the out-of-date service is still running');
    assert.equal(await status(), undefined);
    assert.ok(!existsSync(sock), 'its socket is still there');
  });

  it('a socket nobody answers on (the service was killed) does not stop the commands', async () => {
    const s = await start();
    process.kill(s.pid, 'SIGKILL');
    for (let i = 0; i < 100 && existsSync(`/proc/${s.pid}`); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(sock), 'the killed service removed its socket');
    const {serviceCheck} = await import('../../src/runtime/doctor.js');
    const {makeDeps} = await import('../../src/deps.js');
    const c = await serviceCheck(makeDeps({env}));
    assert.equal(c.status, 'warn');
    assert.match(c.message, /nothing answers on the service socket/);
    const a = await run(['attach', c2.name, '--conf', conf], env);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`^${c2.name}: attached to ${NET} as eth0 10\\.219\\.0\\.\\d+/24`));
    const d = await run(['detach', c2.name, '--conf', conf], env);
    assert.equal(d.code, 0, d.stderr);
    // A new start replaces the dead socket.
    const again = await start();
    assert.notEqual(again.pid, s.pid);
  });

  it('refuses to start without root or with a log it cannot write, in one line, and starts nothing', async () => {
    const r = await new Promise<CliResult>((resolve) => {
      execFile('su', ['nobody', '-s', '/bin/sh', '-c', `${CLI_BIN} service start --socket /tmp/tsvc-nobody-${process.pid}.sock --log /dev/null`], {env: direct}, (err, stdout, stderr) => {
        resolve({code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr});
      });
    });
    assert.deepEqual(r, {code: 1, stdout: '', stderr: 'Error: the cni-docker service needs root (run it with sudo)\n'});
    assert.ok(!existsSync(`/tmp/tsvc-nobody-${process.pid}.sock`));
    const badLog = await run(['service', 'start', '--socket', path.join(tmp, 'x.sock'), '--log', path.join(conf, 'service.log')], direct);
    assert.deepEqual(badLog, {code: 1, stdout: '', stderr: `Error: cannot open the service log ${conf}/service.log: file already exists\n`});
    assert.ok(!existsSync(path.join(tmp, 'x.sock')));
  });

  it('stop waits for the process to end and removes the socket; status then says it is not running', async () => {
    const pid = (await status())!.pid;
    const r = await run(['service', 'stop', '--socket', sock], direct);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `cni-docker service stopped (pid ${pid})\n`);
    assert.ok(!existsSync(`/proc/${pid}`));
    assert.ok(!existsSync(sock));
    const st = await run(['service', 'status', '--socket', sock], direct);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /^cni-docker service is not running/);
    const {serviceCheck} = await import('../../src/runtime/doctor.js');
    const {makeDeps} = await import('../../src/deps.js');
    assert.deepEqual(await serviceCheck(makeDeps({env})), {check: 'service', status: 'ok', message: 'not running (optional): each command starts its own Node process'});
  });
});
