/**
 * Publish/subscribe: a task published to a topic runs once per subscriber.
 *
 * - The producer sends one *publish message* (an envelope whose `subscribers` lists the topic's agents) and writes
 *   the *published record* (its `subscribers` say it is one).
 * - The tier consumer *fans it out*: one *delivery message* per subscriber, into the same tier queue, then acks.
 *   A crash part-way leaves the publish message in its queue, so the fan-out runs again; duplicate delivery
 *   messages are harmless, as any duplicate is (claims are conditional).
 * - A *delivery* is a task of its own, with an id derived from the published task's id and the subscriber: its own
 *   record, status, attempts, retries, limits and DLQ path. Its record is written by its first claim.
 *
 * This module holds the rules that tie them together: ids, envelopes, the derived status and the view.
 */
import { createHash } from 'node:crypto';
import { uuidFromDigest } from './idempotency';
import {
  type TaskEnvelope,
  type TaskError,
  type TaskRecord,
  TaskStatus,
  type TaskView,
  toTaskView,
} from './task';
import { isTerminal } from './transitions';

/** The task id of the delivery of published task `publishedTaskId` to `subscriber`: the same every time. */
export function deliveryTaskId(publishedTaskId: string, subscriber: string): string {
  return uuidFromDigest(createHash('sha256').update(`delivery:${publishedTaskId}:${subscriber}`).digest());
}

/** Whether an envelope is a publish message (to fan out), not a task to run. */
export function isPublishEnvelope(
  envelope: TaskEnvelope,
): envelope is TaskEnvelope & { readonly subscribers: readonly string[] } {
  return envelope.subscribers !== undefined;
}

/** Whether a record is a published task (its deliveries are records of their own). */
export function isPublishedRecord(
  record: TaskRecord,
): record is TaskRecord & { readonly subscribers: readonly string[] } {
  return record.subscribers !== undefined;
}

/** The envelope of one delivery of a publish message: the same task, addressed to one subscriber. */
export function deliveryEnvelope(publish: TaskEnvelope, subscriber: string): TaskEnvelope {
  const { subscribers: _, ...rest } = publish;
  return {
    ...rest,
    task_id: deliveryTaskId(publish.task_id, subscriber),
    type: subscriber,
    topic: publish.type,
    published_task_id: publish.task_id,
  };
}

/** Every delivery envelope of a publish message, in the order of its subscribers. */
export function deliveryEnvelopes(publish: TaskEnvelope): TaskEnvelope[] {
  return (publish.subscribers ?? []).map((subscriber) => deliveryEnvelope(publish, subscriber));
}

/**
 * The published record a publish message stands for: what the producer writes, and what the fan-out writes when
 * the producer's write failed. `expiresAt` (epoch seconds) bounds it, since it never ends by itself: its
 * deliveries do.
 */
export function publishedRecord(envelope: TaskEnvelope, expiresAt: number): TaskRecord {
  return {
    task_id: envelope.task_id,
    type: envelope.type,
    priority: envelope.priority,
    ...(envelope.tenant_id !== undefined && { tenant_id: envelope.tenant_id }),
    status: TaskStatus.QUEUED,
    attempts: 0,
    created_at: envelope.created_at,
    updated_at: envelope.created_at,
    request_hash: envelope.request_hash,
    enqueue_id: envelope.enqueue_id,
    topic: envelope.type,
    subscribers: envelope.subscribers ?? [],
    expires_at: expiresAt,
  };
}

/**
 * How long a published record outlives its creation: twice the task retention. Every delivery ends within the
 * queue's retention plus the DLQ's after it was published (the construct checks that the task retention covers
 * both), and its own record stays a task retention after that.
 */
export function publishedExpiresAt(createdAt: Date, retentionSeconds: number): number {
  return Math.floor(createdAt.getTime() / 1000) + 2 * retentionSeconds;
}

/**
 * Until when a finished task's record stays (epoch seconds): `retentionSeconds` after now, and for a delivery at
 * least as long as its published record (publishedExpiresAt), so that the published task never shows a finished
 * delivery as one not claimed yet.
 */
export function retentionEnd(
  now: Date,
  retentionSeconds: number,
  task: { readonly created_at: string; readonly published_task_id?: string },
): number {
  const end = Math.floor(now.getTime() / 1000) + retentionSeconds;
  if (task.published_task_id === undefined) return end;
  return Math.max(end, publishedExpiresAt(new Date(task.created_at), retentionSeconds));
}

/**
 * A delivery whose message was dead-lettered before any claim wrote its record: the record the sweep writes for it,
 * FAILED with the dead letter's error, so that it and its published task end.
 */
export function unclaimedFailedDelivery(
  envelope: TaskEnvelope,
  error: TaskError,
  now: Date,
  expiresAt: number,
): TaskRecord {
  return {
    task_id: envelope.task_id,
    type: envelope.type,
    priority: envelope.priority,
    ...(envelope.tenant_id !== undefined && { tenant_id: envelope.tenant_id }),
    status: TaskStatus.FAILED,
    attempts: 0,
    created_at: envelope.created_at,
    updated_at: now.toISOString(),
    finished_at: now.toISOString(),
    error,
    request_hash: envelope.request_hash,
    enqueue_id: envelope.enqueue_id,
    ...(envelope.topic !== undefined && { topic: envelope.topic }),
    ...(envelope.published_task_id !== undefined && { published_task_id: envelope.published_task_id }),
    expires_at: expiresAt,
  };
}

