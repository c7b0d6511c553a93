/**
 * SQS consumer for one tier. Processes a batch concurrently and reports only the failed messages
 * (ReportBatchItemFailures), so one failure never makes the rest of the batch run again.
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfiguredAgents } from '../adapters/agents';
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoLimiter } from '../adapters/dynamodb-limiter';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { EmfMetrics, recordTransition } from '../adapters/metrics';
import { S3ResultObjects } from '../adapters/s3-result-objects';
import { SqsTierQueue } from '../adapters/sqs-queues';
import { TransitionLog } from '../adapters/transition-log';
import { EnvName, parseAgentTargets } from '../contract';
import { type ProcessDeps, processDelivery } from '../core/process-delivery';
import { WAITS_ATTRIBUTE } from '../core/queue-message';
import { ResendBatch } from '../core/resend-batch';
import { SlotWaits } from '../core/slot-waits';
import { StampLead } from '../core/stamp-lead';

const metrics = new EmfMetrics(logger.raw);
const transitions = new TransitionLog(logger);
// The task bucket: large results are put there, large payloads read from there.
const taskObjects = new S3ResultObjects(requireEnv(EnvName.ResultBucketName));
const deps: ProcessDeps = {
  store: new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName), { results: taskObjects }),
  payloads: taskObjects,
  queue: new SqsTierQueue(sqsClient(), requireEnv(EnvName.QueueUrl), requireEnv(EnvName.DeadLetterQueueUrl)),
  agents: new ConfiguredAgents(parseAgentTargets(requireEnv(EnvName.Agents))),
  limiter: new DynamoLimiter(dynamoClient(), requireEnv(EnvName.LimitsTableName)),
  // The tasks of this execution environment waiting for a slot: a slot given back here goes straight to one.
  slotWaits: new SlotWaits(),
  // How far ahead of a grant this environment stamps a rate-limited start: its own grants' delays to their calls.
  stampLead: new StampLead(),
  settings: {
    maxReceiveCount: numberEnv(EnvName.MaxReceiveCount),
    leaseSeconds: numberEnv(EnvName.LeaseSeconds),
    backoff: {
      baseSeconds: numberEnv(EnvName.BackoffBaseSeconds),
      capSeconds: numberEnv(EnvName.BackoffCapSeconds),
    },
    maxResultBytes: numberEnv(EnvName.MaxResultBytes),
    retentionSeconds: numberEnv(EnvName.TaskRetentionSeconds),
    callbackBaseUrl: requireEnv(EnvName.CallbackBaseUrl),
    tenantMaxConcurrency: numberEnv(EnvName.TenantMaxConcurrency),
    limitWakeUpSeconds: numberEnv(EnvName.LimitWakeUpSeconds),
  },
  // One log line per task transition (ids, tier, attempt, error code; never the payload or the result), a claim
  // folded into its attempt's end (transition-log.ts).
  onTransition: (event) => {
    transitions.record(event);
    recordTransition(metrics, event);
  },
};

export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event, context) => {
  // The batch's waiting tasks are sent again together (resend-batch.ts).
  const resends = new ResendBatch(deps.queue, event.Records.length);
  const outcomes = await Promise.allSettled(
    event.Records.map((record) => {
      const delivery = resends.delivery();
      return processDelivery(
        {
          body: record.body,
          receiptHandle: record.receiptHandle,
          receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
          waits: Number(record.messageAttributes?.[WAITS_ATTRIBUTE]?.stringValue ?? '0') || 0,
          remainingMs: () => context.getRemainingTimeInMillis(),
        },
        { ...deps, queue: delivery.queue },
      ).finally(delivery.ended);
    }),
  );
  // Every delivery has settled: a claim whose attempt did not end here is logged now, before any failure.
  transitions.flush();
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
  // The invocation's lines and metrics leave in one write.
  metrics.flush();
  logger.flush();
  return { batchItemFailures };
});
