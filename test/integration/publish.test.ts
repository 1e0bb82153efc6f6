import {strict as assert} from 'node:assert';
import {execFileSync} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import {cli, cliJson, CONFIGS} from '../helpers/cli.js';
import {assertDockerTestBed, assertReferencePlugins, REFERENCE_PLUGINS, TestContainers, type TestContainer} from '../helpers/docker.js';
import {quietSync as quiet, shSync as sh} from '../helpers/host.js';
import {added, PORTMAP_SHARED as SHARED, removePortmapSharedChains, saveRules} from '../helpers/rules.js';
import type {Attachment} from '../../src/runtime/attachment.js';
import type {DryRunPlan} from '../../src/runtime/attach.js';
import type {ListedAttachment} from '../../src/runtime/list-attachments.js';
import type {Outcome} from '../../src/runtime/outcome.js';

/**
 * `attach --publish` end to end, as a user types it, with the shipped
 * conflist (our bridge + host-local, then the reference portmap): a listener
 * in a container is reached at the host's address from a client namespace
 * beyond the host while Docker's FORWARD policy is DROP; detach leaves nat as
 * it was (but for portmap's host-wide chains). Reserved: network
 * cni-docker-portmap (bridge cnipm0, 10.89.2.0/24), netns pub-cli with links
 * pub-h0/pub-c0 (10.89.3.0/30), host ports 18080-18082, containers pub-*.
 */
const CONFLIST = path.join(CONFIGS, 'cni-docker-portmap.conflist');
const NET = 'cni-docker-portmap';
const BRIDGE = 'cnipm0';
const STORE = `/var/lib/cni/networks/${NET}`;
const RESULTS = '/var/lib/cni/results';
const CLIENT_NS = 'pub-cli';
const HOST_IP = '10.89.3.1';
const CLIENT_IP = '10.89.3.2';

interface Fetch {
  code: number;
  body: string;
  err: string;
}

