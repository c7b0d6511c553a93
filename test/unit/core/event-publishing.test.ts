import {
  type EventTopic,
  type PendingEvent,
  publishEvents,
  type RefusedEvent,
  type UnpublishedEventQueue,
} from '../../../lambda/core/event-publishing';
import { TaskStatus } from '../../../lambda/core/task';
import { DEFAULT_EVENT_TRANSITIONS, type TaskEvent, taskEvent } from '../../../lambda/core/task-events';

/** The event of task `n` succeeding, from stream record `seq-n`. */
function pending(n: number): PendingEvent {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const event = taskEvent(
    undefined,
    {
      task_id: id,
      type: 'echo',
      priority: 'low',
      status: TaskStatus.SUCCEEDED,
      attempts: 1,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:01.000Z',
    },
    DEFAULT_EVENT_TRANSITIONS,
  )!;
  return { itemId: `seq-${n}`, event };
}

/** A topic that refuses the events of the given tasks, and records what it was asked to publish. */
function topic(refuse: (e: TaskEvent) => boolean = () => false) {
  const asked: TaskEvent[] = [];
  const port: EventTopic = {
    publish: async (events) => {
      asked.push(...events);
      return events.filter(refuse).map((event) => ({ event, reason: 'KMSThrottling' }));
    },
  };
  return { port, asked };
}

/** A queue that fails to keep the events of the given tasks, and records what it kept. */
function queue(lose: (e: TaskEvent) => boolean = () => false) {
  const kept: RefusedEvent[] = [];
  const port: UnpublishedEventQueue = {
    keep: async (events) => {
      kept.push(...events.filter((r) => !lose(r.event)));
      return events.filter((r) => lose(r.event));
    },
  };
  return { port, kept };
}

const nth =
  (items: PendingEvent[], ...indexes: number[]) =>
  (e: TaskEvent) =>
    indexes.some((i) => items[i]!.event === e);

describe('Function: publishEvents', () => {
  it('publishes every event and keeps nothing when the topic takes them all', async () => {
    // Prepare
    const items = [pending(1), pending(2), pending(3)];
    const t = topic();
    const q = queue();

    // Act
    const outcome = await publishEvents(items, { topic: t.port, unpublished: q.port });

    // Assess
    expect(t.asked).toEqual(items.map((p) => p.event));
    expect(outcome.published).toEqual(items.map((p) => p.event));
    expect(outcome.unpublished).toEqual([]);
    expect(outcome.failedItemIds).toEqual([]);
    expect(q.kept).toEqual([]);
  });

  it('keeps what the topic refused in the unpublished queue, and the stream moves on', async () => {
    // Prepare
    const items = [pending(1), pending(2), pending(3)];
    const t = topic(nth(items, 1));
    const q = queue();

    // Act
    const outcome = await publishEvents(items, { topic: t.port, unpublished: q.port });

    // Assess
    expect(outcome.published).toEqual([items[0]!.event, items[2]!.event]);
    expect(q.kept).toEqual([{ event: items[1]!.event, reason: 'KMSThrottling' }]);
    expect(outcome.unpublished).toEqual(q.kept);
    expect(outcome.failedItemIds).toEqual([]);
  });

  it('hands back to the stream only the records whose events were neither published nor kept', async () => {
    // Prepare: the topic refuses events 0 and 2; the queue loses event 2
    const items = [pending(1), pending(2), pending(3)];
    const t = topic(nth(items, 0, 2));
    const q = queue(nth(items, 2));

    // Act
    const outcome = await publishEvents(items, { topic: t.port, unpublished: q.port });

    // Assess
    expect(outcome.failedItemIds).toEqual(['seq-3']);
    expect(outcome.unpublished.map((u) => u.event)).toEqual([items[0]!.event]);
    expect(outcome.published).toEqual([items[1]!.event]);
  });

  it('does not call the queue when nothing was refused, nor the topic when there is nothing to publish', async () => {
    // Prepare
    const calls: string[] = [];
    const ports = {
      topic: {
        publish: async () => {
          calls.push('publish');
          return [];
        },
      },
      unpublished: {
        keep: async () => {
          calls.push('keep');
          return [];
        },
      },
    };

    // Act
    await publishEvents([], ports);
    await publishEvents([pending(1)], ports);

    // Assess
    expect(calls).toEqual(['publish']);
  });
});
