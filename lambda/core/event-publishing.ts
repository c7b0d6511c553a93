/**
 * Publishing a batch of stream records' events, so that no committed transition loses its event.
 *
 * Each event is published to the events topic. An event the topic refuses (a failed entry, a failed call) is
 * kept whole in the unpublished-events queue, where an alarm fires and `taskq events replay` publishes it
 * again later; the stream moves on, so one bad event or an SNS outage does not hold up the events behind it.
 * Only when that keep fails too is the record handed back to the stream (a batch item failure): the stream
 * retries it and every record after it, so events may repeat, never vanish. Whatever happens here, the task
 * itself is not touched: its write committed before the stream saw it.
 */
import type { TaskEvent } from './task-events';

/** One event to publish, and the stream record it came from (its sequence number: the batch item id). */
export interface PendingEvent {
  readonly itemId: string;
  readonly event: TaskEvent;
}

/**
 * The events topic. Reports which events it did not take (the same objects it was given), and why; never
 * throws for a refused event.
 */
export interface EventTopic {
  publish(events: readonly TaskEvent[]): Promise<readonly RefusedEvent[]>;
}

/** Where events the topic refused are kept for replay. Reports which it could not keep (the same objects). */
export interface UnpublishedEventQueue {
  keep(events: readonly RefusedEvent[]): Promise<readonly RefusedEvent[]>;
}

/** An event a call refused: the event and a short reason (an error code or name) for the logs. */
export interface RefusedEvent {
  readonly event: TaskEvent;
  readonly reason: string;
}

export interface PublishOutcome {
  readonly published: readonly TaskEvent[];
  /** Refused by the topic and kept in the unpublished-events queue. */
  readonly unpublished: readonly RefusedEvent[];
  /** Neither published nor kept: the stream must retry these records. */
  readonly failedItemIds: readonly string[];
}

export async function publishEvents(
  pending: readonly PendingEvent[],
  ports: { readonly topic: EventTopic; readonly unpublished: UnpublishedEventQueue },
): Promise<PublishOutcome> {
  if (pending.length === 0) return { published: [], unpublished: [], failedItemIds: [] };
  const refused = await ports.topic.publish(pending.map((p) => p.event));
  const notKept = refused.length > 0 ? await ports.unpublished.keep(refused) : [];
  const notPublished = new Set(refused.map((r) => r.event));
  const lost = new Set(notKept.map((r) => r.event));
  return {
    published: pending.map((p) => p.event).filter((e) => !notPublished.has(e)),
    unpublished: refused.filter((r) => !lost.has(r.event)),
    failedItemIds: [...new Set(pending.filter((p) => lost.has(p.event)).map((p) => p.itemId))],
  };
}
