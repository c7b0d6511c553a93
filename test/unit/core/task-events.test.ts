import { TaskStatus } from '../../../lambda/core/task';
import {
  DEFAULT_EVENT_TRANSITIONS,
  type EventRecord,
  eventText,
  eventTransitionErrors,
  parseEventTransitions,
  TASK_EVENT_SCHEMA_VERSION,
  taskEvent,
} from '../../../lambda/core/task-events';
import { TASK_ID } from '../../support/fixtures';

const PUBLISHED_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const DELIVERY_ID = 'a3bb189e-8bf9-3888-9912-ace4e6543002';
const ALL_STATUSES = Object.values(TaskStatus);

/** A low `echo` task record; `overrides` replace its fields. */
function record(overrides: Partial<EventRecord> = {}): EventRecord {
  return {
    task_id: TASK_ID,
    type: 'echo',
    priority: 'low',
    status: TaskStatus.RUNNING,
    attempts: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:05.000Z',
    ...overrides,
  };
}

describe('Constant: DEFAULT_EVENT_TRANSITIONS', () => {
  it('publishes the three ends of a task, and nothing else', () => {
    // Assess
    expect([...DEFAULT_EVENT_TRANSITIONS].sort()).toEqual(['CANCELLED', 'FAILED', 'SUCCEEDED']);
  });
});

