import {strict as assert} from 'node:assert';
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createDockerApi, dockerEndpoint, unreachable, type DockerEvent} from '../../../src/docker/client.js';
import {DockerApiError, DockerUnreachableError} from '../../../src/docker/errors.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`connect ${code}`), {code});

describe('docker/client dockerEndpoint', () => {
  it('defaults to /var/run/docker.sock', () => {
    assert.deepEqual(dockerEndpoint({}), {url: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock'});
    assert.deepEqual(dockerEndpoint({DOCKER_HOST: 'unix://'}), {url: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock'});
  });

  it('honours DOCKER_HOST=unix://PATH', () => {
    assert.deepEqual(dockerEndpoint({DOCKER_HOST: 'unix:///run/x.sock'}), {url: 'unix:///run/x.sock', socketPath: '/run/x.sock'});
  });

  it('leaves tcp, TLS and ssh endpoints to docker-modem, naming them as given', () => {
    for (const host of ['tcp://10.0.0.5:2375', 'tcp://h:2376', 'ssh://me@h'])
      assert.deepEqual(dockerEndpoint({DOCKER_HOST: host}), {url: host});
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

/**
 * dockerode against a small engine stand-in on a unix socket: the requests it
 * sends, and how its answers and failures reach our callers.
 */
describe('docker/client over dockerode', () => {
  let dir: string;
  let sock: string;
  let server: Server;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: string[] = [];
  const api = () => createDockerApi({DOCKER_HOST: `unix://${sock}`});
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, {'content-type': 'application/json'});
    res.end(JSON.stringify(body));
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tdockerc-'));
    sock = path.join(dir, 'engine.sock');
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      handle(req, res);
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  beforeEach(() => (seen.length = 0));
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, {recursive: true, force: true});
  });

  it("inspects, lists containers (all or running) and lists networks, returning the engine's JSON", async () => {
    handle = (req, res) => json(res, 200, req.url!.startsWith('/containers/web/json') ? {Id: 'abc'} : [{url: req.url}]);
    const a = api();
    assert.deepEqual(await a.inspectContainer('web'), {Id: 'abc'});
    assert.deepEqual(await a.listContainers(true), [{url: '/containers/json?all=true'}]);
    assert.deepEqual(await a.listContainers(false), [{url: '/containers/json?all=false'}]);
    assert.deepEqual(await a.listNetworks!(), [{url: '/networks'}]);
    assert.deepEqual(seen, [
      'GET /containers/web/json',
      'GET /containers/json?all=true',
      'GET /containers/json?all=false',
      'GET /networks',
    ]);
  });

  it("an engine error is a DockerApiError with its status and the engine's message", async () => {
    handle = (_req, res) => json(res, 404, {message: 'No such container: nope'});
    await assert.rejects(api().inspectContainer('nope'), (err: unknown) => {
      assert.ok(err instanceof DockerApiError);
      assert.equal(err.statusCode, 404);
      assert.equal(err.message, 'docker: No such container: nope (HTTP 404)');
      return true;
    });
    handle = (_req, res) => {
      res.writeHead(500);
      res.end('engine on fire\n');
    };
    await assert.rejects(
      api().listContainers(true),
      (err: unknown) => err instanceof DockerApiError && err.statusCode === 500 && err.message === 'docker: engine on fire (HTTP 500)',
    );
  });

  it('a success answer that is not JSON is a DockerApiError, not data', async () => {
    handle = (_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    };
    await assert.rejects(api().listContainers(true), /docker: invalid JSON from \/containers\/json \(HTTP 200\)/);
  });

  it('a connection the engine drops without an answer is DockerUnreachableError naming the endpoint', async () => {
    handle = (req) => req.socket.destroy();
    await assert.rejects(api().inspectContainer('x'), (err: unknown) => {
      assert.ok(err instanceof DockerUnreachableError);
      assert.equal(err.endpoint, `unix://${sock}`);
      assert.match(err.message, /^Docker is unreachable at unix:\/\/.*engine\.sock: /);
      return true;
    });
  });

  it('follows the event stream with its filters: each line an event, closed when the engine ends it', async () => {
    const events = [
      {Type: 'container', Action: 'start', Actor: {ID: 'a'}, time: 1, timeNano: 1},
      {Type: 'container', Action: 'destroy', Actor: {ID: 'b'}, time: 2, timeNano: 2},
    ];
    handle = (_req, res) => {
      res.writeHead(200, {'content-type': 'application/json'});
      // Split inside an event: the lines are put back together.
      const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
      res.write(text.slice(0, 10));
      setTimeout(() => res.end(text.slice(10)), 20);
    };
    const got: DockerEvent[] = [];
    const stream = await api().events!({type: ['container']}, (e) => got.push(e));
    await stream.closed;
    assert.deepEqual(got, events);
    const url = new URL(seen[0].split(' ')[1], 'http://x');
    assert.equal(url.pathname, '/events');
    assert.deepEqual(JSON.parse(url.searchParams.get('filters')!), {type: ['container']});
  });

  it('an event stream the engine refuses is a DockerApiError', async () => {
    handle = (_req, res) => json(res, 500, {message: 'no events today'});
    await assert.rejects(
      api().events!({}, () => undefined),
      /docker: no events today \(HTTP 500\)/,
    );
  });
});
