/** GET /tasks/{id} and DELETE /tasks/{id}. */
import middy from '@middy/core';
import { dynamoClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { EmfMetrics } from '../adapters/metrics';
import { EnvName } from '../contract';
import { ApiErrorCode } from '../core/error-codes';
import { HttpError } from '../core/errors';
import { MetricName } from '../core/metric-names';
import { cancelTask, getTask, parseTaskId } from '../core/task-status';
import { type HttpEvent, httpErrors, json } from './http';

const store = new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName));
const metrics = new EmfMetrics();
const retentionSeconds = numberEnv(EnvName.TaskRetentionSeconds);

export const handler = middy<HttpEvent>()
  .use(httpErrors())
  .handler(async (event) => {
    const taskId = parseTaskId(event.pathParameters?.id);
    const method = event.requestContext.http.method;
    if (method === 'GET') return json(200, await getTask(store, taskId));
    if (method === 'DELETE') {
      const { outcome, task } = await cancelTask(store, taskId, { retentionSeconds });
      const fields = {
        task_id: task.task_id,
        type: task.type,
        priority: task.priority,
        attempt: task.attempts,
      };
      if (outcome === 'requested') {
        // The running async attempt is asked to stop; the task is not cancelled yet.
        logger.info('task cancel requested', fields);
        return json(202, task);
      }
      metrics.add(MetricName.TasksCancelled, 1, { tier: task.priority, type: task.type });
      metrics.flush();
      logger.info('task cancelled', fields);
      return json(200, task);
    }
    throw new HttpError(ApiErrorCode.MethodNotAllowed, `${method} is not supported on /tasks/{id}`);
  });
