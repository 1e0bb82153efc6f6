import type {Agent, IncomingMessage} from 'node:http';
import type {ContainerInfo, ContainerInspectInfo} from 'dockerode';
import {DockerApiError, DockerUnreachableError} from './errors.js';
import {packagePath} from '../util/package-root.js';

export type {ContainerInfo, ContainerInspectInfo};

/**
 * The slice of the Docker Engine API that cni-docker uses. Tests hand code a
 * fake; the real one is createDockerApi(env).
 */
export interface DockerApi {
  /** Where the engine is, for messages: "unix:///var/run/docker.sock" or DOCKER_HOST. */
  readonly endpoint: string;
  /** GET /containers/{idOrName}/json. Throws DockerApiError (404: no such container). */
  inspectContainer(idOrName: string): Promise<ContainerInspectInfo>;
  /** GET /containers/json?all=... */
  listContainers(all: boolean): Promise<ContainerInfo[]>;
  /** GET /networks: Docker's own networks (with IPAM subnets). Optional so existing fakes stay valid. */
  listNetworks?(): Promise<NetworkInfo[]>;
  /**
   * GET /events as a stream: resolves once the engine accepted the request;
   * `onEvent` gets each event; the returned stream's `closed` settles when the
   * engine ends it (resolve) or the connection fails (reject).
   */
  events?(filters: Record<string, string[]>, onEvent: (e: DockerEvent) => void): Promise<EventStream>;
}

/** One engine event (the fields cni-docker reads). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: {ID: string; Attributes?: Record<string, string>};
  time: number;
  timeNano: number;
}

export interface EventStream {
  closed: Promise<void>;
  close(): void;
}

/** A Docker network as GET /networks returns it (the fields cni-docker reads). */
export interface NetworkInfo {
  Name: string;
  Id: string;
  Driver: string;
  IPAM?: {Config?: {Subnet?: string; Gateway?: string}[]};
  Options?: Record<string, string>;
}

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Where DOCKER_HOST points. unix:// and plain tcp:// are served by a tiny
 * node:http client (fast start-up); anything else (TLS, ssh://, npipe://) by
 * dockerode, which reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
 * from the process environment itself.
 */
export type DockerEndpoint =
  | {kind: 'unix'; url: string; socketPath: string}
  | {kind: 'tcp'; url: string; host: string; port: number}
  | {kind: 'modem'; url: string};

export function dockerEndpoint(env: NodeJS.ProcessEnv): DockerEndpoint {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return {kind: 'unix', url: `unix://${DEFAULT_SOCKET}`, socketPath: DEFAULT_SOCKET};
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length) || DEFAULT_SOCKET;
    return {kind: 'unix', url: `unix://${socketPath}`, socketPath};
  }
  const tls = env.DOCKER_TLS_VERIFY === '1' || Boolean(env.DOCKER_CERT_PATH);
  const m = /^tcp:\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
  if (m && !tls && m[2] !== '2376') {
    return {kind: 'tcp', url: host, host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2])};
  }
  return {kind: 'modem', url: host};
}

const REQUEST_TIMEOUT_MS = 60_000;

/** Transports by endpoint URL, shared by the clients of a long-lived process (the service). */
export type DockerTransports = Map<string, Promise<(path: string) => Promise<unknown>>>;

/**
 * A lazily connecting client: constructing it loads nothing and opens nothing.
 * With `transports`, unix and plain tcp endpoints reuse one keep-alive
 * connection pool per endpoint across clients; each client still has its own
 * state (the lookups prefetched for one command stay with that command).
 */
export function createDockerApi(env: NodeJS.ProcessEnv, transports?: DockerTransports): DockerApi {
  const ep = dockerEndpoint(env);
  let get: ((path: string) => Promise<unknown>) | undefined;
  const transport = (): Promise<(path: string) => Promise<unknown>> => {
    if (ep.kind === 'modem') return modemGet(ep);
    if (!transports) return httpGet(ep);
    let t = transports.get(ep.url);
    if (!t) transports.set(ep.url, (t = httpGet(ep)));
    return t;
  };
  const request = async (path: string): Promise<unknown> => {
    get ??= await transport();
    return get(path);
  };
  return {
    endpoint: ep.url,
    async inspectContainer(idOrName) {
      return (await request(`/containers/${encodeURIComponent(idOrName)}/json`)) as ContainerInspectInfo;
    },
    async listContainers(all) {
      return (await request(`/containers/json?all=${all ? 'true' : 'false'}`)) as ContainerInfo[];
    },
    async listNetworks() {
      return (await request('/networks')) as NetworkInfo[];
    },
    events: (filters, onEvent) => dockerEvents(ep, filters, onEvent),
  };
}

type DockerodeCtor = new (opts?: object) => {
  modem: ModemLike;
  getEvents(opts: {filters: Record<string, string[]>}): Promise<NodeJS.ReadableStream & {destroy(): void}>;
};

