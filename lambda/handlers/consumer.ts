/**
 * SQS consumer for one tier. Processes a batch concurrently and reports only the failed messages
 * (ReportBatchItemFailures), so one failure never makes the rest of the batch run again.
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfiguredAgents, parseAgentTargets } from '../adapters/agents';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { EmfMetrics, recordTransition } from '../adapters/metrics';
import { SqsTierQueue } from '../adapters/sqs-queues';
import { type ProcessDeps, processDelivery } from '../core/process-task';

const metrics = new EmfMetrics();
const deps: ProcessDeps = {
  store: new DynamoTaskStore(dynamoClient(), requireEnv('TASK_TABLE_NAME')),
  queue: new SqsTierQueue(sqsClient(), requireEnv('QUEUE_URL'), requireEnv('DEAD_LETTER_QUEUE_URL')),
  agents: new ConfiguredAgents(parseAgentTargets(requireEnv('AGENTS'))),
  settings: {
    maxReceiveCount: numberEnv('MAX_RECEIVE_COUNT', 5),
    leaseSeconds: numberEnv('LEASE_SECONDS', 240),
    backoff: {
      baseSeconds: numberEnv('BACKOFF_BASE_SECONDS', 2),
      capSeconds: numberEnv('BACKOFF_CAP_SECONDS', 300),
    },
    maxResultBytes: numberEnv('MAX_RESULT_BYTES', 262_144),
    retentionSeconds: numberEnv('TASK_RETENTION_SECONDS', 30 * 86_400),
  },
  // One log line per task transition (ids, tier, attempt, error code; never the payload or the result).
  onTransition: (event) => {
    const { transition, ...fields } = event;
    logger.info(`task ${transition}`, fields);
    recordTransition(metrics, event);
  },
};

export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const outcomes = await Promise.allSettled(
    event.Records.map((record) =>
      processDelivery(
        {
          body: record.body,
          receiptHandle: record.receiptHandle,
          receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
        },
        deps,
      ),
    ),
  );
  const batchItemFailures = event.Records.flatMap((record, i) => {
    const outcome = outcomes[i]!;
    if (outcome.status === 'fulfilled' && outcome.value === 'ack') return [];
    if (outcome.status === 'rejected') {
      logger.error('delivery failed; it will be retried', {
        messageId: record.messageId,
        error: outcome.reason as Error,
      });
    }
    return [{ itemIdentifier: record.messageId }];
  });
  metrics.flush();
  return { batchItemFailures };
});
