import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {UserError} from '../../../src/errors.js';
import {assertLiveTarget, containerTarget, netnsTarget, resolveTargets} from '../../../src/runtime/target.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

/** /proc/self/ns/net is a live network namespace any user can statfs. */
const LIVE_NETNS = '/proc/self/ns/net';

describe('runtime/target', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/ttgt-unit-');
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));

  it('netnsTarget: the file name is the container id unless given, the path resolved against cwd', async () => {
    writeFileSync(`${tmp}/ns1`, '');
    assert.deepEqual(await netnsTarget('ns1', undefined, tmp), {kind: 'netns', containerId: 'ns1', name: 'ns1', netns: `${tmp}/ns1`});
    assert.equal((await netnsTarget(`${tmp}/ns1`, 'given-id')).containerId, 'given-id');
  });

  it('netnsTarget refuses a name that is no container id (asking for --id) and a path that does not exist', async () => {
    writeFileSync(`${tmp}/.hidden`, '');
    await assert.rejects(netnsTarget(`${tmp}/.hidden`), (e: unknown) => e instanceof UserError && /pass --id/.test(e.message));
    await assert.rejects(
      netnsTarget(`${tmp}/missing`),
      (e: unknown) => e instanceof UserError && /does not exist \(create it with: ip netns add missing\)/.test(e.message),
    );
  });

  it("containerTarget: a container joined to another's namespace is attached as that one, with a note", async () => {
    const owner = hexId('aaaa');
    const docker = new FakeDocker([
      {id: owner, name: 'owner', pid: 77},
      {id: hexId('bbbb'), name: 'side', networkMode: 'container:owner'},
    ]);
    const t = await containerTarget(docker, 'side');
    assert.equal(t.containerId, owner);
    assert.equal(t.name, 'owner');
    assert.equal(t.netns, `/var/run/docker/netns/${owner.slice(0, 12)}`);
    assert.match(t.note ?? '', /side uses --net=container:owner/);
    const own = await containerTarget(docker, 'owner');
    assert.deepEqual(own, {
      kind: 'container',
      containerId: owner,
      name: 'owner',
      netns: `/var/run/docker/netns/${owner.slice(0, 12)}`,
      note: undefined,
      pid: 77,
    });
  });

  it('resolveTargets: containers or --netns, never both; --id only with a single --netns', async () => {
    const deps = {docker: new FakeDocker([{id: hexId('aaaa'), name: 'web'}]), cwd: tmp};
    writeFileSync(`${tmp}/a`, '');
    writeFileSync(`${tmp}/b`, '');
    await assert.rejects(resolveTargets(deps, {containers: ['web'], netns: ['a']}), /not both/);
    await assert.rejects(resolveTargets(deps, {containers: [], netns: ['a', 'b'], id: 'x'}), /single --netns/);
    await assert.rejects(resolveTargets(deps, {containers: []}), /name at least one container/);
    await assert.rejects(resolveTargets(deps, {containers: ['web'], id: 'x'}), /--id goes with --netns only/);
    assert.deepEqual(
      (await resolveTargets(deps, {containers: [], netns: ['a', 'b']})).map((t) => t.containerId),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await resolveTargets(deps, {containers: ['web']})).map((t) => t.name),
      ['web'],
    );
  });

  it('assertLiveTarget passes a live namespace and names what went for a dead one', () => {
    assertLiveTarget({kind: 'netns', containerId: 'x', name: 'x', netns: LIVE_NETNS});
    assert.throws(
      () => assertLiveTarget({kind: 'container', containerId: 'c', name: 'web', netns: `${tmp}/gone`}),
      /container web is no longer running/,
    );
    // A plain file is not a namespace.
    writeFileSync(`${tmp}/f`, '');
    assert.throws(
      () => assertLiveTarget({kind: 'netns', containerId: 'f', name: 'f', netns: `${tmp}/f`}),
      /network namespace f was deleted/,
    );
  });
});
