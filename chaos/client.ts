/** A small task API client for the chaos and fuzz harnesses: it retries what a well-behaved client retries. */

export interface Submitted {
  readonly status: number;
  readonly taskId?: string;
  readonly body: unknown;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POSTs a task with an idempotency key, retrying 5xx and network errors with the same key, as the README tells
 * clients to. Returns the final answer.
 */
export async function submitWithRetries(
  apiUrl: string,
  body: unknown,
  key: string,
  attempts = 12,
): Promise<Submitted> {
  let last: Submitted = { status: 0, body: undefined };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(new URL('/tasks', apiUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      const json = (await response.json().catch(() => undefined)) as { task_id?: string } | undefined;
      last = { status: response.status, taskId: json?.task_id, body: json };
      if (response.status < 500) return last;
    } catch (error) {
      last = { status: 0, body: String(error) };
    }
    await pause(Math.min(2000, 100 * attempt));
  }
  return last;
}

export interface TaskState {
  readonly task_id: string;
  readonly status: string;
  readonly attempts: number;
  readonly error?: { code: string; message: string };
}

/** GET /tasks/{id}, retrying 5xx and network errors; undefined on 404. */
export async function getTask(apiUrl: string, taskId: string): Promise<TaskState | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(new URL(`/tasks/${taskId}`, apiUrl));
      if (response.status === 404) return undefined;
      if (response.ok) return (await response.json()) as TaskState;
      if (response.status < 500) throw new Error(`GET /tasks/${taskId} answered ${response.status}`);
    } catch (error) {
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
