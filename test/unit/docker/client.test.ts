import {strict as assert} from 'node:assert';
import {createDockerApi, dockerEndpoint, unreachable} from '../../../src/docker/client.js';
import {DockerUnreachableError} from '../../../src/docker/errors.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`connect ${code}`), {code});

describe('docker/client dockerEndpoint', () => {
  it('defaults to /var/run/docker.sock', () => {
    assert.deepEqual(dockerEndpoint({}), {kind: 'unix', url: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock'});
  });

  it('honours DOCKER_HOST=unix://PATH', () => {
    assert.deepEqual(dockerEndpoint({DOCKER_HOST: 'unix:///run/x.sock'}), {kind: 'unix', url: 'unix:///run/x.sock', socketPath: '/run/x.sock'});
  });

  it('serves plain tcp:// itself', () => {
    assert.deepEqual(dockerEndpoint({DOCKER_HOST: 'tcp://10.0.0.5:2375'}), {kind: 'tcp', url: 'tcp://10.0.0.5:2375', host: '10.0.0.5', port: 2375});
  });

  it('leaves TLS and ssh endpoints to docker-modem', () => {
    assert.equal(dockerEndpoint({DOCKER_HOST: 'tcp://h:2376'}).kind, 'modem');
    assert.equal(dockerEndpoint({DOCKER_HOST: 'tcp://h:2375', DOCKER_TLS_VERIFY: '1'}).kind, 'modem');
    assert.equal(dockerEndpoint({DOCKER_HOST: 'ssh://me@h'}).kind, 'modem');
  });
});

describe('docker/client unreachable', () => {
  it('names the socket and the fix for a missing socket', () => {
    const err = unreachable('unix:///x.sock', errno('ENOENT'));
    assert.ok(err instanceof DockerUnreachableError);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /^Docker is unreachable at unix:\/\/\/x\.sock: no such socket .*sudo bin\/setup/);
  });

  it('maps a refused connection and a permission error', () => {
    assert.match(unreachable('tcp://h:1', errno('ECONNREFUSED')).message, /connection refused/);
    assert.match(unreachable('unix:///s', errno('EACCES')).message, /permission denied \(run as root/);
  });

  it('a real request to a missing socket rejects with DockerUnreachableError', async () => {
    const api = createDockerApi({DOCKER_HOST: 'unix:///nonexistent-tfd.sock'});
    assert.equal(api.endpoint, 'unix:///nonexistent-tfd.sock');
    await assert.rejects(api.listContainers(true), /Docker is unreachable at unix:\/\/\/nonexistent-tfd\.sock: no such socket/);
  });
});

describe('docker/client shared transports (the service)', () => {
  it('clients share one kept-alive connection per endpoint, and a connection the engine dropped is retried once on a new one', async () => {
    const {createServer} = await import('node:http');
    const {mkdtempSync, rmSync} = await import('node:fs');
    const {tmpdir} = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'tdockerc-'));
    const sock = path.join(dir, 'engine.sock');
    let connections = 0;
    let requests = 0;
    let dropNext = false;
    const server = createServer((req, res) => {
      requests++;
      if (dropNext) {
        // What a restarting engine does to a kept-alive connection: it goes away without an answer.
        dropNext = false;
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({Id: 'abc', path: req.url}));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const transports = new Map();
      const env = {DOCKER_HOST: `unix://${sock}`};
      const a = createDockerApi(env, transports);
      const b = createDockerApi(env, transports);
      assert.deepEqual(await a.inspectContainer('one'), {Id: 'abc', path: '/containers/one/json'});
      assert.deepEqual(await b.inspectContainer('two'), {Id: 'abc', path: '/containers/two/json'});
      assert.equal(connections, 1, 'the second client did not reuse the first one\'s connection');
      dropNext = true;
      assert.deepEqual(await b.inspectContainer('three'), {Id: 'abc', path: '/containers/three/json'});
      assert.equal(requests, 4, 'the dropped request was not sent again');
      assert.equal(connections, 2);
      // A fresh connection that fails is not retried: the error is the engine's.
      dropNext = true;
      const c = createDockerApi(env);
      await assert.rejects(c.inspectContainer('four'), DockerUnreachableError);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
