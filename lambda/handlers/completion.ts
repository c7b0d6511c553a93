/**
 * The on-success and on-failure destination of the app's async Lambda agents: each invocation record completes
 * its attempt (lambda/core/destination-record.ts). A record that cannot complete (a stale or unknown token, an
 * attempt already over) is logged and dropped; a dependency failure is thrown, so that Lambda retries the record.
 */
import middy from '@middy/core';
import { logger } from '../adapters/logger';
import { EmfMetrics } from '../adapters/metrics';
import { completeTask } from '../core/async-callbacks';
import { type DestinationRecord, destinationCompletion, destinationTarget } from '../core/destination-record';
import { HttpError } from '../core/errors';
import { callbackDeps } from './async-deps';

const metrics = new EmfMetrics(logger.raw);
const deps = callbackDeps(metrics);

export const handler = middy<DestinationRecord>().handler(async (record) => {
  const target = destinationTarget(record);
  if (!target) {
    logger.warn('not an invocation record of an async agent; dropped', {
      condition: record.requestContext?.condition,
    });
    return;
  }
  try {
    await completeTask(target.taskId, target.token, destinationCompletion(record), deps);
  } catch (error) {
    if (!(error instanceof HttpError) || error.statusCode >= 500) throw error;
    logger.warn('completion refused; dropped', { task_id: target.taskId, code: error.code });
  } finally {
    metrics.flush();
    logger.flush();
  }
});
