import assert from 'node:assert/strict';
import {ensureForward, removeForward, forwardRules, FORWARD_CHAIN} from '../../../src/net/iptables-forward.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

/** The filter table as `iptables -w -S` lists it on a Docker host. */
const DOCKER_SAVE = ['-P INPUT ACCEPT', '-P FORWARD DROP', '-N DOCKER-USER', '-A FORWARD -j DOCKER-USER', '-A DOCKER-USER -j RETURN'].join(
  '\n',
);
const READ = ['iptables', '-w', '-S'];

describe('net/iptables-forward', () => {
  it('creates the chain, the jump from DOCKER-USER and the bridge rules in one restore', async () => {
    const expected = [
      '*filter',
      `:${FORWARD_CHAIN} - [0:0]`,
      `-I DOCKER-USER 1 -j ${FORWARD_CHAIN}`,
      ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`),
      'COMMIT',
      '',
    ].join('\n');
    const runner = new FakeRunner([
      {argv: READ, reply: {stdout: DOCKER_SAVE}},
      {argv: ['iptables-restore', '--noflush', '-w'], input: expected},
    ]);
    await ensureForward(runner, 'br0');
    runner.assertDone();
  });

  it('jumps from FORWARD when Docker has no DOCKER-USER chain', async () => {
    const runner = new FakeRunner([{argv: READ, reply: {stdout: '-P FORWARD ACCEPT\n'}}, {argv: ['iptables-restore', '--noflush', '-w']}]);
    await ensureForward(runner, 'br0');
    assert.match(runner.calls[1].input ?? '', /^-I FORWARD 1 -j CNI-DOCKER-FORWARD$/m);
  });

  it('is idempotent: nothing is restored when every rule is present', async () => {
    const save = [
      DOCKER_SAVE,
      `-N ${FORWARD_CHAIN}`,
      `-A DOCKER-USER -j ${FORWARD_CHAIN}`,
      ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`),
    ].join('\n');
    const runner = new FakeRunner([{argv: READ, reply: {stdout: save}}]);
    await ensureForward(runner, 'br0');
    runner.assertDone();
  });

  const refused = {exitCode: 1, stderr: 'iptables-restore: line 9 failed'};
  const direct = (bridge: string, last: boolean): string =>
    [
      '*filter',
      ...forwardRules(bridge).map((r) => `-D ${FORWARD_CHAIN} ${r}`),
      ...(last ? [`-D DOCKER-USER -j ${FORWARD_CHAIN}`, `-X ${FORWARD_CHAIN}`] : []),
      'COMMIT',
      '',
    ].join('\n');
  // Our state may say "last" while the kernel still has another bridge's rules (say, of a cni-docker
  // with another state directory): the one write is refused as a whole and read-and-plan keeps the chain.

  it('fresh (no other bridge of ours in use): chain, jump and rules in one write, no read', async () => {
    const runner = new FakeRunner([
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: [
          '*filter',
          `-N ${FORWARD_CHAIN}`,
          `-I DOCKER-USER 1 -j ${FORWARD_CHAIN}`,
          ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`),
          'COMMIT',
          '',
        ].join('\n'),
      },
    ]);
    await ensureForward(runner, 'br0', true);
    runner.assertDone();
  });

  it('fresh, but the write is refused (chain already there, or no DOCKER-USER): read and plan instead', async () => {
    const runner = new FakeRunner([
      {argv: ['iptables-restore', '--noflush', '-w'], reply: refused},
      {argv: READ, reply: {stdout: '-P FORWARD ACCEPT\n'}},
      {argv: ['iptables-restore', '--noflush', '-w']},
    ]);
    await ensureForward(runner, 'br0', true);
    runner.assertDone();
    assert.match(runner.calls[2].input ?? '', /^-I FORWARD 1 -j CNI-DOCKER-FORWARD$/m);
  });

  it('removes the last bridge in one write without a read: its rules, the jump and the chain', async () => {
    const last = new FakeRunner([{argv: ['iptables-restore', '--noflush', '-w'], input: direct('br0', true)}]);
    await removeForward(last, 'br0', true);
    last.assertDone();
  });

  it('removes only the named bridge rules while another bridge still uses the chain (direct write refused: read and plan)', async () => {
    const save = [
      `-N ${FORWARD_CHAIN}`,
      `-A DOCKER-USER -j ${FORWARD_CHAIN}`,
      ...['br0', 'br1'].flatMap((b) => forwardRules(b).map((r) => `-A ${FORWARD_CHAIN} ${r}`)),
    ].join('\n');
    const runner = new FakeRunner([
      {argv: ['iptables-restore', '--noflush', '-w'], input: direct('br0', true), reply: refused},
      {argv: READ, reply: {stdout: save}},
      {argv: ['iptables-restore', '--noflush', '-w']},
    ]);
    await removeForward(runner, 'br0', true);
    const input = runner.calls[2].input ?? '';
    assert.equal(input.split('\n').filter((l) => l.startsWith('-D ')).length, forwardRules('br0').length);
    assert.doesNotMatch(input, /br1|-X /);
  });

  it('without the last-bridge hint: read and plan, dropping the chain and its jump when no other rules remain', async () => {
    const save = [
      `-N ${FORWARD_CHAIN}`,
      `-A DOCKER-USER -j ${FORWARD_CHAIN}`,
      ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`),
    ].join('\n');
    const runner = new FakeRunner([{argv: READ, reply: {stdout: save}}, {argv: ['iptables-restore', '--noflush', '-w']}]);
    await removeForward(runner, 'br0');
    const input = runner.calls[1].input ?? '';
    assert.match(input, new RegExp(`^-D DOCKER-USER -j ${FORWARD_CHAIN}$`, 'm'));
    assert.match(input, new RegExp(`^-X ${FORWARD_CHAIN}$`, 'm'));
  });

  it('refuses a bridge name that could smuggle iptables syntax', async () => {
    const runner = new FakeRunner([]);
    await assert.rejects(ensureForward(runner, 'br0 -j ACCEPT'), /invalid bridge name/);
    await assert.rejects(ensureForward(runner, 'br0\n-F'), /invalid bridge name/);
  });
});