/** busybox wget (1.35 crashes on -T), bounded by `timeout`: 124 when nothing answered (the SYN was dropped). */
function fetch(url: string, inClient = true): Fetch {
  const argv = [...(inClient ? ['ip', 'netns', 'exec', CLIENT_NS] : []), '/bin/busybox', 'wget', '-q', '-O', '-', url];
  try {
    return {code: 0, body: execFileSync('timeout', ['5', ...argv], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim(), err: ''};
  } catch (e) {
    const x = e as {status?: number; stdout?: string; stderr?: string};
    return {code: x.status ?? -1, body: (x.stdout ?? '').trim(), err: x.stderr ?? ''};
  }
}

const ourPortRules = (): string[] =>
  sh('iptables', '-S')
    .split('\n')
    .filter((l) => l.includes('cni-docker port '));
const reserved = (): string[] => (existsSync(STORE) ? readdirSync(STORE).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : []);

describe('attach --publish through the reference portmap (real engine, real iptables)', function () {
  this.timeout(180_000);
  const containers = new TestContainers('pub-');
  const made: string[] = [];
  const run = async (o: Parameters<TestContainers['run']>[0]): Promise<TestContainer> => {
    const c = await containers.run(o);
    made.push(c.name);
    return c;
  };
  let web: TestContainer;
  let natBefore: string[];
  let bridgeExisted: boolean;
  let webIp: string;

  before(async () => {
    await assertDockerTestBed();
    assertReferencePlugins();
    assert.ok(existsSync(`${REFERENCE_PLUGINS}/portmap`), `${REFERENCE_PLUGINS}/portmap is missing (containernetworking-plugins)`);
    assert.match(sh('iptables', '-S', 'FORWARD'), /^-P FORWARD DROP$/m, "this test proves publishing under Docker's FORWARD policy DROP");
    assert.deepEqual(reserved(), [], `${STORE} holds reservations: detach them first`);
    bridgeExisted = existsSync(`/sys/class/net/${BRIDGE}`);
    quiet('ip', 'netns', 'del', CLIENT_NS);
    sh('ip', 'netns', 'add', CLIENT_NS);
    sh('ip', 'link', 'add', 'pub-h0', 'type', 'veth', 'peer', 'name', 'pub-c0', 'netns', CLIENT_NS);
    sh('ip', 'addr', 'add', `${HOST_IP}/30`, 'dev', 'pub-h0');
    sh('ip', 'link', 'set', 'pub-h0', 'up');
    sh('ip', '-n', CLIENT_NS, 'addr', 'add', `${CLIENT_IP}/30`, 'dev', 'pub-c0');
    sh('ip', '-n', CLIENT_NS, 'link', 'set', 'pub-c0', 'up');
    sh('ip', '-n', CLIENT_NS, 'link', 'set', 'lo', 'up');
    // Only so the direct (not translated) path to the container can be tried and shown dropped.
    sh('ip', '-n', CLIENT_NS, 'route', 'add', 'default', 'via', HOST_IP);
    natBefore = saveRules('iptables-save', ['nat']);
    web = await run({
      suffix: 'web',
      cmd: ['sh', '-c', `mkdir -p /www && echo "$HOSTNAME" > /www/index.html && exec httpd -f -p 8080 -h /www`],
    });
  });

  after(async () => {
    if (made.length > 0) await cli(['detach', ...made]);
    await containers.removeAll();
    quiet('ip', 'netns', 'del', CLIENT_NS);
    if (!bridgeExisted) quiet('ip', 'link', 'del', BRIDGE);
    if (reserved().length === 0) rmSync(STORE, {recursive: true, force: true});
    removePortmapSharedChains(natBefore);
  });

  it('refuses bad --publish values, several containers and a network without portmap, in one line each, touching nothing', async () => {
    const other = await run({suffix: 'other'});
    const snap = hostState();
    const cases: [string[], number, RegExp][] = [
      [
        ['attach', web.name, '--conf', CONFLIST, '--publish', '18080:70000'],
        1,
        /^Error: invalid --publish "18080:70000": container port "70000" is not a port number from 1 to 65535$/,
      ],
      [
        ['attach', web.name, '--conf', CONFLIST, '--publish', '18080:8080/sctp'],
        1,
        /^Error: invalid --publish "18080:8080\/sctp": protocol "sctp" is not tcp or udp$/,
      ],
      [
        ['attach', web.name, '--conf', CONFLIST, '--publish', '10.89.3.999:18080:8080'],
        1,
        /^Error: invalid --publish "10\.89\.3\.999:18080:8080": host address "10\.89\.3\.999" is not an IP address$/,
      ],
      [
        ['attach', web.name, '--conf', CONFLIST, '-p', '18080:8080', '-p', '18080:9090'],
        1,
        /^Error: invalid --publish "18080:9090": host port 18080\/tcp is already published by --publish 18080->8080\/tcp$/,
      ],
      [
        ['attach', web.name, other.name, '--conf', CONFLIST, '--publish', '18080:8080'],
        1,
        /^Error: --publish can only be used with a single container/,
      ],
      [
        ['attach', web.name, '--conf', path.join(CONFIGS, 'mybridge2.conf'), '--publish', '18080:8080'],
        1,
        /^Error: --publish needs a plugin with the portMappings capability, and no plugin of network mybridge declares it/,
      ],
      [['attach', web.name, '--conf', CONFLIST, '--publish'], 2, /Flag --publish expects a value/],
    ];
    for (const [args, code, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim(), re);
      if (code === 1) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(hostState(), snap, 'nothing was touched');
  });

  it('--dry-run shows the published ports and what portmap is handed, and changes nothing', async () => {
    const snap = hostState();
    const r = await cli(['attach', web.name, '--conf', CONFLIST, '--publish', '18080:8080', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Would attach .* as eth0, publishing 18080->8080\/tcp:$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `ADD portmap \\(${REFERENCE_PLUGINS}/portmap\\): .* runtimeConfig \\{"portMappings":\\[\\{"containerPort":8080,"hostPort":18080,"protocol":"tcp"\\}\\]\\}`,
      ),
    );
    const plan = (await cliJson<Outcome<DryRunPlan>>(['attach', web.name, '--conf', CONFLIST, '--publish', '18080:8080', '--dry-run']))
      .done[0];
    assert.deepEqual(plan.ports, [{hostPort: 18080, containerPort: 8080, protocol: 'tcp'}]);
    assert.deepEqual(hostState(), snap);
  });

  it('attach web --publish 18080:8080 makes the listener reachable at the host address from a client namespace, with FORWARD policy DROP', async () => {
    const out = await cliJson<Outcome<Attachment>>(['attach', web.name, '--conf', CONFLIST, '--publish', '18080:8080']);
    assert.deepEqual(out.failures, []);
    const a = out.done[0];
    assert.deepEqual(a.ports, [{hostPort: 18080, containerPort: 8080, protocol: 'tcp'}]);
    webIp = a.addresses[0].split('/')[0];
    // httpd may still be starting: the host reaches the container on the bridge without any forwarding.
    let direct = fetch(`http://${webIp}:8080/`, false);
    for (let i = 0; i < 20 && direct.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      direct = fetch(`http://${webIp}:8080/`, false);
    }
    assert.equal(direct.code, 0, `host -> ${webIp}:8080: ${direct.err}`);
    const hostname = web.id.slice(0, 12);
    const viaHost = fetch(`http://${HOST_IP}:18080/`);
    assert.equal(viaHost.body, hostname, `${CLIENT_NS} -> ${HOST_IP}:18080 exited ${viaHost.code}: ${viaHost.err}`);
    // The host itself, through portmap's OUTPUT rule (no forwarding involved).
    assert.equal(fetch('http://127.0.0.1:18080/', false).body, hostname);
    // Only translated connections are let through: the container's own address stays closed from beyond the host.
    const untranslated = fetch(`http://${webIp}:8080/`);
    assert.equal(
      untranslated.code,
      124,
      `${CLIENT_NS} -> ${webIp}:8080 directly was not dropped: exit ${untranslated.code} ${untranslated.body}`,
    );
  });

  it("the ACCEPT cni-docker adds for the published port is what lets it through Docker's DROP", async () => {
    const rules = ourPortRules();
    assert.equal(rules.length, 1, rules.join('\n'));
    assert.equal(
      rules[0],
      `-A CNI-DOCKER-FORWARD -d ${webIp}/32 -o ${BRIDGE} -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT --ctorigdstport 18080 -m comment --comment "cni-docker port ${NET}-${web.id}-eth0" -j ACCEPT`,
    );
    execFileSync('iptables-restore', ['--noflush', '-w'], {input: `*filter\n-D ${rules[0].slice(3)}\nCOMMIT\n`});
    let blocked: Fetch;
    try {
      blocked = fetch(`http://${HOST_IP}:18080/`);
    } finally {
      execFileSync('iptables-restore', ['--noflush', '-w'], {input: `*filter\n${rules[0]}\nCOMMIT\n`});
    }
    assert.equal(blocked.code, 124, `without the ACCEPT the client got exit ${blocked.code} (${blocked.body}), not a timeout`);
    assert.equal(fetch(`http://${HOST_IP}:18080/`).body, web.id.slice(0, 12), 'open again with the rule back');
  });

  it('list shows the published ports, as JSON and as the last column when piped', async () => {
    const rows = await cliJson<ListedAttachment[]>(['list', '--container', web.name]);
    assert.deepEqual(
      rows.map((r) => [r.network, r.ports]),
      [[NET, [{hostPort: 18080, containerPort: 8080, protocol: 'tcp'}]]],
    );
    const piped = await cli(['list', '--container', web.name]);
    assert.equal(piped.stdout.trimEnd().split('\t').at(-1), '18080->8080/tcp');
    const cache = JSON.parse(readFileSync(`${RESULTS}/${NET}-${web.id}-eth0`, 'utf8')) as {capabilityArgs?: unknown};
    assert.deepEqual(
      cache.capabilityArgs,
      {portMappings: [{containerPort: 8080, hostPort: 18080, protocol: 'tcp'}]},
      'the cache keeps capabilityArgs, as libcni does',
    );
  });

  it('check passes on a published attachment (portmap is not handed the mappings its 1.1.1 CHECK cannot verify)', async () => {
    const ok = await cli(['check', web.name]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok$/m);
  });

  it('attaching again with the same ports returns the attachment; other ports, or a port another container holds, are refused', async () => {
    const again = await cliJson<Outcome<Attachment>>(['attach', web.name, '--conf', CONFLIST, '--publish', '18080:8080']);
    assert.equal(again.done[0].existing, true);
    const other = await cli(['attach', web.name, '--conf', CONFLIST, '--publish', '18081:8080']);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr.trim(),
      /^Error: failed to attach .*web to cni-docker-portmap: .*web is already attached to cni-docker-portmap as eth0 and publishes 18080->8080\/tcp; detach it first to publish other ports$/,
    );
    const second = await run({suffix: 'second'});
    const snap = hostState();
    const taken = await cli(['attach', second.name, '--conf', CONFLIST, '--publish', `${HOST_IP}:18080:80`]);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr.trim(),
      new RegExp(
        `^Error: failed to attach ${second.name} to ${NET}: host port 18080/tcp is already published by ${web.name} on ${NET} \\(18080->8080/tcp\\)$`,
      ),
    );
    assert.deepEqual(hostState(), snap, 'the refused attach made nothing');
  });

  it('--ip also fills the ips capability the conflist declares, and a host-address-bound port is published on that address only', async () => {
    const c = await run({suffix: 'ip', cmd: ['sh', '-c', `mkdir -p /www && echo bound > /www/index.html && exec httpd -f -p 80 -h /www`]});
    const out = await cliJson<Outcome<Attachment>>([
      'attach',
      c.name,
      '--conf',
      CONFLIST,
      '--ip',
      '10.89.2.50',
      '--publish',
      `${HOST_IP}:18082:80`,
    ]);
    assert.deepEqual(out.failures, []);
    assert.deepEqual(out.done[0].addresses, ['10.89.2.50/24']);
    const cache = JSON.parse(readFileSync(`${RESULTS}/${NET}-${c.id}-eth0`, 'utf8')) as {cniArgs?: unknown; capabilityArgs?: unknown};
    assert.deepEqual(cache.capabilityArgs, {
      ips: ['10.89.2.50'],
      portMappings: [{containerPort: 80, hostIP: HOST_IP, hostPort: 18082, protocol: 'tcp'}],
    });
    assert.deepEqual(
      cache.cniArgs,
      [
        ['IgnoreUnknown', '1'],
        ['IP', '10.89.2.50'],
      ],
      '--ip keeps setting CNI_ARGS IP',
    );
    let r = fetch(`http://${HOST_IP}:18082/`);
    for (let i = 0; i < 20 && r.code !== 0; i++) {
      await new Promise((res) => setTimeout(res, 250));
      r = fetch(`http://${HOST_IP}:18082/`);
    }
    assert.equal(r.body, 'bound', `exit ${r.code}: ${r.err}`);
    assert.notEqual(fetch('http://127.0.0.1:18082/', false).body, 'bound', 'not published on other host addresses');
    const d = await cli(['detach', c.name]);
    assert.equal(d.code, 0, d.stderr);
  });

  for (const step of ['chain:add:portmap', 'attach:cached']) {
    it(`kill -9 of attach --publish after ${step}, then detach: no DNAT rule or ACCEPT of it stays`, async () => {
      const ns = 'pub-crash';
      quiet('ip', 'netns', 'del', ns);
      sh('ip', 'netns', 'add', ns);
      try {
        const killed = await cli(['attach', '--netns', `/var/run/netns/${ns}`, '--conf', CONFLIST, '--publish', '18083:80'], {
          CNI_DOCKER_CRASH_AFTER: step,
        });
        assert.match(killed.stderr, new RegExp(`crash-hook: SIGKILL after step \\d+ \\(${step}\\)`));
        assert.ok(
          saveRules('iptables-save', ['nat']).some((l) => l.includes('--dport 18083 -j DNAT')),
          'portmap had made its DNAT',
        );
        const d = await cli(['detach', '--netns', `/var/run/netns/${ns}`]);
        assert.equal(d.code, 0, d.stderr);
        assert.deepEqual(
          saveRules('iptables-save', ['nat']).filter((l) => l.includes('18083') || l.includes(`id: \\"${ns}\\"`)),
          [],
        );
        assert.deepEqual(
          ourPortRules().filter((l) => l.includes(ns)),
          [],
        );
      } finally {
        quiet('ip', 'netns', 'del', ns);
      }
    });
  }

  it('detach removes every DNAT rule and chain portmap added, and the forwarding of the port', async () => {
    const d = await cli(['detach', web.name]);
    assert.equal(d.code, 0, d.stderr);
    const now = saveRules('iptables-save', ['nat']);
    const left = added(natBefore, now).filter((l) => !SHARED.includes(l));
    assert.deepEqual(left, [], 'nat is as it was before the attach, but for the host-wide chains portmap keeps');
    assert.deepEqual(
      now.filter((l) => l.includes('CNI-DN-') || l.includes(web.id) || l.includes('18080') || l.includes(' DNAT ')),
      [],
    );
    assert.deepEqual(added(now, natBefore), [], 'nothing that was there is gone');
    assert.deepEqual(ourPortRules(), []);
    assert.deepEqual(reserved(), []);
    assert.ok(!readdirSync(RESULTS).some((f) => f.includes(web.id)));
    const closed = fetch(`http://${HOST_IP}:18080/`);
    assert.notEqual(closed.code, 0, 'the port is no longer published');
  });
});

/** What a refused attach must leave alone: nat and filter rules, addresses in our store, cache files. */
function hostState(): string {
  return JSON.stringify({
    rules: saveRules('iptables-save', ['nat', 'filter']),
    store: reserved(),
    cache: existsSync(RESULTS) ? readdirSync(RESULTS).sort() : [],
  });
}