describe('Function: taskEvent (which writes make an event)', () => {
  it('makes an event when a task reaches a status of the set', () => {
    // Prepare
    const before = record({ status: TaskStatus.RUNNING });
    const after = record({ status: TaskStatus.SUCCEEDED, finished_at: '2026-01-01T00:00:06.000Z' });

    // Act
    const event = taskEvent(before, after, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(event?.body.event).toBe('task.succeeded');
  });

  it.each(ALL_STATUSES.filter((s) => !DEFAULT_EVENT_TRANSITIONS.includes(s)))(
    'makes no event for a task reaching %s when the set leaves it out',
    (status) => {
      // Act
      const event = taskEvent(
        record({ status: TaskStatus.QUEUED, attempts: 0 }),
        record({ status }),
        DEFAULT_EVENT_TRANSITIONS,
      );

      // Assess
      expect(event).toBeUndefined();
    },
  );

  it.each(ALL_STATUSES)('makes an event for %s when the set names it', (status) => {
    // Prepare: an INSERT, so that any status is a change
    const after = record({ status });

    // Act
    const event = taskEvent(undefined, after, [status]);

    // Assess
    expect(event?.body.status).toBe(status);
    expect(event?.body.event).toBe(`task.${status.toLowerCase()}`);
  });

  it('makes no event for a write that keeps the status and the attempt (a heartbeat, progress)', () => {
    // Prepare
    const before = record({ status: TaskStatus.RUNNING, heartbeat_at: '2026-01-01T00:00:04.000Z' });
    const after = record({
      status: TaskStatus.RUNNING,
      heartbeat_at: '2026-01-01T00:00:05.000Z',
      progress: { percent: 50 },
    });

    // Act
    const event = taskEvent(before, after, [TaskStatus.RUNNING]);

    // Assess
    expect(event).toBeUndefined();
  });

  it('makes no event for a bookkeeping write to a terminal task (its TTL, a repeated completion)', () => {
    // Prepare
    const before = record({ status: TaskStatus.FAILED, attempts: 5 });
    const after = record({ status: TaskStatus.FAILED, attempts: 5, expires_at: 1_800_000_000 });

    // Act
    const event = taskEvent(before, after, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(event).toBeUndefined();
  });

  it('makes an event when a new attempt starts in the same status (a lost lease claimed again)', () => {
    // Prepare
    const before = record({ status: TaskStatus.RUNNING, attempts: 1 });
    const after = record({ status: TaskStatus.RUNNING, attempts: 2 });

    // Act
    const event = taskEvent(before, after, [TaskStatus.RUNNING]);

    // Assess
    expect(event?.body.attempts).toBe(2);
  });

  it('makes an event for an INSERT in a status of the set (a delivery cancelled before it was claimed)', () => {
    // Act
    const event = taskEvent(
      undefined,
      record({ status: TaskStatus.CANCELLED, attempts: 0 }),
      DEFAULT_EVENT_TRANSITIONS,
    );

    // Assess
    expect(event?.body.event).toBe('task.cancelled');
  });

  it('makes no event for a REMOVE (the TTL expiring a finished task)', () => {
    // Act
    const event = taskEvent(record({ status: TaskStatus.SUCCEEDED }), undefined, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(event).toBeUndefined();
  });
});

describe('Function: taskEvent (what the event says)', () => {
  it('carries the versioned body of a queued task, with its error and no result', () => {
    // Prepare
    const after = record({
      status: TaskStatus.FAILED,
      attempts: 3,
      tenant_id: 'acme',
      priority: 'high',
      updated_at: '2026-01-01T00:01:00.000Z',
      error: { code: 'AgentError', message: 'the agent said no' },
      result: { secret: 'never in an event' },
    });

    // Act
    const event = taskEvent(record(), after, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(event?.body).toEqual({
      schema_version: TASK_EVENT_SCHEMA_VERSION,
      event: 'task.failed',
      event_id: `${TASK_ID}:FAILED:3:0`,
      task_id: TASK_ID,
      type: 'echo',
      priority: 'high',
      tenant_id: 'acme',
      status: 'FAILED',
      attempts: 3,
      occurred_at: '2026-01-01T00:01:00.000Z',
      error: { code: 'AgentError', message: 'the agent said no' },
    });
    expect(event?.attributes).toEqual({
      type: 'echo',
      priority: 'high',
      status: 'FAILED',
      event: 'task.failed',
    });
  });

  it('names a delivery by its published task and topic, with the subscriber that ran it', () => {
    // Prepare
    const after = record({
      task_id: DELIVERY_ID,
      type: 'summarize',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
      status: TaskStatus.SUCCEEDED,
    });

    // Act
    const event = taskEvent(record({ task_id: DELIVERY_ID }), after, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(event?.body).toMatchObject({
      task_id: PUBLISHED_ID,
      type: 'document.uploaded',
      topic: 'document.uploaded',
      subscriber: 'summarize',
      event_id: `${DELIVERY_ID}:SUCCEEDED:1:0`,
    });
    expect(event?.attributes).toEqual({
      type: 'document.uploaded',
      priority: 'low',
      status: 'SUCCEEDED',
      event: 'task.succeeded',
      topic: 'document.uploaded',
      subscriber: 'summarize',
    });
  });

  it('gives two deliveries of one published task different event ids', () => {
    // Prepare
    const delivery = (id: string, type: string) =>
      record({
        task_id: id,
        type,
        topic: 't',
        published_task_id: PUBLISHED_ID,
        status: TaskStatus.SUCCEEDED,
      });

    // Act
    const a = taskEvent(undefined, delivery(DELIVERY_ID, 'summarize'), DEFAULT_EVENT_TRANSITIONS);
    const b = taskEvent(undefined, delivery(TASK_ID, 'index'), DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(a?.body.task_id).toBe(b?.body.task_id);
    expect(a?.body.event_id).not.toBe(b?.body.event_id);
  });

  it('names a published record by its topic, without a subscriber', () => {
    // Prepare: the sweep abandoned a publish whose fan-out kept failing
    const after = record({
      task_id: PUBLISHED_ID,
      type: 'document.uploaded',
      subscribers: ['summarize', 'index'],
      status: TaskStatus.FAILED,
      error: { code: 'DeadLettered', message: 'fan-out failed' },
    });

    // Act
    const event = taskEvent(
      record({ task_id: PUBLISHED_ID, status: TaskStatus.QUEUED }),
      after,
      DEFAULT_EVENT_TRANSITIONS,
    );

    // Assess
    expect(event?.body).toMatchObject({
      task_id: PUBLISHED_ID,
      type: 'document.uploaded',
      topic: 'document.uploaded',
    });
    expect(event?.body).not.toHaveProperty('subscriber');
    expect(event?.attributes).not.toHaveProperty('subscriber');
  });

  it('gives a task failed again after a redrive a new event id', () => {
    // Prepare: the same status and attempts, one redrive later
    const first = taskEvent(
      record(),
      record({ status: TaskStatus.FAILED, attempts: 5 }),
      DEFAULT_EVENT_TRANSITIONS,
    );
    const again = taskEvent(
      record({ status: TaskStatus.RUNNING, attempts: 5, redrive_count: 1 }),
      record({ status: TaskStatus.FAILED, attempts: 5, redrive_count: 1 }),
      DEFAULT_EVENT_TRANSITIONS,
    );

    // Assess
    expect(first?.body.event_id).toBe(`${TASK_ID}:FAILED:5:0`);
    expect(again?.body.event_id).toBe(`${TASK_ID}:FAILED:5:1`);
  });

  it('gives the same write seen twice the same event id, so subscribers can drop the copy', () => {
    // Prepare
    const before = record();
    const after = record({ status: TaskStatus.SUCCEEDED });

    // Act
    const a = taskEvent(before, after, DEFAULT_EVENT_TRANSITIONS);
    const b = taskEvent(before, after, DEFAULT_EVENT_TRANSITIONS);

    // Assess
    expect(a).toEqual(b);
  });
});

describe('Function: eventText', () => {
  it('writes the body as JSON that SQS accepts, the same value once parsed', () => {
    // Prepare
    const event = taskEvent(
      undefined,
      record({ status: TaskStatus.FAILED, error: { code: 'AgentError', message: 'bad \uffff byte' } }),
      DEFAULT_EVENT_TRANSITIONS,
    )!;

    // Act
    const text = eventText(event);

    // Assess
    expect(text).not.toContain('\uffff');
    expect(JSON.parse(text)).toEqual(event.body);
  });
});

describe('Function: eventTransitionErrors', () => {
  it('accepts a list of distinct task statuses', () => {
    // Assess
    expect(eventTransitionErrors(['SUCCEEDED', 'RUNNING'])).toEqual([]);
  });

  it('refuses an empty list', () => {
    // Assess
    expect(eventTransitionErrors([])).toEqual([
      'events.transitions must name at least one status, but none was provided',
    ]);
  });

  it('refuses what is not a task status, naming it', () => {
    // Act
    const errors = eventTransitionErrors(['SUCCEEDED', 'DONE']);

    // Assess
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("'DONE'");
  });

  it('refuses a status named twice', () => {
    // Assess
    expect(eventTransitionErrors(['FAILED', 'FAILED'])).toEqual([
      "events.transitions names 'FAILED' more than once",
    ]);
  });
});

describe('Function: parseEventTransitions', () => {
  it('reads the comma-separated statuses the construct wrote', () => {
    // Assess
    expect(parseEventTransitions('SUCCEEDED,FAILED,CANCELLED')).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
  });

  it('throws on a value that is not a status', () => {
    // Assess
    expect(() => parseEventTransitions('SUCCEEDED,succeeded')).toThrow("'succeeded'");
  });
});
