/** Scheduled: fails the tasks whose messages reached a DLQ without a terminal status (see core/sweep.ts). */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
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
/** Most messages one run reads from each DLQ. */
const maxMessages = numberEnv(EnvName.SweepMaxMessages);
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