/** A delivery cancelled before its first claim: the record its cancellation writes. */
export function cancelledDeliveryRecord(
  published: TaskRecord,
  subscriber: string,
  now: Date,
  expiresAt: number,
): TaskRecord {
  return {
    task_id: deliveryTaskId(published.task_id, subscriber),
    type: subscriber,
    priority: published.priority,
    ...(published.tenant_id !== undefined && { tenant_id: published.tenant_id }),
    status: TaskStatus.CANCELLED,
    attempts: 0,
    created_at: published.created_at,
    updated_at: now.toISOString(),
    finished_at: now.toISOString(),
    ...(published.request_hash !== undefined && { request_hash: published.request_hash }),
    ...(published.enqueue_id !== undefined && { enqueue_id: published.enqueue_id }),
    topic: published.type,
    published_task_id: published.task_id,
    expires_at: expiresAt,
  };
}

/**
 * The status of a published task, from its deliveries': when every one has ended, FAILED if any failed, else
 * SUCCEEDED if any succeeded, else CANCELLED; before that, RUNNING if any runs, else RETRYING if any retries,
 * else QUEUED.
 */
export function publishedStatus(statuses: readonly TaskStatus[]): TaskStatus {
  const any = (status: TaskStatus) => statuses.includes(status);
  if (statuses.length > 0 && statuses.every(isTerminal)) {
    if (any(TaskStatus.FAILED)) return TaskStatus.FAILED;
    if (any(TaskStatus.SUCCEEDED)) return TaskStatus.SUCCEEDED;
    return TaskStatus.CANCELLED;
  }
  if (any(TaskStatus.RUNNING)) return TaskStatus.RUNNING;
  if (any(TaskStatus.RETRYING)) return TaskStatus.RETRYING;
  return TaskStatus.QUEUED;
}

/** One delivery as GET /tasks/{id} of its published task shows it. */
export interface DeliveryView {
  /** The delivery's own task id: GET /tasks/{it}, and what the DLQ tools name. */
  readonly task_id: string;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly result?: unknown;
  readonly error?: TaskError;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly waiting?: TaskView['waiting'];
}

/** The fields of a published task's delivery that its view shows (besides the delivery's `task_id`). */
export const DELIVERY_VIEW_FIELDS = [
  'status',
  'attempts',
  'result',
  'error',
  'started_at',
  'finished_at',
  'waiting',
] as const;

/**
 * A delivery with no record yet has not been claimed: it is QUEUED, unless its publish message was dead-lettered
 * before it fanned out (the sweep failed the published record), in which case it never will be.
 */
function unclaimedDelivery(published: TaskRecord, taskId: string): DeliveryView {
  if (published.status === TaskStatus.FAILED) {
    return {
      task_id: taskId,
      status: TaskStatus.FAILED,
      attempts: 0,
      ...(published.error && { error: published.error }),
      ...(published.finished_at && { finished_at: published.finished_at }),
    };
  }
  return { task_id: taskId, status: TaskStatus.QUEUED, attempts: 0 };
}

/**
 * GET /tasks/{id} of a published task: its own fields, the derived status, the sum of its deliveries' attempts, and
 * each delivery. `deliveries` holds the delivery records that exist, by task id.
 */
export function publishedView(
  published: TaskRecord & { readonly subscribers: readonly string[] },
  deliveries: ReadonlyMap<string, TaskRecord>,
): TaskView {
  const byType: Record<string, DeliveryView> = {};
  for (const subscriber of published.subscribers) {
    const taskId = deliveryTaskId(published.task_id, subscriber);
    const record = deliveries.get(taskId);
    if (!record) {
      byType[subscriber] = unclaimedDelivery(published, taskId);
      continue;
    }
    const view = toTaskView(record);
    byType[subscriber] = {
      task_id: taskId,
      ...Object.fromEntries(
        DELIVERY_VIEW_FIELDS.filter((field) => view[field] !== undefined).map((field) => [
          field,
          view[field],
        ]),
      ),
    } as DeliveryView;
  }
  const views = Object.values(byType);
  const status = publishedStatus(views.map((d) => d.status));
  const earliest = (values: (string | undefined)[]) => values.filter((v) => v !== undefined).sort()[0];
  const latest = (values: (string | undefined)[]) =>
    values
      .filter((v) => v !== undefined)
      .sort()
      .at(-1);
  const startedAt = earliest(views.map((d) => d.started_at));
  const finishedAt = isTerminal(status) ? latest(views.map((d) => d.finished_at)) : undefined;
  const updatedAt = latest([published.updated_at, ...[...deliveries.values()].map((r) => r.updated_at)]);
  return {
    task_id: published.task_id,
    type: published.type,
    priority: published.priority,
    ...(published.tenant_id !== undefined && { tenant_id: published.tenant_id }),
    topic: published.type,
    status,
    attempts: views.reduce((sum, d) => sum + d.attempts, 0),
    created_at: published.created_at,
    updated_at: updatedAt ?? published.updated_at,
    ...(startedAt !== undefined && { started_at: startedAt }),
    ...(finishedAt !== undefined && { finished_at: finishedAt }),
    deliveries: byType,
  };
}
