/** GET /tasks/{id} and DELETE /tasks/{id}. */
import middy from '@middy/core';
import { dynamoClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { EmfMetrics } from '../adapters/metrics';
import { S3ResultObjects } from '../adapters/s3-result-objects';
import { EnvName } from '../contract';
import { ApiErrorCode } from '../core/error-codes';
import { HttpError } from '../core/errors';
import { MetricName } from '../core/metric-names';
import type { TaskView } from '../core/task';
import { cancelTask, getTask, parseTaskId } from '../core/task-status';
import { type HttpEvent, httpErrors, json } from './http';

const store = new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName), {
  results: new S3ResultObjects(requireEnv(EnvName.ResultBucketName)),
});
const metrics = new EmfMetrics(logger.raw);
const retentionSeconds = numberEnv(EnvName.TaskRetentionSeconds);

export const handler = middy<HttpEvent>()
  .use(httpErrors())
  .handler(async (event) => {
    const taskId = parseTaskId(event.pathParameters?.id);
    const method = event.requestContext.http.method;
    if (method === 'GET') return json(200, await getTask(store, taskId));
    if (method === 'DELETE') {
      const { outcome, task, cancelled } = await cancelTask(store, taskId, { retentionSeconds });
      const fields = (t: TaskView) => ({
        task_id: t.task_id,
        type: t.type,
        priority: t.priority,
        attempt: t.attempts,
        ...(t.published_task_id !== undefined && { published_task_id: t.published_task_id }),
      });
      if (outcome === 'requested') {
        // The running async attempt is asked to stop; the task is not cancelled yet.
        logger.info('task cancel requested', fields(task));
        logger.flush();
        return json(202, task);
      }
      for (const t of cancelled) {
        metrics.count(MetricName.TasksCancelled, { tier: t.priority, type: t.type });
        logger.info('task cancelled', fields(t));
      }
      metrics.flush();
      logger.flush();
      return json(200, task);
    }
    throw new HttpError(ApiErrorCode.MethodNotAllowed, `${method} is not supported on /tasks/{id}`);
  });
