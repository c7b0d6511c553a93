/**
 * The unpublished-events queue: events the topic refused, kept whole (the message text as it would have been
 * published, and its attributes as String message attributes), so that `taskq events replay` can publish them
 * as they were.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RefusedEvent, UnpublishedEventQueue } from '../core/event-publishing';
import { messageBytes, sqsBatches } from '../core/queue-message';
import { eventText } from '../core/task-events';

export class SqsUnpublishedEvents implements UnpublishedEventQueue {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Sends every event, in batches SQS accepts, the calls at once. Returns those it could not send. */
  public async keep(events: readonly RefusedEvent[]): Promise<readonly RefusedEvent[]> {
    const messages = events.map((refused) => ({
      refused,
      message: { body: eventText(refused.event), attributes: refused.event.attributes },
    }));
    const batches = sqsBatches(messages, (m) => messageBytes(m.message));
    const lost = await Promise.all(batches.map((batch) => this.sendBatch(batch)));
    return lost.flat();
  }

  private async sendBatch(
    batch: readonly {
      refused: RefusedEvent;
      message: { body: string; attributes: Readonly<Record<string, string>> };
    }[],
  ): Promise<RefusedEvent[]> {
    try {
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map(({ message }, i) => ({
            Id: String(i),
            MessageBody: message.body,
            MessageAttributes: Object.fromEntries(
              Object.entries(message.attributes).map(([name, value]) => [
                name,
                { DataType: 'String', StringValue: value },
              ]),
            ),
          })),
        }),
      );
      const sent = new Set((out.Successful ?? []).map((s) => s.Id));
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f.Code ?? 'Failed']));
      return batch.flatMap(({ refused }, i) =>
        sent.has(String(i)) && !failed.has(String(i))
          ? []
          : [{ event: refused.event, reason: failed.get(String(i)) ?? 'NotConfirmed' }],
      );
    } catch (error) {
      const reason = (error as Error).name || 'Error';
      return batch.map(({ refused }) => ({ event: refused.event, reason }));
    }
  }
}
