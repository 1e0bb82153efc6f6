import assert from 'node:assert/strict';
import {CommandError, execaRunner} from '../../../src/exec/runner.js';

describe('execaRunner', () => {
  const runner = execaRunner();

  it('passes argv without a shell and returns stdout unstripped', async () => {
    const r = await runner.run('printf', ['%s|', 'a b', '$HOME']);
    assert.deepEqual(r, {stdout: 'a b|$HOME|', stderr: '', exitCode: 0});
  });

  it('feeds input to stdin', async () => {
    const r = await runner.run('cat', [], {input: 'line1\nline2\n'});
    assert.equal(r.stdout, 'line1\nline2\n');
  });

  it('gives a child without input an empty stdin, not an open pipe it would wait on', async () => {
    const r = await runner.run('cat', [], {timeoutMs: 5000});
    assert.deepEqual(r, {stdout: '', stderr: '', exitCode: 0});
  });

  it('throws CommandError with argv, exit code and stderr on failure', async () => {
    await assert.rejects(runner.run('sh', ['-c', 'echo oops >&2; exit 3']), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.deepEqual(err.argv, ['sh', '-c', 'echo oops >&2; exit 3']);
      assert.equal(err.exitCode, 3);
      assert.equal(err.detail, 'oops');
      return true;
    });
  });

  it('returns the failure instead of throwing with reject: false', async () => {
    const r = await runner.run('sh', ['-c', 'exit 4'], {reject: false});
    assert.equal(r.exitCode, 4);
  });

  it('reports a missing file as exit 127 with the spawn error', async () => {
    const r = await runner.run('/nonexistent/cni-docker-no-such-bin', [], {reject: false});
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /ENOENT/);
  });

  it('merges env over process.env, or uses env alone with extendEnv: false', async () => {
    const merged = await runner.run('sh', ['-c', 'echo "$FOO:${PATH:+path}"'], {env: {FOO: 'x'}});
    assert.equal(merged.stdout, 'x:path\n');
    const alone = await runner.run('/usr/bin/env', [], {env: {FOO: 'y', BAR: undefined}, extendEnv: false});
    assert.equal(alone.stdout, 'FOO=y\n');
  });

  it('kills the child after timeoutMs', async () => {
    const t0 = Date.now();
    const r = await runner.run('sleep', ['5'], {reject: false, timeoutMs: 100});
    assert.notEqual(r.exitCode, 0);
    assert.ok(Date.now() - t0 < 3000);
    assert.match(r.stderr, /timed out/);
  });

  it('returns long output whole, characters split across reads intact', async () => {
    const r = await runner.run(process.execPath, [
      '-e',
      "process.stdout.write('é'.repeat(100000)); process.stderr.write('ü'.repeat(50000))",
    ]);
    assert.equal(r.stdout, 'é'.repeat(100000));
    assert.equal(r.stderr, 'ü'.repeat(50000));
  });

  it('discards stdout, or both streams, when the caller has no use for them; the exit code stays', async () => {
    const script = 'echo out; echo err >&2; exit 5';
    assert.deepEqual(await runner.run('sh', ['-c', script], {reject: false, discard: 'stdout'}), {
      stdout: '',
      stderr: 'err\n',
      exitCode: 5,
    });
    assert.deepEqual(await runner.run('sh', ['-c', script], {reject: false, discard: 'all'}), {stdout: '', stderr: '', exitCode: 5});
  });

  it('survives a child that exits without reading its input', async () => {
    const r = await runner.run('true', [], {input: 'x'.repeat(1 << 20)});
    assert.equal(r.exitCode, 0);
  });
});
