/** GET and DELETE /tasks/{id}: reading a task, and cancelling one that has not started its attempt. */
import { ApiErrorCode } from './error-codes';
import { HttpError } from './errors';
import type { TaskStore } from './ports';
import { TASK_ID_PATTERN, type TaskRecord, TaskStatus, type TaskView, toTaskView } from './task';
import {
  cancelledDeliveryRecord,
  deliveryTaskId,
  isPublishedRecord,
  publishedView,
  retentionEnd,
} from './topics';
import { isTerminal } from './transitions';

export function parseTaskId(raw: string | undefined): string {
  const id = raw ?? '';
  if (!TASK_ID_PATTERN.test(id)) {
    throw new HttpError(ApiErrorCode.ValidationError, 'the task id must be a lowercase UUID', [
      { path: 'path:id', message: 'is not a task id' },
    ]);
  }
  return id;
}

/**
 * What GET /tasks/{id} shows of a record: a published task's view reads its deliveries' records too. A result kept
 * in the results bucket (result-storage.ts) is read back, so that the view carries every result inline.
 */
export async function viewOf(store: TaskStore, record: TaskRecord): Promise<TaskView> {
  if (!isPublishedRecord(record)) return toTaskView(await store.loadResult(record));
  const found = await store.getMany(
    record.subscribers.map((subscriber) => deliveryTaskId(record.task_id, subscriber)),
  );
  const deliveries = new Map(
    await Promise.all(
      [...found].map(async ([id, delivery]) => [id, await store.loadResult(delivery)] as const),
    ),
  );
  return publishedView(record, deliveries);
}

export async function getTask(store: TaskStore, taskId: string): Promise<TaskView> {
  const record = await store.get(taskId);
  if (!record) throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  return viewOf(store, record);
}

/** What a cancellation did: the task as it is now, and the tasks (a published task's deliveries) it cancelled. */
export interface Cancellation {
  readonly outcome: 'cancelled' | 'requested';
  readonly task: TaskView;
  /** Each task cancelled: the task itself, or the deliveries of a published task. */
  readonly cancelled: readonly TaskView[];
}

type CancelOptions = { readonly retentionSeconds: number; readonly now?: Date };

/**
 * DELETE /tasks/{id}. A task that has not started its current attempt is cancelled at once (`cancelled`; its
 * message is acknowledged unrun when it arrives). A running async attempt is asked to stop (`requested`): its
 * agent learns it from its next heartbeat's answer, and the task ends CANCELLED when the agent completes with
 * the error `Cancelled` (or its attempt fails or is lost); a result still succeeds.
 */
export async function cancelTask(
  store: TaskStore,
  taskId: string,
  opts: CancelOptions,
): Promise<Cancellation> {
  const record = await store.get(taskId);
  if (!record) throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  if (isPublishedRecord(record)) return cancelPublished(store, record, opts);
  const one = await cancelOne(store, record, opts);
  // Gone between the read and the write (its retention ran out).
  if (one.outcome === 'missing') throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  if (one.outcome === 'refused') {
    throw new HttpError(
      ApiErrorCode.NotCancellable,
      `task ${taskId} is ${one.record.status} and can no longer be cancelled`,
    );
  }
  const task = toTaskView(one.record);
  return { outcome: one.outcome, task, cancelled: one.outcome === 'cancelled' ? [task] : [] };
}

type OneCancellation =
  | { readonly outcome: 'cancelled' | 'requested' | 'refused'; readonly record: TaskRecord }
  | { readonly outcome: 'missing' };

/**
 * Cancels one task record: at once if it has not started its current attempt, by asking a running async attempt to
 * stop otherwise; `refused` when neither can be done.
 */
async function cancelOne(
  store: TaskStore,
  task: Pick<TaskRecord, 'task_id' | 'created_at' | 'published_task_id'>,
  opts: CancelOptions,
): Promise<OneCancellation> {
  const taskId = task.task_id;
  const now = opts.now ?? new Date();
  const out = await store.cancel(taskId, now, retentionEnd(now, opts.retentionSeconds, task));
  if (out.cancelled) return { outcome: 'cancelled', record: out.cancelled };
  if (!out.current) return { outcome: 'missing' };
  if (out.current.status === TaskStatus.RUNNING && out.current.agent_mode === 'async') {
    const requested = await store.requestCancel(taskId, out.current.attempts, now);
    if (requested) return { outcome: 'requested', record: requested };
    // The attempt ended between the two writes: answer from what it is now.
    return cancelOne(store, task, opts);
  }
  return { outcome: 'refused', record: out.current };
}

/**
 * DELETE of a published task cancels each delivery that can still be cancelled. A delivery not yet claimed has no
 * record: its cancellation writes one, CANCELLED, and its message is acknowledged unrun when it arrives. 200 when at
 * least one delivery was cancelled, 202 when the only thing done was to ask running async ones to stop, and 409
 * otherwise.
 */
async function cancelPublished(
  store: TaskStore,
  published: TaskRecord & { readonly subscribers: readonly string[] },
  opts: CancelOptions,
): Promise<Cancellation> {
  const now = opts.now ?? new Date();
  const delivery = { created_at: published.created_at, published_task_id: published.task_id };
  const expiresAt = retentionEnd(now, opts.retentionSeconds, delivery);
  const cancelDelivery = async (subscriber: string): Promise<OneCancellation> => {
    const id = deliveryTaskId(published.task_id, subscriber);
    const one = await cancelOne(store, { ...delivery, task_id: id }, opts);
    if (one.outcome !== 'missing') return one;
    // A published task that ended (the sweep failed it: its publish message was dead-lettered before it fanned
    // out) never delivers the ones without a record: there is nothing left to cancel, and its status stays.
    if (isTerminal(published.status)) return { outcome: 'refused', record: published };
    const record = cancelledDeliveryRecord(published, subscriber, now, expiresAt);
    const created = await store.create(record);
    // Its first claim wrote the record in between: cancel what is there now.
    return created.created
      ? { outcome: 'cancelled', record }
      : cancelOne(store, { ...delivery, task_id: id }, opts);
  };
  const outcomes = await Promise.all(published.subscribers.map(cancelDelivery));
  const cancelled = outcomes.flatMap((o) => (o.outcome === 'cancelled' ? [toTaskView(o.record)] : []));
  const requested = outcomes.some((o) => o.outcome === 'requested');
  if (cancelled.length === 0 && !requested) {
    throw new HttpError(
      ApiErrorCode.NotCancellable,
      `no delivery of published task ${published.task_id} can still be cancelled`,
    );
  }
  return {
    outcome: cancelled.length > 0 ? 'cancelled' : 'requested',
    task: await viewOf(store, published),
    cancelled,
  };
}
