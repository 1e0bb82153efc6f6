import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {CLI_BIN, cli} from '../helpers/cli.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';

/**
 * The progress line of a bulk attach/detach, as a user sees it: on a terminal
 * (the command run under a pseudo-terminal by script(1)) one line rewritten in
 * place with done/total and failures, erased before the results; piped, or
 * with --json, nothing but the results.
 */
const NET = 'tprog1';
const BR = 'tprogbr0';
const NS = ['tprog-a', 'tprog-b', 'tprog-c'];

/** Run the CLI under a pseudo-terminal; returns everything it wrote (stdout and stderr share the terminal). */
function onTerminal(args: string[]): string {
  const cmd = [CLI_BIN, ...args].map((a) => `'${a}'`).join(' ');
  return spawnSync('script', ['-qec', cmd, '/dev/null'], {encoding: 'utf8'}).stdout;
}

/** What a terminal shows: each progress update starts with carriage return + erase line. */
const ERASE = '\r\u001b[K';

/** The progress updates written, in order ("attaching 2/3, 1 failed"). */
function updates(out: string, verb: string): string[] {
  return out
    .split(ERASE)
    .slice(1)
    .map((chunk) => chunk.split('\r\n')[0])
    .filter((u) => u.startsWith(verb));
}

describe('bulk progress line (integration)', function () {
  this.timeout(60_000);
  let tmp: string;
  let conf: string;
  const netns = NS.flatMap((n) => ['--netns', `/var/run/netns/${n}`]);

  before(() => {
    if (process.getuid?.() !== 0) throw new Error('this suite needs root (ip netns): run npm test as root');
    tmp = mkdtempSync('/tmp/tprog-');
    conf = path.join(tmp, `${NET}.conf`);
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        type: 'bridge',
        bridge: BR,
        ipam: {type: 'host-local', subnet: '10.215.30.0/24', dataDir: path.join(tmp, 'ipam')},
      }),
    );
    for (const n of NS) sh('ip', 'netns', 'add', n);
    // One target that must fail: its namespace already has the interface the attach asks for.
    sh('ip', '-n', NS[2], 'link', 'add', 'eth5', 'type', 'veth', 'peer', 'name', 'eth6');
  });
  after(async () => {
    await cli(['detach', ...netns, '--conf', conf]);
    for (const n of NS) quiet('ip', 'netns', 'del', n);
    quiet('ip', 'link', 'del', BR);
    rmSync(tmp, {recursive: true, force: true});
  });

  it('on a terminal: attaching n/3 with the failure counted, erased before the results; detaching likewise', () => {
    const out = onTerminal(['attach', ...netns, '--conf', conf, '--ifname', 'eth5']);
    const seen = updates(out, 'attaching');
    assert.equal(seen.length, 3, JSON.stringify(out));
    assert.deepEqual(
      seen.map((u) => u.split(' ')[1].replace(',', '')),
      ['1/3', '2/3', '3/3'],
    );
    assert.equal(seen[2], 'attaching 3/3, 1 failed', `the last update counts the failed target: ${JSON.stringify(out)}`);
    const after = out.slice(out.lastIndexOf(ERASE) + ERASE.length);
    assert.match(after, /^tprog-[ab]: attached to tprog1 as eth5/, 'the line is erased before the results');
    assert.match(after, /Error: failed to attach tprog-c/);
    const det = onTerminal(['detach', ...netns, '--conf', conf]);
    assert.deepEqual(updates(det, 'detaching').at(-1), 'detaching 2/2');
  });

  it('piped, and with --json on a terminal: no progress at all', async () => {
    const piped = await cli(['attach', ...netns.slice(0, 4), '--conf', conf]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(!(piped.stdout + piped.stderr).includes('attaching') && !(piped.stdout + piped.stderr).includes('\u001b'), piped.stderr);
    await cli(['detach', ...netns.slice(0, 4), '--conf', conf]);
    const json = onTerminal(['attach', ...netns.slice(0, 4), '--conf', conf, '--json']);
    assert.ok(!json.includes('attaching') && !json.includes(ERASE), json);
    assert.equal((JSON.parse(json.replace(/\r\n/g, '\n')) as {done: unknown[]}).done.length, 2);
  });
});
