/** Scheduled: fails the tasks whose messages reached a DLQ without a terminal status (see core/sweep.ts). */
import middy from '@middy/core';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { peekDeadLetters } from '../adapters/sqs-queues';
import { sweepDeadLetters } from '../core/sweep';

const queueUrls = requireEnv('DEAD_LETTER_QUEUE_URLS').split(',').filter(Boolean);
const store = new DynamoTaskStore(dynamoClient(), requireEnv('TASK_TABLE_NAME'));
const settings = {
  redriveGraceSeconds: numberEnv('REDRIVE_GRACE_SECONDS', 900),
  retentionSeconds: numberEnv('TASK_RETENTION_SECONDS', 30 * 86_400),
};
const maxMessages = numberEnv('SWEEP_MAX_MESSAGES', 1000);

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
