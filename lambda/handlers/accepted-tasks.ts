/**
 * The task table's stream, INSERT records only (the event source's filter): counts the tasks `POST /tasks`
 * accepted, as the `TasksAccepted` metric by tier and task type (lambda/core/accepted-tasks.ts), in one EMF line
 * per tier and type a batch.
 *
 * The count lives here rather than in the producer so that a task's acceptance costs no log line of its own: the
 * producer used to write one EMF line a task (about 235 B), where this function writes one a batch.
 */
import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { streamWrite } from '../adapters/dynamodb-stream';
import { logger } from '../adapters/logger';
import { EmfMetrics } from '../adapters/metrics';
import { acceptedTask } from '../core/accepted-tasks';
import { MetricName } from '../core/metric-names';

const metrics = new EmfMetrics(logger.raw);

export const handler = middy<DynamoDBStreamEvent, void>().handler(async (stream) => {
  let accepted = 0;
  for (const record of stream.Records) {
    const write = streamWrite(record);
    const task = acceptedTask(write.oldRecord, write.newRecord);
    if (!task) continue;
    metrics.count(MetricName.TasksAccepted, task);
    accepted += 1;
  }
  metrics.flush();
  logger.debug('stream batch', { records: stream.Records.length, accepted });
  logger.flush();
});
