import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {assertRoot} from '../../helpers/docker.js';

/**
 * Concurrency on one bridge network `thdnet` (thdbr0, 10.217.0.0/24) with
 * temp state dirs: 20 attach processes at once, and attach/detach races.
 * Targets are plain namespaces thd-c<N> (the worker attaches with --netns).
 */
const run = promisify(execFile);
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'attach-worker.js');
const N = 20;

interface WorkerOut {
  code: number;
  out: {done?: {addresses: string[]}[]; failures?: unknown[]; error?: string};
}

async function worker(env: NodeJS.ProcessEnv, ...args: string[]): Promise<WorkerOut> {
  try {
    const {stdout} = await run(process.execPath, [WORKER, ...args], {env});
    return {code: 0, out: JSON.parse(stdout)};
  } catch (err) {
    const e = err as {code?: number; stdout?: string};
    return {code: e.code ?? -1, out: e.stdout ? JSON.parse(e.stdout) : {}};
  }
}

async function sh(file: string, ...args: string[]): Promise<string> {
  return (await run(file, args)).stdout;
}

describe('hardening: concurrent attach/detach (integration)', function () {
  this.timeout(120000);
  let tmp: string;
  let conf: string;
  let env: NodeJS.ProcessEnv;
  const netnses = Array.from({length: N}, (_, i) => `thd-c${i}`);

  before(async () => {
    assertRoot();
    tmp = mkdtempSync(path.join(tmpdir(), 'thd-conc-'));
    conf = path.join(tmp, 'thdnet.conflist');
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'thdnet',
        plugins: [
          {
            type: 'bridge',
            bridge: 'thdbr0',
            isGateway: true,
            ipam: {type: 'host-local', subnet: '10.217.0.0/24', dataDir: path.join(tmp, 'data')},
          },
        ],
      }),
    );
    env = {
      ...process.env,
      THD_PATHS: JSON.stringify({
        networksDir: path.join(tmp, 'networks'),
        cacheDir: path.join(tmp, 'cache'),
        stateDir: path.join(tmp, 'state'),
      }),
    };
    for (const n of netnses) await sh('ip', 'netns', 'add', n);
  });

  after(async () => {
    for (const n of netnses) await sh('ip', 'netns', 'del', n).catch(() => undefined);
    await sh('ip', 'link', 'del', 'thdbr0').catch(() => undefined);
    await sh('iptables', '-D', 'CNI-DOCKER-FORWARD', '-i', 'thdbr0', '-j', 'ACCEPT').catch(() => undefined);
    await sh('iptables', '-D', 'CNI-DOCKER-FORWARD', '-o', 'thdbr0', '-j', 'ACCEPT').catch(() => undefined);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  const reserved = (): string[] =>
    existsSync(path.join(tmp, 'data', 'thdnet')) ? readdirSync(path.join(tmp, 'data', 'thdnet')).filter((f) => /^10\./.test(f)) : [];
  const cached = (): string[] => (existsSync(path.join(tmp, 'cache', 'results')) ? readdirSync(path.join(tmp, 'cache', 'results')) : []);

  it(`${N} attach processes started together get ${N} distinct addresses; detaching all frees them`, async () => {
    const outs = await Promise.all(netnses.map((n) => worker(env, 'attach', conf, `/var/run/netns/${n}`)));
    for (const o of outs) assert.equal(o.code, 0, JSON.stringify(o.out));
    const addrs = outs.map((o) => o.out.done![0].addresses[0]);
    assert.equal(new Set(addrs).size, N, `duplicate addresses: ${addrs.join(' ')}`);
    assert.equal(reserved().length, N);
    const inNs = await Promise.all(
      netnses.map(
        async (n) =>
          JSON.parse(await sh('ip', '-n', n, '-j', 'addr', 'show', 'dev', 'eth1'))[0].addr_info.find(
            (a: {family: string}) => a.family === 'inet',
          ).local,
      ),
    );
    assert.deepEqual(inNs.sort(), addrs.map((a) => a!.split('/')[0]).sort());
    const dels = await Promise.all(netnses.map((n) => worker(env, 'detach', conf, `/var/run/netns/${n}`)));
    for (const o of dels) assert.equal(o.code, 0, JSON.stringify(o.out));
    assert.deepEqual(reserved(), []);
    assert.deepEqual(cached(), []);
  });

  it('attach and detach of one namespace racing end attached-with-cache or fully detached (10 rounds)', async () => {
    const ns = netnses[0];
    for (const n of netnses) await worker(env, 'detach', conf, `/var/run/netns/${n}`);
    for (let round = 0; round < 10; round++) {
      await Promise.all([worker(env, 'attach', conf, `/var/run/netns/${ns}`), worker(env, 'detach', conf, `/var/run/netns/${ns}`)]);
      const link = await sh('ip', '-n', ns, '-j', 'link', 'show', 'dev', 'eth1').catch(() => '');
      const attached = cached().length === 1 && reserved().length === 1 && link !== '';
      const detached = cached().length === 0 && reserved().length === 0 && link === '';
      assert.ok(
        attached || detached,
        `round ${round}: cache ${cached().join(',')} reserved ${reserved().join(',')} link ${link ? 'present' : 'absent'}`,
      );
      if (attached) assert.equal((await worker(env, 'detach', conf, `/var/run/netns/${ns}`)).code, 0);
      assert.deepEqual([cached(), reserved()], [[], []]);
    }
  });
});
