/** Errors the CLI raises itself, as opposed to the API's (see api-client.ts). */

/** The command line cannot be run as given: exit code 2, like commander's own parse errors. */
export class UsageError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * A command could not do its job for a reason the user can act on: a stack without the expected outputs,
 * or an AWS call that was refused. Exit code 1, like an API error.
 */
export class CommandError extends Error {
  public constructor(
    public readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CommandError';
  }
}
