/** SQS calls: sending to a tier, and a consumer's operations on its own queue and DLQ. */
import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { TaskSender, TierQueue } from '../core/ports';
import { deadLetterMessage, envelopeMessage, type QueueMessage } from '../core/queue-message';
import type { DeadLetter } from '../core/sweep';
import type { Priority, TaskEnvelope, TaskError } from '../core/task';

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

export class SqsTaskSender implements TaskSender {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<Priority, string>>,
  ) {}

  public async send(priority: Priority, envelope: TaskEnvelope, delaySeconds: number): Promise<void> {
    const message = envelopeMessage(envelope);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrls[priority],
        MessageBody: message.body,
        DelaySeconds: delaySeconds,
        MessageAttributes: stringAttributes(message),
      }),
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

  public async deadLetter(body: string, error: TaskError, taskId: string | undefined): Promise<void> {
    const message = deadLetterMessage(body, error, taskId);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: message.body,
        MessageAttributes: stringAttributes(message),
      }),
    );
  }
}

/**
 * Reads a DLQ without consuming it: messages stay for operators to inspect and redrive, and are only hidden for
 * `hideSeconds` so that one pass sees each message once.
 */
export async function peekDeadLetters(
  client: SQSClient,
  queueUrl: string,
  opts: { maxMessages: number; hideSeconds: number },
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  while (letters.length < opts.maxMessages) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, opts.maxMessages - letters.length),
        VisibilityTimeout: opts.hideSeconds,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['error_code', 'error_message'],
      }),
    );
    const messages = out.Messages ?? [];
    for (const m of messages) {
      const code = m.MessageAttributes?.error_code?.StringValue;
      const message = m.MessageAttributes?.error_message?.StringValue;
      letters.push({ body: m.Body ?? '', ...(code && { error: { code, message: message ?? code } }) });
    }
    if (messages.length === 0) break;
  }
  return letters;
}
