import {strict as assert} from 'node:assert';
import type {ContainerInfo} from '../../../src/docker/client.js';
import {AmbiguousContainerError, DockerApiError, HostNetworkError, NoSuchContainerError} from '../../../src/docker/errors.js';
import {lookupSandbox, matchContainers} from '../../../src/docker/lookup.js';
import {FakeDocker, hexId} from '../../helpers/fake-docker.js';

const list = (...cs: [string, string][]): ContainerInfo[] =>
  cs.map(([id, name]) => ({Id: id, Names: [`/${name}`]}) as unknown as ContainerInfo);

describe('docker/lookup matchContainers', () => {
  const a = hexId('abc1');
  const b = hexId('abc2');
  const c = hexId('def');
  const containers = list([a, 'web'], [b, 'db'], [c, 'abc1']);

  it('prefers an exact full Id', () => {
    assert.deepEqual(
      matchContainers(containers, a).map((x) => x.Id),
      [a],
    );
  });

  it('prefers an exact name over an Id prefix (Docker precedence)', () => {
    assert.deepEqual(
      matchContainers(containers, 'abc1').map((x) => x.Id),
      [c],
    );
  });

  it('accepts a name with a leading slash', () => {
    assert.deepEqual(
      matchContainers(containers, '/db').map((x) => x.Id),
      [b],
    );
  });

  it('returns every container sharing an Id prefix', () => {
    assert.deepEqual(
      matchContainers(containers, 'abc').map((x) => x.Id),
      [a, b],
    );
  });

  it('returns nothing for a non-hex reference that is no name', () => {
    assert.deepEqual(matchContainers(containers, 'abcx'), []);
    assert.deepEqual(matchContainers(containers, 'nope'), []);
  });
});

describe('docker/lookup lookupSandbox', () => {
  const web = hexId('aa11');
  const db = hexId('aa22');
  const stopped = hexId('bb');
  const host = hexId('cc');
  const joined = hexId('dd');
  const joinedHost = hexId('ee');
  const joinedStopped = hexId('ff');
  const docker = () =>
    new FakeDocker([
      {id: web, name: 'web', pid: 101},
      {id: db, name: 'db'},
      {id: stopped, name: 'stopped', running: false},
      {id: host, name: 'hostnet', networkMode: 'host'},
      {id: joined, name: 'sidecar', networkMode: `container:${web}`, pid: 202},
      {id: joinedHost, name: 'hostside', networkMode: `container:${host}`},
      {id: joinedStopped, name: 'orphan', networkMode: `container:${stopped}`},
    ]);

  it('resolves a name to Id, PID and SandboxKey with one inspect', async () => {
    const api = docker();
    const sb = await lookupSandbox(api, 'web');
    assert.deepEqual(sb, {
      id: web,
      name: 'web',
      pid: 101,
      sandboxKey: `/var/run/docker/netns/${web.slice(0, 12)}`,
      running: true,
      networkMode: 'none',
    });
    assert.deepEqual(api.calls, ['inspect web']);
  });

  it('resolves a unique Id prefix', async () => {
    assert.equal((await lookupSandbox(docker(), 'aa1')).id, web);
  });

  it('reports an ambiguous prefix listing every match', async () => {
    const api = docker();
    await assert.rejects(lookupSandbox(api, 'aa'), (err: unknown) => {
      assert.ok(err instanceof AmbiguousContainerError);
      assert.deepEqual(err.matches, [
        {id: web, name: 'web'},
        {id: db, name: 'db'},
      ]);
      assert.match(err.message, /"aa" is ambiguous: it matches aa1100000000 \(web\), aa2200000000 \(db\)/);
      return true;
    });
    assert.deepEqual(api.calls, ['inspect aa', 'list all=true']);
  });

  it('reports an unknown name as no such container', async () => {
    await assert.rejects(lookupSandbox(docker(), 'nope'), (err: unknown) => {
      assert.ok(err instanceof NoSuchContainerError);
      assert.equal(err.message, 'no such container: nope');
      assert.equal(err.exitCode, 1);
      return true;
    });
  });

  it('refuses an empty reference', async () => {
    await assert.rejects(lookupSandbox(docker(), ' '), NoSuchContainerError);
  });

  it('refuses a stopped container', async () => {
    await assert.rejects(
      lookupSandbox(docker(), 'stopped'),
      /^ContainerNotRunningError: container stopped is not running \(status: exited\)/,
    );
  });

  it('refuses a --net=host container', async () => {
    await assert.rejects(lookupSandbox(docker(), 'hostnet'), (err: unknown) => {
      assert.ok(err instanceof HostNetworkError);
      assert.match(err.message, /host's network namespace \(--net=host\).*would reconfigure the host/);
      return true;
    });
  });

  it("resolves --net=container:X to X's namespace and says so", async () => {
    const sb = await lookupSandbox(docker(), 'sidecar');
    assert.equal(sb.id, joined);
    assert.equal(sb.pid, 202);
    assert.equal(sb.sandboxKey, `/var/run/docker/netns/${web.slice(0, 12)}`);
    assert.deepEqual(sb.sharedWith, {id: web, name: 'web'});
    assert.match(sb.note ?? '', /sidecar uses --net=container:web/);
  });

  it('refuses --net=container:X when X is on the host network', async () => {
    await assert.rejects(lookupSandbox(docker(), 'hostside'), /hostnet uses the host's network namespace.*hostside shares/);
  });

  it('refuses --net=container:X when X is stopped, naming both', async () => {
    await assert.rejects(lookupSandbox(docker(), 'orphan'), /container stopped is not running.*orphan shares/);
  });

  it('passes through engine errors other than not-found/ambiguous', async () => {
    const api = docker();
    api.inspectContainer = async () => {
      throw new DockerApiError(503, 'busy');
    };
    await assert.rejects(lookupSandbox(api, 'web'), /docker: busy \(HTTP 503\)/);
  });
});
