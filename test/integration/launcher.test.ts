import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {CLI_BIN} from '../helpers/cli.js';
import {quietSync, shSync} from '../helpers/host.js';

/**
 * bin/cni-docker, the command npm links, starts Node without
 * NODE_EXTRA_CA_CERTS for the fast-path commands on a unix-socket Docker, and
 * bin/run.cjs puts the variable back before anything runs. Checked from the
 * outside: an external CNI plugin records its own environment and the one its
 * parent (our Node process) was started with (/proc/PPID/environ).
 */
const CA = '/etc/ssl/certs/ca-certificates.crt';
const NS = 'tlaunch1';

function envFile(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split(/\n/)) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('the cni-docker launcher and NODE_EXTRA_CA_CERTS (integration)', function () {
  this.timeout(60_000);
  let tmp: string;
  let conf: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    if (process.getuid?.() !== 0) throw new Error('this suite needs root (ip netns): run npm test as root');
    tmp = mkdtempSync('/tmp/tlaunch-');
    const plugin = path.join(tmp, 'bin', 'envdump');
    execFileSync('mkdir', ['-p', path.dirname(plugin)]);
    writeFileSync(
      plugin,
      [
        '#!/bin/sh',
        'env > "$ENVDUMP_DIR/$CNI_COMMAND.env"',
        'tr "\\0" "\\n" < /proc/$PPID/environ > "$ENVDUMP_DIR/$CNI_COMMAND.parent"',
        'cat > /dev/null',
        '[ "$CNI_COMMAND" = ADD ] && printf \'{"cniVersion":"1.0.0","interfaces":[],"ips":[]}\\n\'',
        'exit 0',
        '',
      ].join('\n'),
    );
    chmodSync(plugin, 0o755);
    conf = path.join(tmp, 'tlaunch.conf');
    writeFileSync(conf, JSON.stringify({cniVersion: '1.0.0', name: 'tlaunch', type: 'envdump'}));
    quietSync('ip', 'netns', 'del', NS);
    shSync('ip', 'netns', 'add', NS);
    env = {...process.env, NODE_EXTRA_CA_CERTS: CA, ENVDUMP_DIR: tmp, CNI_PATH: path.dirname(plugin)};
    delete env.DOCKER_HOST;
  });
  after(() => {
    if (env) quietSync('env', `CNI_PATH=${env.CNI_PATH}`, `ENVDUMP_DIR=${tmp}`, CLI_BIN, 'detach', '--netns', `/var/run/netns/${NS}`, '--conf', conf);
    quietSync('ip', 'netns', 'del', NS);
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('attach and detach: Node starts without the variable, the plugins it runs get it back unchanged', () => {
    execFileSync(CLI_BIN, ['attach', '--netns', `/var/run/netns/${NS}`, '--conf', conf], {env, encoding: 'utf8'});
    execFileSync(CLI_BIN, ['detach', '--netns', `/var/run/netns/${NS}`, '--conf', conf], {env, encoding: 'utf8'});
    for (const cmd of ['ADD', 'DEL']) {
      const own = envFile(path.join(tmp, `${cmd}.env`));
      const parent = envFile(path.join(tmp, `${cmd}.parent`));
      assert.equal(own.get('NODE_EXTRA_CA_CERTS'), CA, `${cmd}: the plugin did not get NODE_EXTRA_CA_CERTS back`);
      assert.ok(!own.has('CNI_DOCKER_SAVED_CA_CERTS'), `${cmd}: the launcher's variable leaked to the plugin`);
      assert.ok(!parent.has('NODE_EXTRA_CA_CERTS'), `${cmd}: Node was started with NODE_EXTRA_CA_CERTS`);
      assert.equal(parent.get('CNI_DOCKER_SAVED_CA_CERTS'), CA, `${cmd}: Node was not started with the saved value`);
    }
  });

  it('a Docker endpoint other than unix:// keeps the variable for Node', () => {
    rmSync(path.join(tmp, 'ADD.parent'), {force: true});
    const tcp = {...env, DOCKER_HOST: 'tcp://127.0.0.1:9'};
    execFileSync(CLI_BIN, ['attach', '--netns', `/var/run/netns/${NS}`, '--conf', conf], {env: tcp, encoding: 'utf8'});
    const parent = envFile(path.join(tmp, 'ADD.parent'));
    assert.equal(parent.get('NODE_EXTRA_CA_CERTS'), CA);
    assert.ok(!parent.has('CNI_DOCKER_SAVED_CA_CERTS'));
    execFileSync(CLI_BIN, ['detach', '--netns', `/var/run/netns/${NS}`, '--conf', conf], {env, encoding: 'utf8'});
  });

  it('only the fast-path commands: others start Node with the variable (a stand-in node on PATH shows what it got)', () => {
    const fake = path.join(tmp, 'fakenode');
    execFileSync('mkdir', ['-p', fake]);
    writeFileSync(path.join(fake, 'node'), '#!/bin/sh\nprintf "%s|%s|" "${NODE_EXTRA_CA_CERTS-unset}" "${CNI_DOCKER_SAVED_CA_CERTS-unset}"\nfor a; do printf "[%s]" "$a"; done\necho\n');
    chmodSync(path.join(fake, 'node'), 0o755);
    const via = (args: string[], extra: NodeJS.ProcessEnv = {}, bin = CLI_BIN): string =>
      execFileSync(bin, args, {env: {...env, ...extra, PATH: `${fake}:${process.env.PATH}`}, encoding: 'utf8'}).trim();
    const entry = `[${path.join(path.dirname(CLI_BIN), 'run.cjs')}]`;
    for (const cmd of ['attach', 'detach', 'list', 'ls', '--version']) assert.equal(via([cmd]), `unset|${CA}|${entry}[${cmd}]`, cmd);
    assert.equal(via(['list'], {DOCKER_HOST: 'unix:///run/docker.sock'}), `unset|${CA}|${entry}[list]`);
    for (const cmd of ['networks', 'check', 'gc', 'watch', 'doctor', '--help']) assert.equal(via([cmd]), `${CA}|unset|${entry}[${cmd}]`, cmd);
    assert.equal(via(['attach', 'c'], {DOCKER_HOST: 'tcp://10.0.0.1:2376'}), `${CA}|unset|${entry}[attach][c]`);
    assert.equal(via(['attach', 'a b', '--conf', 'x y', '']), `unset|${CA}|${entry}[attach][a b][--conf][x y][]`, 'arguments pass through as given');
    // Not set at all: nothing is saved either.
    assert.equal(via(['list'], {NODE_EXTRA_CA_CERTS: undefined}), `unset|unset|${entry}[list]`);
    // npm links the command into a bin directory: the launcher finds the package through the link.
    const link = path.join(tmp, 'linked-cni-docker');
    execFileSync('ln', ['-s', CLI_BIN, link]);
    assert.equal(via(['--version'], {}, link), `unset|${CA}|${entry}[--version]`);
  });
});
