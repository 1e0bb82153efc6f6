import {UserError} from '../errors.js';

/** The Docker Engine API cannot be reached at all (socket missing, refused, no permission). */
export class DockerUnreachableError extends UserError {
  readonly endpoint: string;

  constructor(endpoint: string, reason: string, hint: string, cause?: unknown) {
    super(`Docker is unreachable at ${endpoint}: ${reason} (${hint})`, {cause});
    this.name = 'DockerUnreachableError';
    this.endpoint = endpoint;
  }
}

/** The engine answered with an error status. */
export class DockerApiError extends UserError {
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(`docker: ${message} (HTTP ${statusCode})`);
    this.name = 'DockerApiError';
    this.statusCode = statusCode;
  }
}

export class NoSuchContainerError extends UserError {
  constructor(ref: string) {
    super(`no such container: ${ref}`);
    this.name = 'NoSuchContainerError';
  }
}

export interface ContainerRef {
  id: string;
  name: string;
}

export class AmbiguousContainerError extends UserError {
  readonly matches: ContainerRef[];

  constructor(ref: string, matches: ContainerRef[]) {
    const list = matches.map((m) => `${m.id.slice(0, 12)} (${m.name})`).join(', ');
    super(`container Id prefix "${ref}" is ambiguous: it matches ${list}; give more of the Id or the name`);
    this.name = 'AmbiguousContainerError';
    this.matches = matches;
  }
}

export class ContainerNotRunningError extends UserError {
  constructor(name: string, status: string, context = '') {
    super(`container ${name} is not running (status: ${status})${context}; start it first`);
    this.name = 'ContainerNotRunningError';
  }
}

export class HostNetworkError extends UserError {
  constructor(name: string, context = '') {
    super(`container ${name} uses the host's network namespace (--net=host)${context}; refusing: attaching would reconfigure the host`);
    this.name = 'HostNetworkError';
  }
}
