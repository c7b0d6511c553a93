/**
 * What the chaos and crash-restart harnesses do with the task API client (cli/api-client.ts): retry what a
 * well-behaved client retries, as docs/api.md tells clients to, and keep a number of requests in flight.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError, NetworkError, type SubmitTaskInput, type TaskQueueClient } from '../cli/api-client';
import { DynamoTaskStore } from '../lambda/adapters/dynamodb-task-store';
import type { TaskRecord, TaskView } from '../lambda/core/task';
import { deliveryTaskId } from '../lambda/core/topics';
import { isTerminal } from '../lambda/core/transitions';

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

/** Reads a task table directly (past a runtime's AWS proxy and its faults): which of some tasks have ended. */
export interface TaskTable {
  /** The tasks whose record has ended; a published task once each of its deliveries' records has. */
  ended(ids: readonly string[]): Promise<Set<string>>;
  close(): void;
}

export function taskTable(dynamodbEndpoint: string, tableName: string): TaskTable {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamodbEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const store = new DynamoTaskStore(client, tableName);
  return {
    ended: async (ids) => {
      const records = [...(await store.getMany(ids)).values()];
      const deliveryIds = (r: TaskRecord) => (r.subscribers ?? []).map((s) => deliveryTaskId(r.task_id, s));
      const deliveries = await store.getMany(records.flatMap(deliveryIds));
      const ended = (id: string) => {
        const d = deliveries.get(id);
        return d !== undefined && isTerminal(d.status);
      };
      return new Set(
        records
          .filter((r) => isTerminal(r.status) || (r.subscribers !== undefined && deliveryIds(r).every(ended)))
          .map((r) => r.task_id),
      );
    },
    close: () => client.destroy(),
  };
}

/**
 * Waits, a round a second, until GET /tasks/{id} shows every task terminal, or `deadline` (epoch ms) passes, and
 * returns what it showed of each and the tasks still pending. A task the API does not find (undefined) is not
 * waited for any longer: an accepted task is never missing, so it is lost, and the caller says so at once. The
 * task table says when to ask: a task is asked for once its record has ended (and again while the API does not
 * show that), every pending task every tenth round, should the table and the API ever disagree, and each one left
 * at the deadline. A GET through a local runtime costs some 10 ms of CPU (its HTTP API, the status function, the
 * AWS proxy), so asking for every pending task every second made most of the CPU of a run's last minute.
 */
export async function waitForTerminal(
  api: TaskQueueClient,
  ids: readonly string[],
  options: {
    readonly table: TaskTable;
    readonly deadline: number;
    readonly concurrency: number;
    readonly progress?: (pending: number) => void;
  },
): Promise<{ states: Map<string, TaskView | undefined>; pending: string[] }> {
  const states = new Map<string, TaskView | undefined>();
  const ask = async (asked: readonly string[]) => {
    const views = await pool(asked, options.concurrency, (id) => getTask(api, id));
    asked.forEach((id, i) => {
      states.set(id, views[i]);
    });
  };
  let pending = [...ids];
  for (let round = 0; pending.length > 0 && Date.now() < options.deadline; round++) {
    const settled = round % 10 === 9 ? new Set(pending) : await options.table.ended(pending);
    await ask(pending.filter((id) => settled.has(id)));
    pending = pending.filter((id) => {
      const state = states.get(id);
      return !settled.has(id) || (state !== undefined && !isTerminal(state.status));
    });
    options.progress?.(pending.length);
    if (pending.length > 0) await pause(1000);
  }
  await ask(pending);
  return { states, pending };
}
