import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps, type Deps} from '../../src/deps.js';
import {doctor} from '../../src/runtime/doctor.js';
import {assertDockerTestBed} from '../helpers/docker.js';

/**
 * doctor on the real host: healthy → ok; ip_forward off (restored after) or a
 * config overlapping Docker's 172.17.0.0/16 → names the problem, not ok; the
 * CLI exits 1 then.
 */
const BIN = new URL('../../../bin/cni-docker', import.meta.url).pathname;

describe('doctor (integration)', function () {
  this.timeout(60_000);
  let tmp: string;
  let deps: Deps;
  const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  before(async () => {
    await assertDockerTestBed();
    tmp = mkdtempSync('/tmp/tdo-');
    mkdirSync(`${tmp}/conf`);
    writeFileSync(
      `${tmp}/conf/tdo1.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tdo1',
        type: 'bridge',
        bridge: 'tdobr0',
        ipam: {type: 'host-local', subnet: '10.215.3.0/24'},
      }),
    );
    deps = makeDeps({
      confDir: `${tmp}/conf`,
      paths: {networksDir: `${tmp}/networks`, cacheDir: `${tmp}/cache`, stateDir: `${tmp}/state`, dhcpSocket: `${tmp}/dhcp.sock`},
    });
  });
  afterEach(() => {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', forward);
    rmSync(`${tmp}/conf/tdo2.conf`, {force: true});
  });
  after(() => {
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('passes on a healthy host, and the CLI exits 0', async () => {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    const r = await doctor(deps, {uid: 0});
    assert.deepEqual(
      r.checks.filter((c) => c.status === 'fail'),
      [],
    );
    assert.equal(r.ok, true);
    assert.ok(r.checks.some((c) => c.check === 'configs' && c.message.includes('tdo1')));
    // The CLI reads the host's real state dirs (other suites may have stale state there): its exit code must match its verdict.
    let status = 0;
    let out = '';
    try {
      out = execFileSync(BIN, ['doctor', '--json'], {encoding: 'utf8', env: {...process.env, NETCONFPATH: `${tmp}/conf`}});
    } catch (err) {
      ({status, stdout: out} = err as {status: number; stdout: string});
    }
    const cli = JSON.parse(out) as {ok: boolean; checks: {check: string; status: string}[]};
    assert.equal(cli.checks.find((c) => c.check === 'docker')?.status, 'ok');
    assert.equal(status, cli.ok ? 0 : 1);
  });

  it('names ip_forward=0 and fails', async () => {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
    const r = await doctor(deps, {uid: 0});
    writeFileSync('/proc/sys/net/ipv4/ip_forward', forward);
    assert.equal(r.ok, false);
    const c = r.checks.find((x) => x.check === 'ip_forward')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, /ip_forward=0/);
    assert.match(c.fix!, /sysctl -w net.ipv4.ip_forward=1/);
  });

  it('names a config overlapping Docker 172.17.0.0/16 and the CLI exits 1', () => {
    writeFileSync(
      `${tmp}/conf/tdo2.conf`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tdo2',
        type: 'bridge',
        bridge: 'tdobr1',
        ipam: {type: 'host-local', subnet: '172.17.5.0/24'},
      }),
    );
    let status = 0;
    let out = '';
    try {
      out = execFileSync(BIN, ['doctor'], {encoding: 'utf8', env: {...process.env, NETCONFPATH: `${tmp}/conf`}});
    } catch (err) {
      const e = err as {status: number; stdout: string};
      status = e.status;
      out = e.stdout;
    }
    assert.equal(status, 1, out);
    assert.match(out, /FAIL subnets: network tdo2 subnet 172\.17\.5\.0\/24 overlaps Docker network bridge \(172\.17\.0\.0\/16\)/);
    assert.doesNotMatch(out, /network tdo1 .* overlaps/);
  });
});
