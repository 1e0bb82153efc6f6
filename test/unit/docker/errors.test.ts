import {strict as assert} from 'node:assert';
import {
  AmbiguousContainerError,
  ContainerNotRunningError,
  DockerApiError,
  DockerUnreachableError,
  HostNetworkError,
  NoSuchContainerError,
} from '../../../src/docker/errors.js';
import {UserError} from '../../../src/errors.js';

describe('docker/errors', () => {
  it('every Docker error is a UserError (one line, exit 1) with its own name', () => {
    const all = [
      new DockerUnreachableError('/var/run/docker.sock', 'connection refused', 'is dockerd running?'),
      new DockerApiError(500, 'boom'),
      new NoSuchContainerError('web'),
      new AmbiguousContainerError('ab', []),
      new ContainerNotRunningError('web', 'exited'),
      new HostNetworkError('web'),
    ];
    for (const e of all) {
      assert.ok(e instanceof UserError, e.name);
      assert.equal(e.exitCode, 1, e.name);
      assert.equal(e.name, e.constructor.name);
      assert.ok(!e.message.includes('\n'), e.name);
    }
  });

  it('DockerUnreachableError names the endpoint, the reason and the hint, and keeps the cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'});
    const e = new DockerUnreachableError('/run/docker.sock', 'connection refused', 'is dockerd running?', cause);
    assert.equal(e.message, 'Docker is unreachable at /run/docker.sock: connection refused (is dockerd running?)');
    assert.equal(e.endpoint, '/run/docker.sock');
    assert.equal(e.cause, cause);
  });

  it('DockerApiError carries the status', () => {
    const e = new DockerApiError(409, 'conflict');
    assert.equal(e.message, 'docker: conflict (HTTP 409)');
    assert.equal(e.statusCode, 409);
  });

  it('AmbiguousContainerError lists each match by short Id and name', () => {
    const matches = [
      {id: 'abc123def4567890aaaa', name: 'web'},
      {id: 'abc123def4560000bbbb', name: 'db'},
    ];
    const e = new AmbiguousContainerError('abc123', matches);
    assert.equal(
      e.message,
      'container Id prefix "abc123" is ambiguous: it matches abc123def456 (web), abc123def456 (db); give more of the Id or the name',
    );
    assert.deepEqual(e.matches, matches);
  });

  it("the container refusals say what to do, with the caller's context", () => {
    assert.equal(new NoSuchContainerError('web').message, 'no such container: web');
    assert.equal(new ContainerNotRunningError('web', 'exited').message, 'container web is not running (status: exited); start it first');
    assert.equal(
      new ContainerNotRunningError('web', 'paused', " (its network is X's)").message,
      "container web is not running (status: paused) (its network is X's); start it first",
    );
    assert.equal(
      new HostNetworkError('web').message,
      "container web uses the host's network namespace (--net=host); refusing: attaching would reconfigure the host",
    );
    assert.match(
      new HostNetworkError('web', ' via --net=container:db').message,
      /^container web uses the host's network namespace \(--net=host\) via --net=container:db; refusing/,
    );
  });
});
