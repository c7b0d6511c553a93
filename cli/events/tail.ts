/**
 * `taskq events tail`: a temporary SQS queue subscribed to the events topic, read until the user stops it, then
 * removed with its subscription. Raw message delivery, so that each message is the event body itself with the
 * event's attributes, and a filter policy on those attributes, so that SNS drops what the user did not ask for.
 * The queue's policy lets the topic (and only it) send to it, as SNS needs on AWS.
 * @see https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
 */
import { randomUUID } from 'node:crypto';
import { type SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { attempt } from '../dlq/aws';
import type { FilterPolicy } from './filter-policy';

/** A tail's queue keeps what it was not read for an hour at most: a tail killed hard leaves little behind. */
const TAIL_RETENTION_SECONDS = 3600;
const LONG_POLL_SECONDS = 20;

/** The policy that lets the topic, and only it, send to the queue. */
export function tailQueuePolicy(queueArn: string, topicArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EventsTopicSendsToTail',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
      },
    ],
  });
}

/**
 * Subscribes an SQS queue to the events topic with raw message delivery (each message is the event's JSON, its
 * attributes the event's), and a filter policy on the message attributes when given. On AWS the queue's policy must
 * let the topic send to it: this sets it.
 */
export async function subscribeQueue(options: {
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly topicArn: string;
  readonly queueUrl: string;
  readonly filterPolicy?: Readonly<Record<string, readonly string[]>>;
}): Promise<{ readonly queueArn: string; readonly subscriptionArn: string }> {
  const { sns, sqs, topicArn, queueUrl, filterPolicy } = options;
  const attributes = await attempt('GetQueueAttributes', () =>
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })),
  );
  const queueArn = attributes.Attributes?.QueueArn ?? '';
  await attempt('SetQueueAttributes', () =>
    sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: tailQueuePolicy(queueArn, topicArn) },
      }),
    ),
  );
  const subscribed = await attempt('Subscribe', () =>
    sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        ReturnSubscriptionArn: true,
        Attributes: {
          RawMessageDelivery: 'true',
          ...(filterPolicy && {
            FilterPolicyScope: 'MessageAttributes',
            FilterPolicy: JSON.stringify(filterPolicy),
          }),
        },
      }),
    ),
  );
  return { queueArn, subscriptionArn: subscribed.SubscriptionArn ?? '' };
}

export interface TailOptions {
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly topicArn: string;
  readonly filterPolicy?: FilterPolicy;
  /** Stops the tail; the queue and the subscription are removed before `tailEvents` resolves. */
  readonly signal: AbortSignal;
  /** Told once the queue is subscribed, with its URL. */
  readonly onReady?: (queueUrl: string, subscriptionArn: string) => void;
  /** Each event's body (as delivered: JSON text, parsed when it is JSON). */
  readonly onEvent: (body: unknown, text: string) => void;
  /** Stop after this many events. @default - until the signal */
  readonly limit?: number;
  /** @default - a new random name `taskq-events-tail-<8 hex>` */
  readonly queueName?: string;
}

export interface TailResult {
  readonly events: number;
  readonly queueUrl: string;
  readonly removed: boolean;
}

export async function tailEvents(options: TailOptions): Promise<TailResult> {
  const { sns, sqs, topicArn, signal } = options;
  const queueName = options.queueName ?? `taskq-events-tail-${randomUUID().slice(0, 8)}`;
  const { QueueUrl: queueUrl } = await attempt('CreateQueue', () =>
    sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: { MessageRetentionPeriod: String(TAIL_RETENTION_SECONDS) },
        tags: { 'created-by': 'taskq events tail' },
      }),
    ),
  );
  let subscriptionArn: string | undefined;
  let events = 0;
  try {
    subscriptionArn = (
      await subscribeQueue({ sns, sqs, topicArn, queueUrl: queueUrl!, filterPolicy: options.filterPolicy })
    ).subscriptionArn;
    options.onReady?.(queueUrl!, subscriptionArn ?? '');
    while (!signal.aborted && (options.limit === undefined || events < options.limit)) {
      let messages: Message[] | undefined;
      try {
        messages = (
          await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: LONG_POLL_SECONDS,
            }),
            { abortSignal: signal },
          )
        ).Messages;
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      const read = (messages ?? []).slice(
        0,
        options.limit === undefined ? undefined : options.limit - events,
      );
      for (const message of read) {
        const text = message.Body ?? '';
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: printed as it came
        }
        options.onEvent(body, text);
        events++;
      }
      if (read.length > 0) {
        await attempt('DeleteMessageBatch', () =>
          sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: read.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          ),
        );
      }
    }
  } finally {
    // Not under the signal: the user's Ctrl-C is what asks for this clean-up.
    if (subscriptionArn)
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn })).catch(() => {});
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => {});
  }
  return { events, queueUrl: queueUrl!, removed: true };
}