/**
 * dockerode itself, for what the small node:http client does not do (the
 * event stream, TLS and ssh endpoints). Loaded with require() only on those
 * paths: its main module pulls in grpc/protobuf, which every other command
 * would otherwise pay for at start-up.
 */
async function loadDockerode(ep: DockerEndpoint): Promise<InstanceType<DockerodeCtor>> {
  const {createRequire} = await import('node:module');
  const Docker = createRequire(packagePath('package.json'))('dockerode') as DockerodeCtor;
  // For unix/tcp pass the endpoint; otherwise dockerode reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  if (ep.kind === 'unix') return new Docker({socketPath: ep.socketPath, Promise});
  if (ep.kind === 'tcp') return new Docker({host: ep.host, port: ep.port, protocol: 'http', Promise});
  return new Docker({Promise});
}

/** Docker's event stream (dockerode getEvents), one JSON object per line; used by `watch`. */
async function dockerEvents(ep: DockerEndpoint, filters: Record<string, string[]>, onEvent: (e: DockerEvent) => void): Promise<EventStream> {
  const docker = await loadDockerode(ep);
  let stream: NodeJS.ReadableStream & {destroy(): void};
  try {
    stream = await docker.getEvents({filters});
  } catch (e) {
    const err = e as Error & {statusCode?: number; json?: {message?: string}};
    throw err.statusCode ? new DockerApiError(err.statusCode, err.json?.message ?? err.message) : unreachable(ep.url, err);
  }
  let buf = '';
  let done = false;
  const closed = new Promise<void>((res, rej) => {
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) onEvent(JSON.parse(line) as DockerEvent);
      }
    });
    stream.on('end', () => res());
    stream.on('close', () => res());
    stream.on('error', (e: Error) => (done ? res() : rej(unreachable(ep.url, e))));
  });
  return {
    closed,
    close() {
      done = true;
      stream.destroy();
    },
  };
}

/** Map a connection failure to a one-line error that names the endpoint and the fix. */
export function unreachable(endpoint: string, err: unknown): DockerUnreachableError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const setup = 'start dockerd, or run `sudo bin/setup`';
  switch (code) {
    case 'ENOENT':
      return new DockerUnreachableError(endpoint, 'no such socket', `is dockerd running? ${setup}`, err);
    case 'ECONNREFUSED':
      return new DockerUnreachableError(endpoint, 'connection refused', `is dockerd running? ${setup}`, err);
    case 'EACCES':
    case 'EPERM':
      return new DockerUnreachableError(endpoint, 'permission denied', 'run as root, e.g. with sudo', err);
    default: {
      const reason = err instanceof Error ? err.message : String(err);
      return new DockerUnreachableError(endpoint, reason, setup, err);
    }
  }
}

function apiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as {message?: unknown};
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: use the text
  }
  return body.trim() || 'empty response';
}

async function httpGet(ep: Exclude<DockerEndpoint, {kind: 'modem'}>): Promise<(path: string) => Promise<unknown>> {
  const http = await import('node:http');
  // Keep-alive sockets are unref'd while idle, so they never hold the process open.
  const agent: Agent = new http.Agent({keepAlive: true});
  // servername '' (plain HTTP has no TLS SNI) spares node:http's agent an isIP()
  // on the host name, whose regexes cost ~5 ms to compile on every CLI start.
  const target = ep.kind === 'unix' ? {socketPath: ep.socketPath, servername: ''} : {host: ep.host, port: ep.port, servername: ''};
  const get = (path: string, retry: boolean): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = http.request({...target, agent, path, method: 'GET', headers: {Host: 'docker'}}, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(unreachable(ep.url, e)));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(new DockerApiError(status, apiMessage(body)));
          try {
            resolve(JSON.parse(body));
          } catch {
            reject(new DockerApiError(status, `invalid JSON from ${path}`));
          }
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), {code: 'ETIMEDOUT'})));
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A kept-alive connection the engine closed meanwhile (dockerd restarted under
        // a long-lived process, the service): a GET is safe to send again, once, on a new one.
        if (retry && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return void get(path, false).then(resolve, reject);
        reject(unreachable(ep.url, e));
      });
      req.end();
    });
  return (path) => get(path, true);
}

interface ModemLike {
  dial(
    opts: {path: string; method: string; options: Record<string, never>; statusCodes: Record<number, boolean | string>},
    cb: (err: (Error & {statusCode?: number; json?: {message?: string}}) | null, data: unknown) => void,
  ): void;
}

/** dockerode's transport for TLS/ssh endpoints; loaded only when needed. */
async function modemGet(ep: DockerEndpoint): Promise<(path: string) => Promise<unknown>> {
  const {modem} = await loadDockerode(ep);
  return (path) =>
    new Promise((resolve, reject) => {
      modem.dial({path, method: 'GET', options: {}, statusCodes: {200: true}}, (err, data) => {
        if (!err) return resolve(data);
        if (err.statusCode) return reject(new DockerApiError(err.statusCode, err.json?.message ?? err.message));
        reject(unreachable(ep.url, err));
      });
    });
}
