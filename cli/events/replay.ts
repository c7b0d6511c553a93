/**
 * `taskq events replay`: publishes again what the unpublished-events queue holds, and deletes each message once
 * everything it stands for is published. The queue holds two kinds of message:
 * - an event the publisher could not publish, kept whole (its body, and its attributes as message attributes):
 *   published as it is;
 * - Lambda's on-failure record of a stream batch the publisher gave up on (`DDBStreamBatchInfo`: shard and
 *   sequence range, no records): the range is read again from the table's stream, which keeps records for 24
 *   hours, and its events derived with the publisher's own rule (lambda/core/task-events.ts).
 * A message whose events cannot all be published (SNS refused some, the stream no longer has the range, or it is
 * not one of the two kinds) is left in the queue and counted. Events may be published twice (a replayed event
 * that had been published after all): subscribers deduplicate on `event_id`.
 */

import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { streamWrite } from '../../lambda/adapters/dynamodb-stream';
import type { EventTopic } from '../../lambda/core/event-publishing';
import type { TaskStatus } from '../../lambda/core/task';
import {
  eventAttributes,
  type TaskEvent,
  type TaskEventBody,
  taskEvent,
} from '../../lambda/core/task-events';
import { attempt } from '../dlq/aws';

export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
}

export interface ReplayResult {
  /** Messages read from the queue. */
  readonly messages: number;
  /** Events published (from both kinds of message). */
  readonly published: number;
  readonly eventMessages: number;
  readonly streamRanges: number;
  readonly streamEvents: number;
  /** Messages left in the queue, and why. */
  readonly kept: number;
  readonly keptReasons: readonly string[];
}

/** What a message of the queue is. */
export type UnpublishedMessage =
  | { readonly kind: 'event'; readonly event: TaskEvent }
  | { readonly kind: 'stream-range'; readonly batch: StreamBatchInfo }
  | { readonly kind: 'unknown' };

export function classifyMessage(message: Pick<Message, 'Body' | 'MessageAttributes'>): UnpublishedMessage {
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? '');
  } catch {
    return { kind: 'unknown' };
  }
  const batch = (body as { DDBStreamBatchInfo?: Partial<StreamBatchInfo> } | null)?.DDBStreamBatchInfo;
  if (batch && batch.shardId && batch.startSequenceNumber && batch.endSequenceNumber && batch.streamArn)
    return { kind: 'stream-range', batch: batch as StreamBatchInfo };
  const event = body as Partial<TaskEventBody> | null;
  if (event && typeof event.schema_version === 'number' && typeof event.event === 'string') {
    const kept = Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).flatMap(([name, v]) =>
        v.StringValue !== undefined ? [[name, v.StringValue]] : [],
      ),
    );
    // The attributes as kept; an event kept without them gets them again from its body.
    const attributes = Object.keys(kept).length > 0 ? kept : eventAttributes(event as TaskEventBody);
    return { kind: 'event', event: { body: event as TaskEventBody, attributes } };
  }
  return { kind: 'unknown' };
}

const bySequence = (a: string, b: string) => {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Reads a shard from `start` to `end` (inclusive) and derives the events of its writes. */
export async function eventsOfStreamRange(
  streams: DynamoDBStreamsClient,
  batch: StreamBatchInfo,
  transitions: readonly TaskStatus[],
): Promise<TaskEvent[]> {
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: batch.streamArn,
      ShardId: batch.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: batch.startSequenceNumber,
    }),
  );
  const events: TaskEvent[] = [];
  let iterator = ShardIterator;
  // A shard still open returns empty pages at its end: a few in a row mean the range is all read.
  for (let empty = 0; iterator && empty < 3; ) {
    const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    iterator = out.NextShardIterator;
    const records = out.Records ?? [];
    empty = records.length === 0 ? empty + 1 : 0;
    for (const record of records) {
      const sequence = record.dynamodb?.SequenceNumber ?? '0';
      if (bySequence(sequence, batch.endSequenceNumber) > 0) return events;
      // The SDK's stream record has the shape of Lambda's: the publisher's own decoding reads it.
      const write = streamWrite(record as unknown as DynamoDBRecord);
      const event = taskEvent(write.oldRecord, write.newRecord, transitions);
      if (event) events.push(event);
      if (bySequence(sequence, batch.endSequenceNumber) === 0) return events;
    }
  }
  return events;
}

export interface ReplayOptions {
  readonly sqs: SQSClient;
  readonly streams: DynamoDBStreamsClient;
  readonly topic: EventTopic;
  readonly queueUrl: string;
  /** The publisher's transitions, to derive the events of a stream range. */
  readonly transitions: readonly TaskStatus[];
  /** How long a message read is hidden from other readers while it is replayed. @default 60 */
  readonly visibilitySeconds?: number;
}

export async function replayUnpublished(options: ReplayOptions): Promise<ReplayResult> {
  const { sqs, queueUrl } = options;
  const result = {
    messages: 0,
    published: 0,
    eventMessages: 0,
    streamRanges: 0,
    streamEvents: 0,
    kept: 0,
    keptReasons: [] as string[],
  };
  const keptHandles: string[] = [];
  const keep = (message: Message, reason: string) => {
    result.kept++;
    if (!result.keptReasons.includes(reason)) result.keptReasons.push(reason);
    keptHandles.push(message.ReceiptHandle!);
  };
  for (;;) {
    const { Messages } = await attempt('ReceiveMessage', () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: options.visibilitySeconds ?? 60,
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    if (!Messages?.length) break;
    for (const message of Messages) {
      result.messages++;
      const kind = classifyMessage(message);
      let events: TaskEvent[];
      if (kind.kind === 'event') {
        result.eventMessages++;
        events = [kind.event];
      } else if (kind.kind === 'stream-range') {
        result.streamRanges++;
        try {
          events = await eventsOfStreamRange(options.streams, kind.batch, options.transitions);
        } catch (error) {
          keep(message, `stream range not readable: ${(error as Error).name}`);
          continue;
        }
        result.streamEvents += events.length;
      } else {
        keep(message, 'not an event nor a stream batch record');
        continue;
      }
      const refused = events.length > 0 ? await options.topic.publish(events) : [];
      result.published += events.length - refused.length;
      if (refused.length > 0) {
        keep(message, `SNS refused ${refused.map((r) => r.reason).join(', ')}`);
        continue;
      }
      await attempt('DeleteMessage', () =>
        sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle })),
      );
    }
  }
  // What stays is visible again at once, for the alarm and the next replay.
  for (const handle of keptHandles) {
    await sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: handle,
          VisibilityTimeout: 0,
        }),
      )
      .catch(() => {});
  }
  return result;
}
