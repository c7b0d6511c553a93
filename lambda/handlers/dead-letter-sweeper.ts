/** Scheduled: fails the tasks whose messages reached a DLQ without a terminal status (see core/sweep.ts). */
import middy from '@middy/core';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { listEnv, numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { peekDeadLetters } from '../adapters/sqs-queues';
import { EnvName } from '../contract';
import { sweepDeadLetters } from '../core/sweep';

const queueUrls = listEnv(EnvName.DeadLetterQueueUrls);
const store = new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName));
const settings = {
  redriveGraceSeconds: numberEnv(EnvName.RedriveGraceSeconds),
  retentionSeconds: numberEnv(EnvName.TaskRetentionSeconds),
};
const maxMessages = numberEnv(EnvName.SweepMaxMessages);

export const handler = middy().handler(async () => {
  let seen = 0;
  let failed = 0;
  for (const queueUrl of queueUrls) {
    const letters = await peekDeadLetters(sqsClient(), queueUrl, { maxMessages, hideSeconds: 30 });
    seen += letters.length;
    failed += await sweepDeadLetters(letters, { store, settings });
  }
  if (failed > 0) logger.warn('tasks failed by the dead-letter sweep', { seen, failed });
  return { seen, failed };
});
