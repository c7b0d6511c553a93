/** The events topic: task events published with SNS PublishBatch. */
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import type { EventTopic, RefusedEvent } from '../core/event-publishing';
import { eventText, type TaskEvent } from '../core/task-events';

/**
 * PublishBatch takes at most 10 entries, whose messages and attributes add up to at most 256 KiB. An event is a
 * few KiB at most (error messages are capped at 1,000 characters), so 10 always fit. SNS bills a call by each
 * 64 KB of its payload, so 10 events in one call cost what one does alone.
 * @see https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-batch-api-actions.html
 */
export const SNS_MAX_BATCH_ENTRIES = 10;

export class SnsEventTopic implements EventTopic {
  public constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  /**
   * Publishes every event, 10 per call, the calls at once. Returns the events SNS did not take (the same
   * objects): the failed entries of a call, with SNS's error code, and every entry of a call that threw, with
   * the error's name.
   */
  public async publish(events: readonly TaskEvent[]): Promise<readonly RefusedEvent[]> {
    const calls: Promise<RefusedEvent[]>[] = [];
    for (let from = 0; from < events.length; from += SNS_MAX_BATCH_ENTRIES) {
      calls.push(this.publishBatch(events.slice(from, from + SNS_MAX_BATCH_ENTRIES)));
    }
    return (await Promise.all(calls)).flat();
  }

  private async publishBatch(events: readonly TaskEvent[]): Promise<RefusedEvent[]> {
    const entries: PublishBatchRequestEntry[] = events.map((event, i) => ({
      Id: String(i),
      Message: eventText(event),
      MessageAttributes: Object.fromEntries(
        Object.entries(event.attributes).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: value },
        ]),
      ),
    }));
    try {
      const out = await this.client.send(
        new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: entries }),
      );
      const taken = new Set((out.Successful ?? []).map((s) => s.Id));
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f.Code ?? 'Failed']));
      // An entry in neither list was not confirmed: count it refused, so that it is kept for replay.
      return events.flatMap((event, i) =>
        taken.has(String(i)) && !failed.has(String(i))
          ? []
          : [{ event, reason: failed.get(String(i)) ?? 'NotConfirmed' }],
      );
    } catch (error) {
      const reason = (error as Error).name || 'Error';
      return events.map((event) => ({ event, reason }));
    }
  }
}
