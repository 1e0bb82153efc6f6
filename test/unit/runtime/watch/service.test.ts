import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import type {DockerEvent, EventStream} from '../../../../src/docker/client.js';
import {makeDeps} from '../../../../src/deps.js';
import {KeyedQueue, watch, EVENT_FILTERS} from '../../../../src/runtime/watch/service.js';
import {acquireWatchLock} from '../../../../src/runtime/state/locks.js';
import {FakeDocker} from '../../../helpers/fake-docker.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';

const silent = {debug: () => undefined, warn: () => undefined};
/**
 * Answers the reads gc makes on each (re)connect, however many there are:
 * empty tables and no nftables masquerade chain. Any other command is unexpected.
 */
const emptyRunner = (): FakeRunner =>
  new FakeRunner(({argv}) => {
    const line = argv.join(' ');
    if (['iptables -w -S', 'iptables-save -t nat', 'ip6tables-save -t nat'].includes(line)) return {};
    if (line === 'nft -j list chain inet cni_plugins_masquerade masq_checks')
      return {exitCode: 1, stderr: 'Error: No such file or directory\n'};
    return undefined;
  });

/** FakeDocker plus a scripted event stream: each connect takes the next outcome. */
class EventsDocker extends FakeDocker {
  connects = 0;
  streams: {emit(e: DockerEvent): void; end(): void}[] = [];
  constructor(private readonly outcomes: ('fail' | 'ok')[]) {
    super([]);
  }
  async events(filters: Record<string, string[]>, onEvent: (e: DockerEvent) => void): Promise<EventStream> {
    assert.deepEqual(filters, EVENT_FILTERS);
    const o = this.outcomes[this.connects++] ?? 'ok';
    if (o === 'fail') throw new Error('connect ECONNREFUSED');
    let end!: () => void;
    const closed = new Promise<void>((r) => (end = r));
    this.streams.push({emit: onEvent, end});
    return {closed, close: end};
  }
}

describe('watch', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/twa-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('KeyedQueue runs one key in order and keeps going after a failure', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const slow =
      (s: string, ms: number, fail = false) =>
      () =>
        new Promise<void>((res, rej) => setTimeout(() => (log.push(s), fail ? rej(new Error(s)) : res()), ms));
    void q.run('a', slow('a1', 20, true));
    void q.run('a', slow('a2', 1));
    void q.run('b', slow('b1', 5));
    await q.idle();
    assert.deepEqual(log, ['b1', 'a1', 'a2']);
  });

  it('reconnects with backoff after failures and after the stream ends, and stops on abort', async () => {
    const docker = new EventsDocker(['fail', 'fail', 'ok', 'ok']);
    const deps = makeDeps({
      runner: emptyRunner(),
      log: silent,
      docker,
      confDir: `${tmp}/conf`,
      paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/c`, stateDir: `${tmp}/s`, dhcpSocket: `${tmp}/d.sock`},
    });
    const ac = new AbortController();
    const infos: string[] = [];
    const run = watch(deps, {signal: ac.signal, backoffMs: {initial: 5, max: 10}, report: {info: (m) => infos.push(m)}});
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(f());
    };
    await until(() => docker.streams.length === 1);
    assert.equal(docker.connects, 3);
    docker.streams[0].end();
    await until(() => docker.streams.length === 2);
    ac.abort();
    await run;
    assert.equal(infos.filter((m) => m.includes('retrying')).length, 2);
    assert.ok(infos.some((m) => m.includes('reconnecting')));
    (await acquireWatchLock(`${tmp}/s`)).release();
  });
});
