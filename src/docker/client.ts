import type Dockerode from 'dockerode';
import type {ContainerInfo, ContainerInspectInfo} from 'dockerode';
import {DockerApiError, DockerUnreachableError} from './errors.js';
import {errorText} from '../util/error-text.js';

export type {ContainerInfo, ContainerInspectInfo};

/**
 * The slice of the Docker Engine API that cni-docker uses. Tests hand code a
 * fake; the real one is createDockerApi(env), over dockerode.
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
 * The engine `env` names: its URL for messages, and the unix socket when it
 * is one. Any other DOCKER_HOST (tcp, TLS, ssh) is left to docker-modem, which
 * reads DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and the ssh agent from
 * the process environment itself.
 */
export function dockerEndpoint(env: NodeJS.ProcessEnv): {url: string; socketPath?: string} {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return {url: `unix://${DEFAULT_SOCKET}`, socketPath: DEFAULT_SOCKET};
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length) || DEFAULT_SOCKET;
    return {url: `unix://${socketPath}`, socketPath};
  }
  return {url: host};
}

/** The process's dockerode clients by socket ('' for docker-modem's own reading of DOCKER_HOST): one per engine. */
const clients = new Map<string, Promise<Dockerode>>();

/** dockerode, imported and constructed on the first request (commands that never reach Docker never load it). */
function dockerode(socketPath: string | undefined): Promise<Dockerode> {
  const key = socketPath ?? '';
  let c = clients.get(key);
  if (!c) {
    c = import('dockerode').then(({default: Docker}) => new Docker(socketPath === undefined ? {} : {socketPath}));
    clients.set(key, c);
  }
  return c;
}

/** What dockerode rejects with: an engine answer (statusCode, json body) or a connection error (code). */
type ModemError = Error & {statusCode?: number; json?: unknown; reason?: string; code?: string};

function apiError(err: ModemError): DockerApiError {
  const body = err.json;
  let message = '';
  if (body && typeof body === 'object' && typeof (body as {message?: unknown}).message === 'string')
    message = (body as {message: string}).message;
  else if (Buffer.isBuffer(body) || typeof body === 'string') message = body.toString().trim();
  // On a stream request (events) docker-modem puts the engine's words only into its own message.
  else if (body == null) message = /^\(HTTP code \d+\) .*? - ([\s\S]*?)\s*$/.exec(err.message)?.[1] ?? '';
  return new DockerApiError(err.statusCode!, message || err.reason || 'empty response');
}

/** An engine's error answer as DockerApiError, anything else (no connection) as DockerUnreachableError. */
function mapError(endpoint: string, err: unknown): Error {
  const e = err as ModemError;
  return e?.statusCode ? apiError(e) : unreachable(endpoint, err);
}

/**
 * A lazily connecting client: constructing it loads nothing and opens
 * nothing; the first request imports dockerode and makes the process's client
 * for this engine.
 */
export function createDockerApi(env: NodeJS.ProcessEnv): DockerApi {
  const ep = dockerEndpoint(env);
  const call = async <T>(fn: (d: Dockerode) => Promise<unknown>, what: string): Promise<T> => {
    const d = await dockerode(ep.socketPath);
    let value: unknown;
    try {
      value = await fn(d);
    } catch (err) {
      throw mapError(ep.url, err);
    }
    // docker-modem hands back the raw body when it is not JSON.
    if (Buffer.isBuffer(value)) throw new DockerApiError(200, `invalid JSON from ${what}`);
    return value as T;
  };
  return {
    endpoint: ep.url,
    inspectContainer: (idOrName) => call((d) => d.getContainer(idOrName).inspect(), `/containers/${idOrName}/json`),
    listContainers: (all) => call((d) => d.listContainers({all}), '/containers/json'),
    listNetworks: () => call((d) => d.listNetworks(), '/networks'),
    events: async (filters, onEvent) => {
      const stream = await call<NodeJS.ReadableStream & {destroy(): void}>((d) => d.getEvents({filters}), '/events');
      return followEvents(ep.url, stream, onEvent);
    },
  };
}

/** Docker's event stream, one JSON object per line; used by `watch`. */
function followEvents(endpoint: string, stream: NodeJS.ReadableStream & {destroy(): void}, onEvent: (e: DockerEvent) => void): EventStream {
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
    stream.on('error', (e: Error) => (done ? res() : rej(unreachable(endpoint, e))));
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
      const reason = errorText(err);
      return new DockerUnreachableError(endpoint, reason, setup, err);
    }
  }
}
