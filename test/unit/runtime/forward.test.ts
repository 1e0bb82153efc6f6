import assert from 'node:assert/strict';
import {ensureForward, removeForward, forwardRules, FORWARD_CHAIN} from '../../../src/runtime/forward.js';
import {FakeRunner} from '../../helpers/fake-runner.js';

const DOCKER_SAVE = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD DROP [0:0]',
  ':DOCKER-USER - [0:0]',
  '-A FORWARD -j DOCKER-USER',
  '-A DOCKER-USER -j RETURN',
  'COMMIT',
].join('\n');

describe('runtime/forward', () => {
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
      {argv: ['iptables-save', '-t', 'filter'], reply: {stdout: DOCKER_SAVE}},
      {argv: ['iptables-restore', '--noflush', '-w'], input: expected},
    ]);
    await ensureForward(runner, 'br0');
    runner.assertDone();
  });

  it('jumps from FORWARD when Docker has no DOCKER-USER chain', async () => {
    const runner = new FakeRunner([
      {argv: ['iptables-save', '-t', 'filter'], reply: {stdout: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'}},
      {argv: ['iptables-restore', '--noflush', '-w']},
    ]);
    await ensureForward(runner, 'br0');
    assert.match(runner.calls[1].input ?? '', /^-I FORWARD 1 -j CNI-DOCKER-FORWARD$/m);
  });

  it('is idempotent: nothing is restored when every rule is present', async () => {
    const save = [DOCKER_SAVE.replace('COMMIT', ''), `:${FORWARD_CHAIN} - [0:0]`, `-A DOCKER-USER -j ${FORWARD_CHAIN}`, ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`), 'COMMIT'].join('\n');
    const runner = new FakeRunner([{argv: ['iptables-save', '-t', 'filter'], reply: {stdout: save}}]);
    await ensureForward(runner, 'br0');
    runner.assertDone();
  });

  it('removes only the named bridge rules while another bridge still uses the chain', async () => {
    const save = [`:${FORWARD_CHAIN} - [0:0]`, `-A DOCKER-USER -j ${FORWARD_CHAIN}`, ...['br0', 'br1'].flatMap((b) => forwardRules(b).map((r) => `-A ${FORWARD_CHAIN} ${r}`))].join('\n');
    const runner = new FakeRunner([
      {argv: ['iptables-save', '-t', 'filter'], reply: {stdout: save}},
      {argv: ['iptables-restore', '--noflush', '-w']},
    ]);
    await removeForward(runner, 'br0');
    const input = runner.calls[1].input ?? '';
    assert.equal(input.split('\n').filter((l) => l.startsWith('-D ')).length, forwardRules('br0').length);
    assert.doesNotMatch(input, /br1|-X /);
  });

  it('drops the chain and its jump with the last bridge', async () => {
    const save = [`:${FORWARD_CHAIN} - [0:0]`, `-A DOCKER-USER -j ${FORWARD_CHAIN}`, ...forwardRules('br0').map((r) => `-A ${FORWARD_CHAIN} ${r}`)].join('\n');
    const runner = new FakeRunner([
      {argv: ['iptables-save', '-t', 'filter'], reply: {stdout: save}},
      {argv: ['iptables-restore', '--noflush', '-w']},
    ]);
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
