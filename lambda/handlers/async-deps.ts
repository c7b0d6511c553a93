/** What the callback routes and the completion destination share: the store, both tiers' messages, settings. */
import { dynamoClient, sqsClient } from '../adapters/clients';
import { DynamoLimiter } from '../adapters/dynamodb-limiter';
import { DynamoTaskStore } from '../adapters/dynamodb-task-store';
import { numberEnv, requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { agentDimensions, type EmfMetrics } from '../adapters/metrics';
import { S3ResultObjects } from '../adapters/s3-result-objects';
import { SqsTaskMessages } from '../adapters/sqs-queues';
import { EnvName } from '../contract';
import type { CallbackDeps } from '../core/async-callbacks';
import { MetricName } from '../core/metric-names';
import { TaskStatus } from '../core/task';

const SETTLED_METRIC = {
  [TaskStatus.SUCCEEDED]: MetricName.TasksSucceeded,
  [TaskStatus.FAILED]: MetricName.TasksFailed,
  [TaskStatus.RETRYING]: MetricName.TasksRetried,
  [TaskStatus.CANCELLED]: MetricName.TasksCancelled,
} as const;

/** The dependencies of a function of role `callback` or `completion` (FUNCTION_ENV's SETTLE_ENV). */
export function callbackDeps(metrics: EmfMetrics): CallbackDeps {
  return {
    store: new DynamoTaskStore(dynamoClient(), requireEnv(EnvName.TaskTableName), {
      results: new S3ResultObjects(requireEnv(EnvName.ResultBucketName)),
    }),
    messages: new SqsTaskMessages(sqsClient(), {
      high: requireEnv(EnvName.HighQueueUrl),
      low: requireEnv(EnvName.LowQueueUrl),
    }),
    limiter: new DynamoLimiter(dynamoClient(), requireEnv(EnvName.LimitsTableName)),
    settings: {
      maxReceiveCount: numberEnv(EnvName.MaxReceiveCount),
      backoff: {
        baseSeconds: numberEnv(EnvName.BackoffBaseSeconds),
        capSeconds: numberEnv(EnvName.BackoffCapSeconds),
      },
      maxResultBytes: numberEnv(EnvName.MaxResultBytes),
      retentionSeconds: numberEnv(EnvName.TaskRetentionSeconds),
    },
    // The task is settled either way; the message comes back at its old visibility and is tidied then.
    onMessageError: (error) => logger.warn('message not moved', { error: error as Error }),
    onSettled: (event) => {
      logger.info(`async attempt ended ${event.status}`, { ...event });
      const metric = SETTLED_METRIC[event.status as keyof typeof SETTLED_METRIC];
      if (metric) metrics.count(metric, { tier: event.priority, type: event.type });
      if (event.agent_slots_in_use !== undefined) {
        metrics.addTo(agentDimensions(event.type), MetricName.AgentSlotsInUse, event.agent_slots_in_use);
      }
    },
  };
}
