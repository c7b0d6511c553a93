/** SQS calls: sending to a tier, and a consumer's operations on its own queue and DLQ. */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Resend, TaskMessages, TaskSender, TierQueue } from '../core/ports';
import { deadLetterMessage, messageBytes, type QueueMessage, sqsBatches } from '../core/queue-message';
import type { DeadLetter } from '../core/sweep';
import type { Priority, TaskError } from '../core/task';

/** SendMessage's attributes for a message built in lambda/core (valid SQS text, sized there). */
function stringAttributes(
  message: QueueMessage,
): Record<string, { DataType: 'String'; StringValue: string }> {
  return Object.fromEntries(
    Object.entries(message.attributes).map(([name, value]) => [
      name,
      { DataType: 'String', StringValue: value },
    ]),
  );
}

/** SendMessage of a message built in lambda/core, with its attributes and group. */
function sendMessage(queueUrl: string, message: QueueMessage, delaySeconds?: number): SendMessageCommand {
  return new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: message.body,
    ...(delaySeconds !== undefined && { DelaySeconds: delaySeconds }),
    MessageAttributes: stringAttributes(message),
    ...(message.groupId !== undefined && { MessageGroupId: message.groupId }),
  });
}

export class SqsTaskSender implements TaskSender {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<Priority, string>>,
  ) {}

  public async send(priority: Priority, message: QueueMessage, delaySeconds: number): Promise<void> {
    await this.client.send(sendMessage(this.queueUrls[priority], message, delaySeconds));
  }
}

/** The messages of both tiers by receipt handle: what the callback routes do to an async attempt's message. */
export class SqsTaskMessages implements TaskMessages {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<Priority, string>>,
  ) {}

  public async changeVisibility(priority: Priority, receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrls[priority],
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }

  public async delete(priority: Priority, receiptHandle: string): Promise<void> {
    await this.client.send(
      new DeleteMessageCommand({ QueueUrl: this.queueUrls[priority], ReceiptHandle: receiptHandle }),
    );
  }
}

export class SqsTierQueue implements TierQueue {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl: string,
  ) {}

  public async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }

  public async resend(message: QueueMessage, delaySeconds: number): Promise<void> {
    await this.client.send(sendMessage(this.queueUrl, message, delaySeconds));
  }

  /** SendMessageBatch calls, all at once; entries SQS refused are sent again once, then the call throws. */
  public async sendAll(messages: readonly QueueMessage[]): Promise<void> {
    const failures = await this.sendBatches(messages.map((message) => ({ message })));
    const failed = failures.filter((error) => error !== undefined);
    if (failed.length > 0) throw failed[0]!;
  }

  public async resendAll(resends: readonly Resend[]): Promise<Array<Error | undefined>> {
    return this.sendBatches(resends);
  }

  /**
   * SendMessageBatch calls, all at once, as few as SQS takes (sqsBatches). Entries SQS refused are sent again
   * once. One answer per entry, in order: undefined once sent, else why it was not.
   */
  private async sendBatches(
    entries: ReadonlyArray<{ readonly message: QueueMessage; readonly delaySeconds?: number }>,
  ): Promise<Array<Error | undefined>> {
    const answers: Array<Error | undefined> = entries.map(() => undefined);
    const sendBatch = async (batch: readonly number[], retry: boolean): Promise<void> => {
      let failed: Array<{ index: number; why: string }>;
      try {
        const out = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: batch.map((index, i) => {
              const { message, delaySeconds } = entries[index]!;
              return {
                Id: String(i),
                MessageBody: message.body,
                ...(delaySeconds !== undefined && { DelaySeconds: delaySeconds }),
                MessageAttributes: stringAttributes(message),
                ...(message.groupId !== undefined && { MessageGroupId: message.groupId }),
              };
            }),
          }),
        );
        failed = (out.Failed ?? []).map((entry) => ({
          index: batch[Number(entry.Id)]!,
          why: `${entry.Code} ${entry.Message ?? ''}`.trim(),
        }));
      } catch (error) {
        for (const index of batch) answers[index] = error as Error;
        return;
      }
      if (failed.length === 0) return;
      if (retry)
        return sendBatch(
          failed.map((f) => f.index),
          false,
        );
      for (const { index, why } of failed)
        answers[index] = new Error(`SQS refused ${failed.length} of ${batch.length} messages: ${why}`);
    };
    const indexes = entries.map((_, index) => index);
    await Promise.all(
      sqsBatches(indexes, (index) => messageBytes(entries[index]!.message)).map((batch) =>
        sendBatch(batch, true),
      ),
    );
    return answers;
  }

  public async deadLetter(
    body: string,
    error: TaskError,
    taskId: string | undefined,
    groupId?: string,
  ): Promise<void> {
    await this.client.send(
      sendMessage(this.deadLetterQueueUrl, deadLetterMessage(body, error, taskId, groupId)),
    );
  }
}

