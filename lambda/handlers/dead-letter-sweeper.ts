/** Scheduled: fails the tasks whose messages reached a DLQ without a terminal status (see core/sweep.ts). */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
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
/** Most messages one run reads from each DLQ. */
const maxMessages = numberEnv('SWEEP_MAX_MESSAGES', 10_000);
/** Time kept back from the function's timeout for the writes of the last batch read. */
const RESERVE_MS = 15_000;
/** Longest long poll; a receive answers as soon as messages are there, so this is waited only at the end. */
const WAIT_SECONDS = 5;

export const handler = middy<unknown, { seen: number; failed: number }>().handler(
  async (_event, context: Context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS;
    let seen = 0;
    let failed = 0;
    for (const [i, queueUrl] of queueUrls.entries()) {
      // Each DLQ gets an equal share of the time left, so that a full one cannot starve the next.
      const share = (deadline - Date.now()) / (queueUrls.length - i);
      const batches = peekDeadLetters(sqsClient(), queueUrl, {
        maxMessages,
        deadlineMs: Date.now() + share,
        waitSeconds: WAIT_SECONDS,
      });
      for await (const letters of batches) {
        seen += letters.length;
        failed += await sweepDeadLetters(letters, { store, settings });
      }
    }
    if (failed > 0) logger.warn('tasks failed by the dead-letter sweep', { seen, failed });
    return { seen, failed };
  },
);
