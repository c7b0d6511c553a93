/**
 * One tier's dead-letter queue, as an operator sees it: peek without consuming, move the messages back to
 * their source queue, purge. The consumer's own DLQ calls are in lambda/adapters/sqs-queues.ts.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { messageBytes, type QueueMessage, sqsBatches } from '../../lambda/core/queue-message';
import { deadLetterTaskId } from '../../lambda/core/sweep';
import type { TaskError } from '../../lambda/core/task';
import { AwsCallError, attempt } from './aws';

/** SQS takes at most 10 messages per receive and per batch call. */
const SQS_BATCH_SIZE = 10;

/** A received message's size as SQS counts it against the batch limit: body and String attributes. */
function receivedMessageBytes(m: Message): number {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    attributes[name] = value.StringValue ?? Buffer.from(value.BinaryValue ?? []).toString('latin1');
  }
  const message: QueueMessage = { body: m.Body ?? '', attributes };
  return messageBytes(message);
}

export interface DeadLetterMessage {
  readonly messageId: string;
  readonly body: string;
  /** From the envelope, else from the `task_id` attribute a consumer sets when it dead-letters a message. */
  readonly taskId?: string;
  readonly type?: string;
  /**
   * The topic, when the message is part of a published task (read from the envelope): a delivery message names it
   * in `topic`; a publish message (dead-lettered before its fan-out) is addressed to it.
   */
  readonly topic?: string;
  /** A delivery message: the subscriber it is for (its `type`, an agent type). */
  readonly subscriber?: string;
  /** A delivery message: the published task it belongs to. */
  readonly publishedTaskId?: string;
  /** Receives of this message so far, this peek included. */
  readonly receiveCount: number;
  readonly sentAt?: Date;
  /** The `error_code` / `error_message` attributes a consumer sets when it dead-letters a permanent failure. */
  readonly error?: TaskError;
}

/** Where a message move task stands; `moved` and `toMove` are SQS's approximations. */
export interface MoveProgress {
  readonly status: string;
  readonly moved: number;
  readonly toMove: number;
  readonly failureReason?: string;
}

