/** GET and DELETE /tasks/{id}: reading a task, and cancelling one that has not started its attempt. */
import { ApiErrorCode } from './error-codes';
import { HttpError } from './errors';
import type { TaskStore } from './ports';
import { TASK_ID_PATTERN, TaskStatus, type TaskView, toTaskView } from './task';

export function parseTaskId(raw: string | undefined): string {
  const id = raw ?? '';
  if (!TASK_ID_PATTERN.test(id)) {
    throw new HttpError(ApiErrorCode.ValidationError, 'the task id must be a lowercase UUID', [
      { path: 'path:id', message: 'is not a task id' },
    ]);
  }
  return id;
}

export async function getTask(store: TaskStore, taskId: string): Promise<TaskView> {
  const record = await store.get(taskId);
  if (!record) throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  return toTaskView(record);
}

/**
 * DELETE /tasks/{id}. A task that has not started its current attempt is cancelled at once (`cancelled`; its
 * message is acknowledged unrun when it arrives). A running async attempt is asked to stop (`requested`): its
 * agent learns it from its next heartbeat's answer, and the task ends CANCELLED when the agent completes with
 * the error `Cancelled` (or its attempt fails or is lost); a result still succeeds.
 */
export async function cancelTask(
  store: TaskStore,
  taskId: string,
  opts: { retentionSeconds: number; now?: Date },
): Promise<{ outcome: 'cancelled' | 'requested'; task: TaskView }> {
  const now = opts.now ?? new Date();
  const out = await store.cancel(taskId, now, Math.floor(now.getTime() / 1000) + opts.retentionSeconds);
  if (out.cancelled) return { outcome: 'cancelled', task: toTaskView(out.cancelled) };
  if (!out.current) throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  if (out.current.status === TaskStatus.RUNNING && out.current.agent_mode === 'async') {
    const requested = await store.requestCancel(taskId, out.current.attempts, now);
    if (requested) return { outcome: 'requested', task: toTaskView(requested) };
    // The attempt ended between the two writes: answer from what it is now.
    return cancelTask(store, taskId, opts);
  }
  throw new HttpError(
    ApiErrorCode.NotCancellable,
    `task ${taskId} is ${out.current.status} and can no longer be cancelled`,
  );
}
