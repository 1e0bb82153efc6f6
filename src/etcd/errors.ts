import {UserError} from '../errors.js';

/**
 * etcd's errors, each one line that names etcd and where it was asked:
 *   etcd unreachable at http://a:2379, http://b:2379: connection refused
 *   etcd at http://a:2379: etcdserver: requested lease not found
 */
export class EtcdError extends UserError {
  /** The gRPC status code etcd answered with; undefined when no member answered. */
  readonly code: number | undefined;
  readonly endpoints: readonly string[];

  constructor(message: string, endpoints: readonly string[], code?: number, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'EtcdError';
    this.code = code;
    this.endpoints = endpoints;
  }
}

/** No endpoint answered within the deadline (refused, timed out, TLS failed, ...). */
export class EtcdUnreachableError extends EtcdError {
  constructor(endpoints: readonly string[], reason: string, options?: {cause?: unknown}) {
    super(`etcd unreachable at ${endpoints.join(', ')}: ${reason}`, endpoints, undefined, options);
    this.name = 'EtcdUnreachableError';
  }
}

/** gRPC status codes the gateway reports in its `code` field (google.golang.org/grpc/codes). */
export const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** An error etcd itself answered with: the member's words and its gRPC code. */
export function etcdAnswerError(endpoint: string, message: string, code: number | undefined, endpoints: readonly string[]): EtcdError {
  return new EtcdError(`etcd at ${endpoint}: ${message}`, endpoints, code);
}

const SOCKET_REASON: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (temporary DNS failure)',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate (give the CA file)',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in the chain (give the CA file)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: unknown certificate authority (give the CA file)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: unknown certificate authority (give the CA file)',
  CERT_HAS_EXPIRED: 'TLS: certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: the certificate does not name this host',
};

/**
 * Why one request to one endpoint failed, in a few words: fetch wraps the
 * socket error as `TypeError: fetch failed` with the real one as its cause.
 */
export function transportReason(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const x = e as {name?: string; code?: string; message?: string; cause?: unknown};
    if (x.name === 'TimeoutError') return 'timed out';
    if (x.code && SOCKET_REASON[x.code]) return SOCKET_REASON[x.code];
    if (x.cause === undefined) {
      if (x.code) return `${x.message ?? x.code} (${x.code})`.replace(/^(.*?)\s*\(\1\)$/, '$1');
      return x.message ?? String(e);
    }
    e = x.cause;
  }
  return String(err);
}
