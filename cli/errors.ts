/** Errors the CLI raises itself, as opposed to the API's (see api-client.ts). */

/** The command line cannot be run as given: exit code 2, like commander's own parse errors. */
export class UsageError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
