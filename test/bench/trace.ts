/**
 * `node dist/test/bench/trace.js`: the subprocesses one in-process attach and
 * one detach of a plain netns on the bench's bridge config run, listed and
 * counted (needs root). The first attach creates the bridge; the second one is
 * the steady state a loop over containers sees. Not part of npm test.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {makeDeps} from '../../src/deps.js';
import type {Runner} from '../../src/exec/runner.js';
import {attach} from '../../src/runtime/attach.js';
import {detach} from '../../src/runtime/detach.js';
import {BENCH_BRIDGE, benchConf, run} from './measure.js';

const BRIDGE = BENCH_BRIDGE;
const NS = ['benchtr1', 'benchtr2'];

const dir = mkdtempSync(join(tmpdir(), 'trace-'));
const conf = join(dir, 'benchnet.conf');
writeFileSync(conf, benchConf(dir));

const calls: string[] = [];
const base = makeDeps().runner;
const tracing: Runner = {
  run(file, args, opts) {
    calls.push([file, ...args].join(' '));
    return base.run(file, args, opts);
  },
};
const deps = makeDeps({
  runner: tracing,
  paths: {cacheDir: join(dir, 'cache'), stateDir: join(dir, 'state'), networksDir: join(dir, 'networks'), dhcpSocket: '/run/cni/dhcp.sock'},
});

function report(what: string): number {
  console.log(`\n${what}: ${calls.length} subprocesses (not counted: one flock(1) per lock acquisition, see src/lock/flock.ts)`);
  for (const c of calls) console.log(`  ${c}`);
  const n = calls.length;
  calls.length = 0;
  return n;
}

try {
  for (const ns of NS) await run(['ip', 'netns', 'add', ns]);
  for (const ns of NS) {
    const out = await attach(deps, {containers: [], netns: [`/var/run/netns/${ns}`], conf});
    if (out.failures.length) throw new Error(out.failures.map((f) => f.message).join('; '));
    report(`attach ${ns}${ns === NS[0] ? ' (creates the bridge)' : ''}`);
  }
  for (const ns of [...NS].reverse()) {
    const out = await detach(deps, {containers: [], netns: [`/var/run/netns/${ns}`], conf});
    if (out.failures.length) throw new Error(out.failures.map((f) => f.message).join('; '));
    report(`detach ${ns}${ns === NS[0] ? ' (last on the bridge)' : ''}`);
  }
} finally {
  for (const ns of NS) await run(['ip', 'netns', 'del', ns]).catch(() => '');
  await run(['ip', 'link', 'del', BRIDGE]).catch(() => '');
  rmSync(dir, {recursive: true, force: true});
}
