/**
 * Errors a user can act on. The CLI prints their message as one line
 * ("Error: ...") without a stack trace and exits with `exitCode`.
 */
export class UserError extends Error {
  readonly exitCode: number = 1;

  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** The command line itself is wrong (bad flag combination, bad argument): exit 2. */
export class UsageError extends UserError {
  override readonly exitCode: number = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