export const FINISHED_MOVE_STATUSES: readonly string[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * The endpoint does not implement message move tasks (fauxqs answers `InvalidAction`); the caller may
 * move the messages itself.
 */
export function isUnsupportedOperation(error: unknown): boolean {
  return (
    error instanceof AwsCallError && (error.code === 'InvalidAction' || error.code === 'UnsupportedOperation')
  );
}

/** The envelope fields a dead letter is listed by; whatever is missing or not a string is left out. */
function envelopeFields(body: string): {
  type?: string;
  topic?: string;
  publishedTaskId?: string;
  publish: boolean;
} {
  let envelope: Record<string, unknown> | null;
  try {
    envelope = JSON.parse(body) as Record<string, unknown> | null;
  } catch {
    return { publish: false };
  }
  const text = (field: string) => {
    const value = envelope?.[field];
    return typeof value === 'string' ? value : undefined;
  };
  const publishedTaskId = text('published_task_id');
  const publish = Array.isArray(envelope?.subscribers);
  return {
    ...(text('type') !== undefined && { type: text('type') }),
    ...(text('topic') !== undefined && { topic: text('topic') }),
    ...(publishedTaskId !== undefined && { publishedTaskId }),
    publish,
  };
}

/** A received message as the DLQ commands list it (also the dashboard, from the messages the emulator holds). */
export function toDeadLetter(message: Message): DeadLetterMessage {
  const body = message.Body ?? '';
  const attributes = message.MessageAttributes ?? {};
  const taskId = deadLetterTaskId(body) ?? attributes.task_id?.StringValue;
  const { type, topic, publishedTaskId, publish } = envelopeFields(body);
  // A delivery names its topic and published task; a publish message is addressed to its topic.
  const delivery = topic !== undefined && publishedTaskId !== undefined;
  const code = attributes.error_code?.StringValue;
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    body,
    ...(taskId && { taskId }),
    ...(type && { type }),
    ...(delivery && { topic, publishedTaskId, ...(type && { subscriber: type }) }),
    ...(!delivery && publish && type && { topic: type }),
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    ...(Number.isFinite(sent) && sent > 0 && { sentAt: new Date(sent) }),
    ...(code && { error: { code, message: attributes.error_message?.StringValue ?? code } }),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class DeadLetterQueue {
  public constructor(
    private readonly client: SQSClient,
    public readonly url: string,
  ) {}

  /**
   * Reads up to `limit` messages without consuming them. Each receive hides what it returns for
   * `hideSeconds`, so that the loop sees every message once; when it is done (or fails), everything it read
   * is made visible again at once, so that nothing stays hidden from a redrive or from the sweep.
   * Receives long-poll for a second: a long poll asks every SQS server, so an empty answer means the queue
   * has nothing more to show, where a short poll may miss messages.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
   */
  public async peek(opts: { limit: number; hideSeconds: number }): Promise<DeadLetterMessage[]> {
    const seen = new Map<string, { message: DeadLetterMessage; receiptHandle: string }>();
    try {
      while (seen.size < opts.limit) {
        const out = await attempt(`SQS ReceiveMessage on ${this.url}`, () =>
          this.client.send(
            new ReceiveMessageCommand({
              QueueUrl: this.url,
              MaxNumberOfMessages: Math.min(SQS_BATCH_SIZE, opts.limit - seen.size),
              VisibilityTimeout: opts.hideSeconds,
              WaitTimeSeconds: 1,
              MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
              MessageAttributeNames: ['All'],
            }),
          ),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) break;
        let fresh = 0;
        for (const message of messages) {
          const id = message.MessageId ?? '';
          if (!seen.has(id)) fresh += 1;
          // A message seen again (its hiding ran out in a long loop) keeps its latest receipt handle.
          seen.set(id, { message: toDeadLetter(message), receiptHandle: message.ReceiptHandle ?? '' });
        }
        if (fresh === 0) break;
      }
    } finally {
      await this.reveal([...seen.values()].map((entry) => entry.receiptHandle));
    }
    return [...seen.values()].map((entry) => entry.message);
  }

  /** Makes received messages visible again. One that fails stays hidden only until its short timeout. */
  private async reveal(receiptHandles: readonly string[]): Promise<void> {
    for (const batch of chunks(receiptHandles, SQS_BATCH_SIZE)) {
      await attempt(`SQS ChangeMessageVisibilityBatch on ${this.url}`, () =>
        this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.url,
            Entries: batch.map((handle, i) => ({
              Id: String(i),
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            })),
          }),
        ),
      );
    }
  }

  /** Messages in the queue, visible or not (SQS's approximation). */
  public async approximateCount(): Promise<number> {
    const out = await attempt(`SQS GetQueueAttributes on ${this.url}`, () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      ),
    );
    const attributes = out.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  public async arn(): Promise<string> {
    const out = await attempt(`SQS GetQueueAttributes on ${this.url}`, () =>
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['QueueArn'] })),
    );
    const arn = out.Attributes?.QueueArn;
    if (!arn)
      throw new AwsCallError(`SQS GetQueueAttributes on ${this.url}`, new Error('no QueueArn in the answer'));
    return arn;
  }

  /**
   * Starts an SQS message move task that returns every message to the queue it was dead-lettered from (no
   * DestinationArn). Resolves with the task handle.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
   */
  public async startMove(sourceArn: string, ratePerSecond: number | undefined): Promise<string> {
    const out = await attempt(`SQS StartMessageMoveTask from ${sourceArn}`, () =>
      this.client.send(
        new StartMessageMoveTaskCommand({
          SourceArn: sourceArn,
          ...(ratePerSecond !== undefined && { MaxNumberOfMessagesPerSecond: ratePerSecond }),
        }),
      ),
    );
    return out.TaskHandle ?? '';
  }

  /** The state of the move task `taskHandle` (or of the latest one, if SQS does not list that handle). */
  public async moveProgress(sourceArn: string, taskHandle: string): Promise<MoveProgress> {
    const out = await attempt(`SQS ListMessageMoveTasks for ${sourceArn}`, () =>
      this.client.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 })),
    );
    const results = out.Results ?? [];
    const entry: ListMessageMoveTasksResultEntry | undefined =
      results.find((r) => r.TaskHandle === taskHandle) ?? results[0];
    if (!entry)
      throw new AwsCallError(
        `SQS ListMessageMoveTasks for ${sourceArn}`,
        new Error('it lists no move task for this queue'),
      );
    return {
      status: entry.Status ?? 'UNKNOWN',
      moved: entry.ApproximateNumberOfMessagesMoved ?? 0,
      toMove: entry.ApproximateNumberOfMessagesToMove ?? 0,
      ...(entry.FailureReason && { failureReason: entry.FailureReason }),
    };
  }

  /**
   * Moves the messages to `destinationUrl` with plain receive, send and delete, for endpoints without
   * message move tasks (the local emulator). A message is deleted only once its copy was sent, so a crash
   * can duplicate a message but never lose one; consumers already tolerate duplicates.
   * Only the messages in `messageIds` move, as a move task moves only what the DLQ held when it started: a
   * redriven task that fails again arrives as a new message, and must not be moved round and round.
   * Resolves with the number of messages moved.
   */
  public async moveByCopy(
    destinationUrl: string,
    messageIds: ReadonlySet<string>,
    opts: {
      ratePerSecond?: number;
      sleep: (ms: number) => Promise<void>;
      onProgress: (moved: number) => void;
    },
  ): Promise<number> {
    let moved = 0;
    for (;;) {
      const out = await attempt(`SQS ReceiveMessage on ${this.url}`, () =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.url,
            MaxNumberOfMessages: SQS_BATCH_SIZE,
            VisibilityTimeout: 30,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            // A task's tenant travels as its message group (SQS fair queues): the copy keeps it.
            MessageSystemAttributeNames: ['MessageGroupId'],
          }),
        ),
      );
      const received = out.Messages ?? [];
      if (received.length === 0) return moved;
      // Messages that arrived after the peek stay where they are (visible again after the hide).
      const messages = received.filter((m) => messageIds.has(m.MessageId ?? ''));
      if (messages.length === 0) {
        if (moved >= messageIds.size) return moved;
        continue;
      }
      // Ten messages of up to 1 MiB each would be refused as one batch (BatchRequestTooLong): send them in
      // batches that SQS takes.
      for (const batch of sqsBatches(messages, receivedMessageBytes)) {
        const sent = await attempt(`SQS SendMessageBatch on ${destinationUrl}`, () =>
          this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: destinationUrl,
              Entries: batch.map((m, i) => ({
                Id: String(i),
                MessageBody: m.Body ?? '',
                ...(m.Attributes?.MessageGroupId && { MessageGroupId: m.Attributes.MessageGroupId }),
                ...(m.MessageAttributes && {
                  MessageAttributes: m.MessageAttributes as Record<string, MessageAttributeValue>,
                }),
              })),
            }),
          ),
        );
        const delivered = (sent.Successful ?? []).map((entry) => batch[Number(entry.Id)]!);
        if (delivered.length > 0)
          await attempt(`SQS DeleteMessageBatch on ${this.url}`, () =>
            this.client.send(
              new DeleteMessageBatchCommand({
                QueueUrl: this.url,
                Entries: delivered.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
              }),
            ),
          );
        const failed = sent.Failed ?? [];
        if (failed.length > 0)
          throw new AwsCallError(
            `SQS SendMessageBatch on ${destinationUrl}`,
            Object.assign(
              new Error(`${failed.length} message(s) were not sent: ${failed[0]!.Message ?? ''}`),
              {
                name: failed[0]!.Code ?? 'SendFailed',
              },
            ),
          );
        moved += delivered.length;
        opts.onProgress(moved);
        if (moved >= messageIds.size) return moved;
        if (opts.ratePerSecond !== undefined)
          await opts.sleep((1000 * delivered.length) / opts.ratePerSecond);
      }
    }
  }

  public async purge(): Promise<void> {
    await attempt(`SQS PurgeQueue on ${this.url}`, () =>
      this.client.send(new PurgeQueueCommand({ QueueUrl: this.url })),
    );
  }
}
