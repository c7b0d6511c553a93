/**
 * Errors that become HTTP responses. Each carries a stable `code` from the catalogue (error-codes.ts
 * `API_ERROR_CODES`), which also gives its status; the message is written for the caller and is always safe
 * to show.
 */
import { API_ERROR_CODES, ApiErrorCode } from './error-codes';

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class HttpError extends Error {
  /** The status of every response with this code (error-codes.ts). */
  public readonly statusCode: number;

  public constructor(
    public readonly code: ApiErrorCode,
    message: string,
    public readonly details?: readonly ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.statusCode = API_ERROR_CODES[code].status;
  }

  public toBody(): { error: { code: string; message: string; details?: readonly ErrorDetail[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details && { details: this.details }) },
    };
  }
}

/** A dependency failed; the request may be retried with the same idempotency key. */
export const serviceUnavailable = (message: string, cause: unknown) =>
  new HttpError(ApiErrorCode.ServiceUnavailable, message, undefined, { cause });
