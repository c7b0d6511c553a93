/** Shared pieces of the HTTP API handlers (API Gateway HTTP API, payload format 2.0). */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger } from '../adapters/logger';
import { ApiErrorCode } from '../core/error-codes';
import { HttpError } from '../core/errors';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * Turns a thrown HttpError into its JSON error response, and anything else into a 500 that reveals
 * nothing. Bad input is always an HttpError (4xx), so a 500 means a bug or a dependency outage.
 */
export function httpErrors(): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof HttpError) {
        if (error.statusCode >= 500)
          logger.error('dependency failure', { code: error.code, error: error.cause as Error });
        request.response = json(error.statusCode, error.toBody());
        return;
      }
      logger.error('unhandled error', { error: error as Error });
      const internal = new HttpError(ApiErrorCode.InternalError, 'an internal error occurred');
      request.response = json(internal.statusCode, internal.toBody());
    },
  };
}
