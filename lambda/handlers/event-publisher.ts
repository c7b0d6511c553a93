/**
 * The task table's stream: publishes one event per committed transition of the configured set to the events
 * topic (lambda/core/event-publishing.ts). Events the topic refuses go to the unpublished-events queue; a record
 * whose event could be neither published nor kept is handed back to the stream. The task is never touched.
 */
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { snsClient, sqsClient } from '../adapters/clients';
import { streamWrite } from '../adapters/dynamodb-stream';
import { requireEnv } from '../adapters/env';
import { logger } from '../adapters/logger';
import { EmfMetrics, eventDimensions } from '../adapters/metrics';
import { SnsEventTopic } from '../adapters/sns-event-topic';
import { SqsUnpublishedEvents } from '../adapters/sqs-unpublished-events';
import { EnvName } from '../contract';
import { type PendingEvent, publishEvents } from '../core/event-publishing';
import { MetricName } from '../core/metric-names';
import { parseEventTransitions, taskEvent } from '../core/task-events';

const ports = {
  topic: new SnsEventTopic(snsClient(), requireEnv(EnvName.EventsTopicArn)),
  unpublished: new SqsUnpublishedEvents(sqsClient(), requireEnv(EnvName.UnpublishedEventsQueueUrl)),
};
const transitions = new Set(parseEventTransitions(requireEnv(EnvName.EventTransitions)));
const metrics = new EmfMetrics(logger.raw);

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (stream) => {
  const pending: PendingEvent[] = [];
  for (const record of stream.Records) {
    const write = streamWrite(record);
    const event = taskEvent(write.oldRecord, write.newRecord, transitions);
    if (event) pending.push({ itemId: write.sequenceNumber, event });
  }
  const outcome = await publishEvents(pending, ports);
  for (const e of outcome.published) {
    metrics.countTo(eventDimensions(e.body.event), MetricName.EventsPublished);
  }
  for (const u of outcome.unpublished) {
    metrics.countTo(eventDimensions(u.event.body.event), MetricName.EventsUnpublished);
  }
  metrics.flush();
  logger.info('stream batch', {
    records: stream.Records.length,
    events: pending.length,
    published: outcome.published.length,
    unpublished: outcome.unpublished.length,
    failed: outcome.failedItemIds.length,
  });
  if (outcome.unpublished.length > 0) {
    logger.warn('events kept in the unpublished-events queue for replay', {
      events: outcome.unpublished.map((u) => ({ event_id: u.event.body.event_id, reason: u.reason })),
    });
  }
  if (outcome.failedItemIds.length > 0) {
    logger.error('events neither published nor kept; the stream retries their records', {
      sequence_numbers: outcome.failedItemIds,
    });
  }
  logger.flush();
  return { batchItemFailures: outcome.failedItemIds.map((itemIdentifier) => ({ itemIdentifier })) };
});
