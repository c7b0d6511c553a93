/** Scheduled: fails the tasks whose messages reached a DLQ without a terminal status (see core/sweep.ts). */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { listEnv, numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { peekDeadLetters } from '../adapters/sqs-queues';
import { EnvName } from '../contract';
import { sweepAll } from '../core/sweep';

const queueUrls = listEnv(EnvName.DeadLetterQueueUrls);
const store = new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName));
const settings = {
  redriveGraceSeconds: numberEnv(EnvName.RedriveGraceSeconds),
  retentionSeconds: numberEnv(EnvName.TaskRetentionSeconds),
};
const maxMessages = numberEnv(EnvName.SweepMaxMessages);

export const handler = middy<unknown, { seen: number; failed: number }>().handler(
  async (_event, context: Context) => {
    const result = await sweepAll(queueUrls, {
      peek: (queueUrl, request) => peekDeadLetters(sqsClient(), queueUrl, request),
      store,
      settings,
      maxMessages,
      deadlineMs: Date.now() + context.getRemainingTimeInMillis(),
    });
    if (result.failed > 0) logger.warn('tasks failed by the dead-letter sweep', result);
    return result;
  },
);
