/**
 * Task lifecycle events: which committed writes of the task table make an event, and what the event says.
 *
 * Events are derived from the table's stream (old and new image of every write), never published by the
 * handlers after their write: a handler whose write commits and whose publish then fails would lose the event
 * for good (a dual write). A stream record exists exactly when a write committed, so an event exists for every
 * committed transition; the price is at-least-once delivery, so every event carries `event_id`, the key a
 * subscriber deduplicates on.
 *
 * A transition is a write whose new status is in the configured set and differs from the old one, or that
 * starts a new attempt in the same status (a RUNNING task whose lease ran out, claimed again: `attempts`
 * grew). Heartbeats, progress, waits for a limit and bookkeeping writes change neither, so they make no event.
 * TTL removals (REMOVE records, no new image) never do.
 */
import { toSqsJson } from './json-text';
import { type Priority, type TaskError, type TaskRecord, TaskStatus } from './task';

/** A task record as the stream shows it: a task, a published task (topics.ts) or a delivery. */
export type EventRecord = TaskRecord;

/** Version of the event body. Subscribers ignore fields they do not know; a change of meaning bumps it. */
export const TASK_EVENT_SCHEMA_VERSION = 1;

/** The transitions published when the construct is not told otherwise: the ends most subscribers want. */
export const DEFAULT_EVENT_TRANSITIONS: readonly TaskStatus[] = [
  TaskStatus.SUCCEEDED,
  TaskStatus.FAILED,
  TaskStatus.CANCELLED,
];

/** `task.succeeded`, `task.failed`, …: the event's name, from the status the task reached. */
export type TaskEventName = `task.${Lowercase<TaskStatus>}`;

export const eventName = (status: TaskStatus): TaskEventName =>
  `task.${status.toLowerCase() as Lowercase<TaskStatus>}`;

/** The event as subscribers read it (the SNS message body, JSON). No result: a subscriber reads it with GET. */
export interface TaskEventBody {
  readonly schema_version: number;
  readonly event: TaskEventName;
  /**
   * `<record task_id>:<status>:<attempts>:<redrive count>`: the same transition seen twice (a stream record
   * retried, an unpublished event replayed) has the same id; two transitions never do.
   */
  readonly event_id: string;
  /** The task a client submitted: for a delivery of a published task, the published task's id. */
  readonly task_id: string;
  /** The submitted `type`: for a published task and its deliveries, the topic. */
  readonly type: string;
  /** Set for a published task and its deliveries. */
  readonly topic?: string;
  /** A delivery: the agent type it was delivered to. */
  readonly subscriber?: string;
  readonly priority: Priority;
  readonly tenant_id?: string;
  readonly status: TaskStatus;
  readonly attempts: number;
  /** When the transition was written (the record's `updated_at`). */
  readonly occurred_at: string;
  readonly error?: TaskError;
}

/** An event ready to publish: its body, and the String message attributes that filter policies match. */
export interface TaskEvent {
  readonly body: TaskEventBody;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The message attributes every event carries, so that subscribers can filter without reading bodies. */
export const EVENT_ATTRIBUTES = ['type', 'priority', 'status', 'event'] as const;

/**
 * The event of one committed write, or undefined when the write is not a transition of `transitions`.
 * `oldRecord` is the stream's old image (undefined for an INSERT), `newRecord` its new image (undefined for a
 * REMOVE).
 */
export function taskEvent(
  oldRecord: EventRecord | undefined,
  newRecord: EventRecord | undefined,
  transitions: Iterable<TaskStatus>,
): TaskEvent | undefined {
  if (!newRecord || !new Set(transitions).has(newRecord.status)) return undefined;
  const transition =
    !oldRecord || oldRecord.status !== newRecord.status || oldRecord.attempts !== newRecord.attempts;
  if (!transition) return undefined;

  const delivery = newRecord.published_task_id !== undefined;
  const topic = newRecord.topic ?? (newRecord.subscribers !== undefined ? newRecord.type : undefined);
  const body: TaskEventBody = {
    schema_version: TASK_EVENT_SCHEMA_VERSION,
    event: eventName(newRecord.status),
    event_id: [newRecord.task_id, newRecord.status, newRecord.attempts, newRecord.redrive_count ?? 0].join(
      ':',
    ),
    task_id: delivery ? (newRecord.published_task_id as string) : newRecord.task_id,
    type: delivery && topic !== undefined ? topic : newRecord.type,
    ...(topic !== undefined && { topic }),
    ...(delivery && { subscriber: newRecord.type }),
    priority: newRecord.priority,
    ...(newRecord.tenant_id !== undefined && { tenant_id: newRecord.tenant_id }),
    status: newRecord.status,
    attempts: newRecord.attempts,
    occurred_at: newRecord.updated_at,
    ...(newRecord.error !== undefined && {
      error: { code: newRecord.error.code, message: newRecord.error.message },
    }),
  };
  return { body, attributes: eventAttributes(body) };
}

/** `type`, `priority`, `status` and `event`, and `topic` and `subscriber` when the event has them. */
export function eventAttributes(body: TaskEventBody): Record<string, string> {
  return {
    type: body.type,
    priority: body.priority,
    status: body.status,
    event: body.event,
    ...(body.topic !== undefined && { topic: body.topic }),
    ...(body.subscriber !== undefined && { subscriber: body.subscriber }),
  };
}

/**
 * The event's message text: its body as JSON that SQS accepts too (U+FFFE and U+FFFF escaped), since SNS
 * delivers it to queues unchanged and the unpublished-events queue keeps it as it is.
 */
export const eventText = (event: TaskEvent): string => toSqsJson(event.body);

/**
 * The problems of a set of transitions as configured (construct props, config file): each must be a task
 * status, named once, and there must be at least one. Empty when it is valid.
 */
export function eventTransitionErrors(transitions: readonly unknown[]): string[] {
  const statuses: readonly string[] = Object.values(TaskStatus);
  const errors: string[] = [];
  if (transitions.length === 0)
    errors.push('events.transitions must name at least one status, but none was provided');
  for (const t of transitions) {
    if (typeof t !== 'string' || !statuses.includes(t)) {
      errors.push(
        `events.transitions must be task statuses (${statuses.join(', ')}), but '${String(t)}' was provided`,
      );
    }
  }
  const duplicates = transitions.filter((t, i) => transitions.indexOf(t) !== i);
  if (duplicates.length > 0)
    errors.push(`events.transitions names '${String(duplicates[0])}' more than once`);
  return errors;
}

/** Parses the publisher's `EVENT_TRANSITIONS` (comma-separated statuses); throws on anything else. */
export function parseEventTransitions(raw: string): TaskStatus[] {
  const list = raw.split(',').filter(Boolean);
  const errors = eventTransitionErrors(list);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return list as TaskStatus[];
}