describe('net/iptables-forward: overlay bridges', () => {
  it("also accept traffic from the vxlan devices into the bridge, under the bridge's comment", () => {
    const plain = forwardRules('mesh0');
    const overlay = forwardRules('mesh0', true);
    assert.deepEqual(
      overlay.filter((r) => !plain.includes(r)),
      ['-i flannel.+ -o mesh0 -m comment --comment "cni-docker bridge mesh0" -j ACCEPT'],
    );
    // Docker's bridges stay dropped first; the extra accept comes after them.
    assert.ok(
      overlay.indexOf('-i flannel.+ -o mesh0 -m comment --comment "cni-docker bridge mesh0" -j ACCEPT') >
        overlay.indexOf('-i br-+ -o mesh0 -m comment --comment "cni-docker bridge mesh0" -j DROP'),
    );
  });

  it('opens and closes an overlay bridge with the extra rule in the same single writes', async () => {
    const open = new FakeRunner([
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: [
          '*filter',
          `-N ${FORWARD_CHAIN}`,
          `-I DOCKER-USER 1 -j ${FORWARD_CHAIN}`,
          ...forwardRules('mesh0', true).map((r) => `-A ${FORWARD_CHAIN} ${r}`),
          'COMMIT',
          '',
        ].join('\n'),
      },
    ]);
    await ensureForward(open, 'mesh0', true, true);
    open.assertDone();
    const close = new FakeRunner([
      {
        argv: ['iptables-restore', '--noflush', '-w'],
        input: [
          '*filter',
          ...forwardRules('mesh0', true).map((r) => `-D ${FORWARD_CHAIN} ${r}`),
          `-D DOCKER-USER -j ${FORWARD_CHAIN}`,
          `-X ${FORWARD_CHAIN}`,
          'COMMIT',
          '',
        ].join('\n'),
      },
    ]);
    await removeForward(close, 'mesh0', true, true);
    close.assertDone();
  });
});
