/**
 * POST /tasks/{id}/heartbeat and POST /tasks/{id}/complete: an async agent reports on its attempt. The bearer
 * token is the credential (lambda/core/async-callbacks.ts); it is never logged.
 */
import { isUtf8 } from 'node:buffer';
import middy from '@middy/core';
import { logger } from '../adapters/logger';
import { EmfMetrics } from '../adapters/metrics';
import {
  bearerToken,
  type Completion,
  completeTask,
  completionByteLimit,
  heartbeatTask,
  MAX_HEARTBEAT_BODY_BYTES,
  parseCompletion,
  parseHeartbeat,
} from '../core/async-callbacks';
import { ApiErrorCode, TaskErrorCode } from '../core/error-codes';
import { HttpError } from '../core/errors';
import { parseTaskId } from '../core/task-status';
import { callbackDeps } from './async-deps';
import { type HttpEvent, httpErrors, json } from './http';

const metrics = new EmfMetrics(logger.raw);
const deps = callbackDeps(metrics);

/** The body as bytes (API Gateway may pass it base64-encoded). */
function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === undefined) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

function bodyText(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new HttpError(ApiErrorCode.InvalidJson, 'the body is not UTF-8');
  return bytes.toString('utf8');
}

/** A completion too large to read is the agent's answer all the same: its result is over the limit. */
function completionOf(bytes: Buffer): Completion {
  const limit = completionByteLimit(deps.settings.maxResultBytes);
  if (bytes.byteLength <= limit) return parseCompletion(bodyText(bytes));
  return {
    kind: 'error',
    error: {
      code: TaskErrorCode.ResultTooLarge,
      message: `the completion is ${bytes.byteLength} bytes; the result limit is ${deps.settings.maxResultBytes} bytes`,
    },
    retryable: false,
  };
}

export const handler = middy<HttpEvent>()
  .use(httpErrors())
  .handler(async (event) => {
    const taskId = parseTaskId(event.pathParameters?.id);
    const token = bearerToken(event.headers?.authorization);
    const bytes = bodyBytes(event);
    try {
      if (event.rawPath.endsWith('/heartbeat')) {
        if (bytes.byteLength > MAX_HEARTBEAT_BODY_BYTES) {
          throw new HttpError(
            ApiErrorCode.PayloadTooLarge,
            `a heartbeat body is at most ${MAX_HEARTBEAT_BODY_BYTES} bytes`,
          );
        }
        return json(200, await heartbeatTask(taskId, token, parseHeartbeat(bodyText(bytes)), deps));
      }
      return json(200, await completeTask(taskId, token, completionOf(bytes), deps));
    } finally {
      metrics.flush();
      logger.flush();
    }
  });
