/** POST /tasks: validate, queue, record; answer with the task id at once. */
import middy from '@middy/core';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { listEnv, numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { S3ResultObjects } from '../adapters/s3-result-objects';
import { SqsTaskSender } from '../adapters/sqs-queues';
import { EnvName, parseTopics } from '../contract';
import { enqueueTask } from '../core/enqueue';
import { parseSubmission } from '../core/submission';
import { type HttpEvent, httpErrors, json } from './http';

const taskTypes = new Set(listEnv(EnvName.TaskTypes));
const limits = {
  maxBodyBytes: numberEnv(EnvName.MaxBodyBytes),
  maxJsonDepth: numberEnv(EnvName.MaxJsonDepth),
};
// The task bucket: a replay's large result is read from it, a large payload put in it.
const taskObjects = new S3ResultObjects(requireEnv(EnvName.ResultBucketName));
const deps = {
  store: new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName), { results: taskObjects }),
  payloads: taskObjects,
  sender: new SqsTaskSender(sqsClient(), {
    high: requireEnv(EnvName.HighQueueUrl),
    low: requireEnv(EnvName.LowQueueUrl),
  }),
  isRegistered: (type: string) => taskTypes.has(type),
  publish: {
    topics: parseTopics(requireEnv(EnvName.Topics)),
    retentionSeconds: numberEnv(EnvName.TaskRetentionSeconds),
  },
};

export const handler = middy<HttpEvent>()
  .use(httpErrors())
  .handler(async (event) => {
    const submission = parseSubmission(
      { headers: event.headers ?? {}, body: event.body, isBase64Encoded: event.isBase64Encoded },
      limits,
    );
    const { outcome, task } = await enqueueTask(submission, deps);
    const fields = {
      task_id: task.task_id,
      type: task.type,
      priority: task.priority,
      attempt: task.attempts,
    };
    // An accepted task costs no line at INFO: the record, the access log and the consumer's line for the task say
    // the rest (README, "Logs"), and each byte is paid once per task. Its TasksAccepted count comes from the
    // table's stream, one line a batch (AcceptedTasksCounter).
    if (outcome === 'created') logger.debug('task accepted', fields);
    else logger.info('task replayed', fields);
    logger.flush();
    const body = {
      task_id: task.task_id,
      status: task.status,
      type: task.type,
      priority: task.priority,
      created_at: task.created_at,
    };
    return json(outcome === 'created' ? 202 : 200, body, { location: `/tasks/${task.task_id}` });
  });
