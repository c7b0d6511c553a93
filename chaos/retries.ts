/**
 * What the chaos and crash-restart harnesses do with the task API client (cli/api-client.ts): retry what a
 * well-behaved client retries, as docs/api.md tells clients to, and keep a number of requests in flight.
 */
import { ApiError, NetworkError, type SubmitTaskInput, type TaskQueueClient } from '../cli/api-client';
import type { TaskView } from '../lambda/core/task';

export interface Submitted {
  /** The HTTP status of the last answer; 0 when the last try got no answer. */
  readonly status: number;
  readonly taskId?: string;
  /** The last answer's body, or what went wrong, for reports. */
  readonly body: unknown;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 5xx and no answer at all: a retry with the same idempotency key may succeed. */
const retryable = (error: unknown) =>
  error instanceof NetworkError || (error instanceof ApiError && error.status >= 500);

/**
 * POSTs a task with an idempotency key, retrying 5xx and network errors with the same key. Returns the final
 * answer.
 */
export async function submitWithRetries(
  client: TaskQueueClient,
  task: Omit<SubmitTaskInput, 'idempotencyKey'>,
  key: string,
  attempts = 12,
): Promise<Submitted> {
  let last: Submitted = { status: 0, body: undefined };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const { task: accepted, replayed } = await client.submit({ ...task, idempotencyKey: key });
      return { status: replayed ? 200 : 202, taskId: accepted.task_id, body: accepted };
    } catch (error) {
      if (error instanceof ApiError)
        last = { status: error.status, body: { error: { code: error.code, message: error.message } } };
      else last = { status: 0, body: String(error) };
      if (!retryable(error)) return last;
    }
    await pause(Math.min(2000, 100 * attempt));
  }
  return last;
}

/** GET /tasks/{id}, trying up to 12 times on any error (5xx, no answer); undefined on 404. */
export async function getTask(client: TaskQueueClient, taskId: string): Promise<TaskView | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.get(taskId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      if (attempt >= 12) throw error;
    }
    await pause(Math.min(2000, 100 * attempt));
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}
