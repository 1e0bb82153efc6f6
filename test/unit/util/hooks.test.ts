import {strict as assert} from 'node:assert';
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {hooksFromEnv, makeHooks, noHooks} from '../../../src/util/hooks.js';

function recorder(): {lines: string[]; kills: number; effects: {say(l: string): void; kill(): void}} {
  const r = {lines: [] as string[], kills: 0, effects: {say: (l: string) => void r.lines.push(l), kill: () => void r.kills++}};
  return r;
}

describe('test hooks', () => {
  it('crash after a named step, counting every step reached', () => {
    const r = recorder();
    const h = makeHooks({crashAfter: 'bridge:veth'}, r.effects);
    h.crashPoint('attach:pending');
    h.crashPoint('bridge:bridge');
    assert.equal(r.kills, 0);
    h.crashPoint('bridge:veth');
    assert.equal(r.kills, 1);
    assert.deepEqual(r.lines, ['crash-hook: SIGKILL after step 3 (bridge:veth)\n']);
  });

  it('crash after the Nth step', () => {
    const r = recorder();
    const h = makeHooks({crashAfter: '2'}, r.effects);
    h.crashPoint('a');
    h.crashPoint('b');
    assert.deepEqual(r.lines, ['crash-hook: SIGKILL after step 2 (b)\n']);
  });

  it('pause at a step until the file exists; other steps pass', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hooks-'));
    try {
      const gate = path.join(dir, 'go');
      const r = recorder();
      const h = makeHooks({pauseAfter: `attach:targets=${gate}`}, r.effects);
      await h.pausePoint('other');
      assert.deepEqual(r.lines, []);
      const paused = h.pausePoint('attach:targets');
      await new Promise((res) => setTimeout(res, 50));
      assert.deepEqual(r.lines, ['pause-hook: paused after attach:targets\n']);
      assert.ok(!existsSync(gate));
      writeFileSync(gate, '');
      await paused;
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });

  it('none from an environment without the variables', () => {
    assert.equal(hooksFromEnv({}), noHooks);
    assert.equal(hooksFromEnv({CNI_DOCKER_CRASH_AFTER: ''}), noHooks);
    assert.notEqual(hooksFromEnv({CNI_DOCKER_CRASH_AFTER: 'attach:pending'}), noHooks);
  });
});
