import {strict as assert} from 'node:assert';
import {parse} from '@oclif/core/parser';
import {networkFlags, stateFlags, targetFlags} from '../../../src/cli/flags.js';

/** The shared flags' rules as oclif's parser applies them. */
describe('cli/flags', () => {
  it('--conf and --net exclude each other; --conf-dir goes with either', async () => {
    await assert.rejects(parse(['--conf', 'a.conf', '--net', 'n'], {flags: networkFlags}), /cannot also be provided when using/);
    const {flags} = await parse(['--net', 'n', '--conf-dir', '/etc/x'], {flags: networkFlags});
    assert.deepEqual(flags, {net: 'n', 'conf-dir': '/etc/x'});
  });

  it('--netns repeats; --id needs --netns', async () => {
    await assert.rejects(parse(['--id', 'x'], {flags: targetFlags}), /--netns/);
    const {flags} = await parse(['--netns', '/run/netns/a', '--netns', '/run/netns/b', '--id', 'x'], {flags: targetFlags});
    assert.deepEqual(flags, {netns: ['/run/netns/a', '/run/netns/b'], id: 'x'});
  });

  it('--state-root has no default of its own (deps resolves the environment variable)', async () => {
    assert.deepEqual((await parse([], {flags: stateFlags})).flags, {});
  });
});