export interface PeekOptions {
  /** Most messages to read. */
  readonly maxMessages: number;
  /**
   * Epoch milliseconds after which no receive starts. What was read stays hidden until the pass ends, and
   * at most until then.
   */
  readonly deadlineMs: number;
  /** Longest wait of one long poll, in seconds (1 to 20). */
  readonly waitSeconds: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Reads a whole DLQ without consuming it, in batches of up to 10 (so that a caller holds one batch of bodies
 * at a time). Messages stay for operators to inspect and redrive: each is hidden until the deadline, so that
 * one pass sees it once, and made visible again when the pass ends.
 *
 * It reads until it has seen `ApproximateNumberOfMessages` (as counted at the start), `maxMessages`, or the
 * deadline, or until a receive comes back empty. Every receive is a long poll: a short poll samples a subset
 * of SQS's servers and can answer empty while messages exist; a long poll asks them all, so an empty answer
 * means nothing is visible.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
 */
export async function* peekDeadLetters(
  client: SQSClient,
  queueUrl: string,
  opts: PeekOptions,
): AsyncGenerator<DeadLetter[]> {
  const now = opts.now ?? Date.now;
  const attributes = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const count = Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
  const target = Math.min(Number.isFinite(count) ? count : 0, opts.maxMessages);
  const seen = new Set<string>();
  const handles: string[] = [];
  try {
    while (seen.size < target) {
      const leftSeconds = (opts.deadlineMs - now()) / 1000;
      if (leftSeconds < 1) break;
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, target - seen.size),
          VisibilityTimeout: Math.ceil(leftSeconds) + 1,
          WaitTimeSeconds: Math.min(opts.waitSeconds, Math.floor(leftSeconds)),
          MessageAttributeNames: ['error_code', 'error_message'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      const letters: DeadLetter[] = [];
      for (const m of messages) {
        if (m.ReceiptHandle) handles.push(m.ReceiptHandle);
        const id = m.MessageId ?? m.ReceiptHandle ?? '';
        if (seen.has(id) || seen.size >= target) continue;
        seen.add(id);
        const code = m.MessageAttributes?.error_code?.StringValue;
        const message = m.MessageAttributes?.error_message?.StringValue;
        letters.push({ body: m.Body ?? '', ...(code && { error: { code, message: message ?? code } }) });
      }
      if (letters.length > 0) yield letters;
    }
  } finally {
    await showAgain(client, queueUrl, handles);
  }
}

/**
 * Makes what a pass hid visible again, so that an operator's `taskq dlq list` or `redrive` right after a sweep
 * sees every message. Ten batches of 10 at a time: 10,000 handles take 100 rounds, well within the time the
 * sweeper keeps back. Best effort: a message whose release fails is visible again at the pass's deadline.
 */
async function showAgain(client: SQSClient, queueUrl: string, handles: readonly string[]): Promise<void> {
  const release = async (from: number) => {
    const entries = handles
      .slice(from, from + 10)
      .map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 }));
    try {
      await client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    } catch {
      // visible again at the deadline anyway
    }
  };
  for (let round = 0; round < handles.length; round += 100) {
    const starts = [];
    for (let from = round; from < Math.min(round + 100, handles.length); from += 10) starts.push(from);
    await Promise.all(starts.map(release));
  }
}
