/** CNI error codes from the spec (SPEC.md "Error Codes"). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** A CNI error: what a plugin prints as `{code, msg, details}` and exits 1 with. */
export class CniError extends Error {
  readonly code: number;
  readonly details?: string;

  constructor(code: ErrorCodeValue, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details || undefined;
  }

  get msg(): string {
    return this.message;
  }

  toJSON(): {code: number; msg: string; details?: string} {
    return this.details ? {code: this.code, msg: this.message, details: this.details} : {code: this.code, msg: this.message};
  }

  /** Prefix the message, keeping code and details ("failed to X: <inner>"). */
  wrap(prefix: string): CniError {
    return new CniError(this.code, `${prefix}: ${this.message}`, this.details);
  }
}

/** Any thrown value as a CniError (plain errors become code 999). */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) return new CniError(ErrorCode.Internal, err.message);
  return new CniError(ErrorCode.Internal, String(err));
}

/** Wrap any error with a prefix, preserving a CniError's code. */
export function wrapError(prefix: string, err: unknown): CniError {
  return toCniError(err).wrap(prefix);
}
