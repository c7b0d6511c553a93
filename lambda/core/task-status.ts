/** GET and DELETE /tasks/{id}: reading a task, and cancelling one that has not started its attempt. */
import { ApiErrorCode } from './error-codes';
import { HttpError } from './errors';
import type { TaskStore } from './ports';
import { TASK_ID_PATTERN, type TaskView, toTaskView } from './task';

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

/** Cancels a task that has not started its current attempt. Its message is acknowledged unrun when it arrives. */
export async function cancelTask(
  store: TaskStore,
  taskId: string,
  opts: { retentionSeconds: number; now?: Date },
): Promise<TaskView> {
  const now = opts.now ?? new Date();
  const out = await store.cancel(taskId, now, Math.floor(now.getTime() / 1000) + opts.retentionSeconds);
  if (out.cancelled) return toTaskView(out.cancelled);
  if (!out.current) throw new HttpError(ApiErrorCode.NotFound, `task ${taskId} does not exist`);
  throw new HttpError(
    ApiErrorCode.NotCancellable,
    `task ${taskId} is ${out.current.status} and can no longer be cancelled`,
  );
}
