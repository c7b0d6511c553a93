/**
 * Errors that become HTTP responses. Each carries a status and a stable `code`; the message
 * is written for the caller and is always safe to show.
 */

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class HttpError extends Error {
  public constructor(
    public readonly statusCode: number,
    public readonly code: string,
    message: string,
    public readonly details?: readonly ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }

  public toBody(): { error: { code: string; message: string; details?: readonly ErrorDetail[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details && { details: this.details }) },
    };
  }
}

export const badRequest = (code: string, message: string, details?: readonly ErrorDetail[]) =>
  new HttpError(400, code, message, details);
export const notFound = (message: string) => new HttpError(404, 'NotFound', message);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);

/** A dependency failed; the request may be retried with the same idempotency key. */
export const serviceUnavailable = (message: string, cause: unknown) =>
  new HttpError(503, 'ServiceUnavailable', message, undefined, { cause });
