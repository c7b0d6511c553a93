/**
 * What the dashboard reads, and how: the messages the SQS emulator holds (inspected in place, never received,
 * so that looking changes nothing), the emulator's send and delete events, and the task table (a Scan, which is
 * fine on a developer's table; the deployed dashboard reads CloudWatch instead).
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { FauxqsServer, MessageSpyReader, SpyMessage } from 'fauxqs';
import type { QueueState } from './collector';

type Inspected = NonNullable<ReturnType<FauxqsServer['inspectQueue']>>;
export type EmulatedMessage = Inspected['messages']['ready'][number];

/** Where a message is: ready to be received, delayed, or received and not yet deleted. */
export type MessageState = 'visible' | 'delayed' | 'in flight';

export interface HeldMessage {
  readonly state: MessageState;
  readonly message: EmulatedMessage;
}

/** Every message of a queue, with its state; empty when the queue does not exist. */
export function heldMessages(server: Pick<FauxqsServer, 'inspectQueue'>, queueName: string): HeldMessage[] {
  const messages = server.inspectQueue(queueName)?.messages;
  if (!messages) return [];
  return [
    ...messages.ready.map((message) => ({ state: 'visible' as const, message })),
    ...messages.delayed.map((message) => ({ state: 'delayed' as const, message })),
    ...messages.inflight.map((entry) => ({ state: 'in flight' as const, message: entry.message })),
  ];
}

export function queueState(server: Pick<FauxqsServer, 'inspectQueue'>, queueName: string): QueueState {
  const held = heldMessages(server, queueName);
  const count = (state: MessageState) => held.filter((h) => h.state === state).length;
  const oldest = held.reduce<number | undefined>(
    (min, h) => (min === undefined || h.message.sentTimestamp < min ? h.message.sentTimestamp : min),
    undefined,
  );
  return {
    visible: count('visible'),
    inFlight: count('in flight'),
    delayed: count('delayed'),
    ...(oldest !== undefined && { oldestSentMs: oldest }),
  };
}

/** A held message in the shape of a received one, for the code that reads received messages (cli/dlq). */
export function asReceived(message: EmulatedMessage): Message {
  return {
    MessageId: message.messageId,
    Body: message.body,
    MessageAttributes: message.messageAttributes as Message['MessageAttributes'],
    Attributes: {
      ApproximateReceiveCount: String(message.approximateReceiveCount),
      SentTimestamp: String(message.sentTimestamp),
    },
  };
}

export interface QueueEvent {
  readonly queueName: string;
  readonly status: 'published' | 'consumed' | 'dlq';
  readonly timestamp: number;
}

/**
 * Tells `listener` of every SQS message the emulator enqueues (`published`: SendMessage, SendMessageBatch, a
 * move to a DLQ's side), deletes (`consumed`: DeleteMessage, DeleteMessageBatch) or dead-letters (`dlq`), through
 * the emulator's message spy: a waiter whose filter sees every event and never matches. A reset of the emulator
 * drops waiters; the watch then registers again. Returns a function that stops watching.
 */
export function watchQueueEvents(spy: MessageSpyReader, listener: (event: QueueEvent) => void): () => void {
  let stopped = false;
  const watch = () => {
    // What the spy buffered before the watch began is not an event of this watch.
    const before = new Set<SpyMessage>(spy.getAllMessages());
    spy
      .waitForMessage((m: SpyMessage) => {
        if (stopped) return true;
        if (m.service === 'sqs' && !before.has(m))
          listener({ queueName: m.queueName, status: m.status, timestamp: m.timestamp });
        return false;
      })
      .then(
        () => {},
        () => {
          if (!stopped) watch();
        },
      );
  };
  watch();
  return () => {
    stopped = true;
  };
}

/** Every item of a table, unmarshalled (Scan, page by page). */
export async function scanTable<T>(
  dynamodb: DynamoDBClient,
  tableName: string,
  projection?: readonly string[],
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, AttributeValue> | undefined;
  const names = projection && Object.fromEntries(projection.map((p, i) => [`#p${i}`, p]));
  do {
    const out = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ...(names && {
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
        }),
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    for (const item of out.Items ?? []) items.push(unmarshall(item) as T);
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
