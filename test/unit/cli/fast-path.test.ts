import assert from 'node:assert/strict';
import AttachCommand from '../../../commands/attach.js';
import DetachCommand from '../../../commands/detach.js';
import ListCommand from '../../../commands/list.js';
import {FAST_COMMANDS, parseFast, versionLine} from '../../../src/cli/fast-path.js';

/** Each fast-path command beside the oclif command it stands in for. */
const FAST_AND_OCLIF = [
  [FAST_COMMANDS.attach, AttachCommand],
  [FAST_COMMANDS.detach, DetachCommand],
  [FAST_COMMANDS.list, ListCommand],
] as const;

describe('cli/fast-path', () => {
  const attach = FAST_COMMANDS.attach;

  it('parses args and flags in any order, --flag=value and repeated multiples', () => {
    assert.deepEqual(parseFast(attach, ['web', '--conf', 'a.conf', 'db', '--args=X=1', '--args', 'Y=2', '--persist', '--json']), {
      args: ['web', 'db'],
      flags: {conf: 'a.conf', args: ['X=1', 'Y=2'], persist: true, json: true},
    });
    assert.deepEqual(parseFast(attach, ['--net', 'n', '--', '--odd-name']), {args: ['--odd-name'], flags: {net: 'n'}});
  });

  it('defers to oclif for help, unknown, short, repeated or valueless flags and flag conflicts', () => {
    for (const argv of [
      ['web', '--help'],
      ['web', '-h'],
      ['web', '--nope'],
      ['web', '--conf'],
      ['web', '--conf', '--net'],
      ['web', '--conf', 'a', '--conf', 'b'],
      ['web', '--conf', 'a', '--net', 'b'],
      ['web', '--id', 'x'],
      ['web', '--persist=yes'],
      ['web', '--all'],
    ]) assert.equal(parseFast(attach, argv), undefined, argv.join(' '));
    assert.deepEqual(parseFast(FAST_COMMANDS.detach, ['--all']), {args: [], flags: {all: true}});
  });

  it('knows only flags the oclif commands declare, with the same kind', () => {
    for (const [fast, cmd] of FAST_AND_OCLIF) {
      const declared = {...cmd.flags, json: {type: 'boolean', multiple: false}} as Record<string, {type: string; multiple?: boolean}>;
      for (const [name, kind] of Object.entries(fast.flags)) {
        const d = declared[name];
        assert.ok(d, `${name} is not a flag of ${cmd.name}`);
        assert.equal(kind === 'boolean' ? 'boolean' : 'option', d.type, name);
        assert.equal(kind === 'multiple', Boolean(d.multiple), name);
      }
    }
  });

  it('defers exactly the flag pairs oclif relates: every exclusive and dependsOn of the commands, and no other', () => {
    for (const [fast, cmd] of FAST_AND_OCLIF) {
      const flags = cmd.flags as Record<string, {exclusive?: string[]; dependsOn?: string[]}>;
      const exclusive = new Set<string>();
      const dependsOn = new Set<string>();
      for (const [name, d] of Object.entries(flags)) {
        for (const other of d.exclusive ?? []) exclusive.add([name, other].sort().join(' '));
        for (const needs of d.dependsOn ?? []) dependsOn.add(`${name} ${needs}`);
      }
      assert.deepEqual(new Set(fast.exclusive.map((p) => [...p].sort().join(' '))), exclusive, `${cmd.name} exclusive`);
      assert.deepEqual(new Set(Object.entries(fast.dependsOn).map(([f, n]) => `${f} ${n}`)), dependsOn, `${cmd.name} dependsOn`);
    }
    // list: the fast path takes no argument because the command declares none.
    assert.equal(FAST_COMMANDS.list.maxArgs, 0);
    assert.deepEqual(Object.keys(ListCommand.args ?? {}), []);
  });

  it('prints the version line oclif prints', () => {
    assert.equal(versionLine({name: 'cni-docker', version: '1.2.3'}), `cni-docker/1.2.3 ${process.platform}-${process.arch} node-${process.version}`);
  });
});
