import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {makeDeps, type Deps} from '../../../../src/deps.js';
import {FORWARD_CHAIN} from '../../../../src/net/iptables-forward.js';
import {
  closePublished,
  openPublished,
  publishComment,
  publishedComments,
  publishRules,
} from '../../../../src/runtime/forwarding/published.js';
import {FakeRunner} from '../../../helpers/fake-runner.js';

const READ = ['iptables', '-w', '-S'];
const RESTORE = ['iptables-restore', '--noflush', '-w'];
const KEY = `tpub-${'a'.repeat(64)}-eth1`;
const tcp = {hostPort: 18080, containerPort: 8080, protocol: 'tcp' as const};

describe('runtime/forwarding/published', () => {
  let tmp: string;
  let deps: (runner: FakeRunner) => Deps;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tpub-unit-');
    deps = (runner) =>
      makeDeps({
        runner,
        log: {debug: () => undefined, warn: () => undefined},
        paths: {networksDir: tmp, cacheDir: tmp, stateDir: tmp, dhcpSocket: ''},
      });
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('accepts only connections portmap translated to the container port, one rule per IPv4 address and port', () => {
    const rules = publishRules({
      key: KEY,
      bridge: 'tpubbr0',
      addresses: ['10.0.0.2'],
      mappings: [
        tcp,
        {hostPort: 53, containerPort: 5353, protocol: 'udp', hostIP: '127.0.0.1'},
        {hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: 'fd00::1'},
      ],
    });
    assert.deepEqual(rules, [
      `-d 10.0.0.2/32 -o tpubbr0 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT --ctorigdstport 18080 -m comment --comment "cni-docker port ${KEY}" -j ACCEPT`,
      `-d 10.0.0.2/32 -o tpubbr0 -p udp -m udp --dport 5353 -m conntrack --ctstate DNAT --ctorigdstport 53 -m comment --comment "cni-docker port ${KEY}" -j ACCEPT`,
    ]);
    assert.deepEqual(publishRules({key: KEY, addresses: [], mappings: [tcp]}), [], 'an IPv6-only container gets none');
    assert.throws(() => publishRules({key: KEY, addresses: ['10.0.0.2 -j DROP'], mappings: [tcp]}), /invalid container address/);
    assert.throws(() => publishRules({key: KEY, bridge: 'br 0', addresses: ['10.0.0.2'], mappings: [tcp]}), /invalid bridge name/);
  });

  it('names an attachment by its key, or by a digest when the key is not plain text', () => {
    assert.equal(publishComment(KEY), `cni-docker port ${KEY}`);
    const odd = publishComment('net-id-a"b');
    assert.match(odd, /^cni-docker port #[0-9a-f]{32}$/);
    assert.equal(publishComment('net-id-a"b'), odd);
    assert.match(publishComment(`n-${'x'.repeat(240)}-eth0`), /^cni-docker port #/);
  });

  it('opens: the chain and its jump when no bridge made them, then only missing rules', async () => {
    const rules = publishRules({key: KEY, bridge: 'tpubbr0', addresses: ['10.0.0.2'], mappings: [tcp]});
    const fresh = new FakeRunner([
      {argv: READ, reply: {stdout: '-P FORWARD DROP\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n'}},
      {
        argv: RESTORE,
        input: [
          '*filter',
          `:${FORWARD_CHAIN} - [0:0]`,
          `-I DOCKER-USER 1 -j ${FORWARD_CHAIN}`,
          `-A ${FORWARD_CHAIN} ${rules[0]}`,
          'COMMIT',
          '',
        ].join('\n'),
      },
    ]);
    await openPublished(deps(fresh), rules);
    fresh.assertDone();
    const present = new FakeRunner([
      {
        argv: READ,
        reply: {stdout: `-N DOCKER-USER\n-N ${FORWARD_CHAIN}\n-A DOCKER-USER -j ${FORWARD_CHAIN}\n-A ${FORWARD_CHAIN} ${rules[0]}\n`},
      },
    ]);
    await openPublished(deps(present), rules);
    present.assertDone();
  });

  it('closes: its own rules only, and the chain with its jump once nothing else is in it', async () => {
    const mine = publishRules({key: KEY, addresses: ['10.0.0.2'], mappings: [tcp]})[0];
    const other = publishRules({key: 'other-key-eth0', addresses: ['10.0.0.3'], mappings: [tcp]})[0];
    const table = (...rules: string[]) =>
      [`-N DOCKER-USER`, `-N ${FORWARD_CHAIN}`, `-A DOCKER-USER -j ${FORWARD_CHAIN}`, ...rules.map((r) => `-A ${FORWARD_CHAIN} ${r}`)].join(
        '\n',
      );
    const shared = new FakeRunner([
      {argv: READ, reply: {stdout: table(mine, other)}},
      {argv: RESTORE, input: ['*filter', `-D ${FORWARD_CHAIN} ${mine}`, 'COMMIT', ''].join('\n')},
    ]);
    assert.equal(await closePublished(deps(shared), [publishComment(KEY)]), 1);
    shared.assertDone();
    const last = new FakeRunner([
      {argv: READ, reply: {stdout: table(mine)}},
      {
        argv: RESTORE,
        input: ['*filter', `-D ${FORWARD_CHAIN} ${mine}`, `-D DOCKER-USER -j ${FORWARD_CHAIN}`, `-X ${FORWARD_CHAIN}`, 'COMMIT', ''].join(
          '\n',
        ),
      },
    ]);
    assert.equal(await closePublished(deps(last), [publishComment(KEY)]), 1);
    last.assertDone();
    const none = new FakeRunner([{argv: READ, reply: {stdout: table(other)}}]);
    assert.equal(await closePublished(deps(none), [publishComment(KEY)]), 0);
    none.assertDone();
    const counts = new FakeRunner([
      {argv: READ, reply: {stdout: table(mine, other, '-o br0 -m comment --comment "cni-docker bridge br0" -j ACCEPT')}},
    ]);
    assert.deepEqual(
      [...(await publishedComments(counts))],
      [
        [publishComment(KEY), 1],
        ['cni-docker port other-key-eth0', 1],
      ],
    );
  });
});
