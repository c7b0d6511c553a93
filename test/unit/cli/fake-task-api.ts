/**
 * A tiny in-memory fake of the task API over real HTTP, for the CLI tests. Each task follows a
 * scripted timeline: every GET returns the current step and moves to the next (the last one stays).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TaskDetails } from '../../../cli/api-client';
import { parseExactJson } from '../../../lambda/core/json-text';
import type { TaskView } from '../../../lambda/core/task';
import { TRANSITIONS } from '../../../lambda/core/transitions';

export type Step = Partial<Omit<TaskDetails, 'task_id' | 'type' | 'priority' | 'created_at'>> &
  Pick<TaskView, 'status'>;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface FakeTaskApi {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Timeline for tasks of a type; without one a task stays QUEUED. */
  script(type: string, steps: readonly Step[]): void;
  /**
   * Puts a task in place directly, as if submitted earlier. With `async`, its agent is async: a DELETE while it is
   * RUNNING answers 202 and marks it `cancel_requested` (its scripted steps go on).
   */
  seed(steps: readonly Step[], type?: string, options?: { readonly async?: boolean }): string;
  /** The next `count` GETs answer 503 before reaching the task. */
  failNextGets(count: number): void;
  close(): Promise<void>;
}

interface FakeTask {
  readonly view: Pick<TaskView, 'task_id' | 'type' | 'priority' | 'created_at'>;
  steps: Step[];
  index: number;
  async: boolean;
  cancelRequested: boolean;
}

const CREATED_AT = '2026-11-28T08:00:00.000Z';

export async function startFakeTaskApi(): Promise<FakeTaskApi> {
  const tasks = new Map<string, FakeTask>();
  const keys = new Map<string, string>();
  const scripts = new Map<string, readonly Step[]>();
  const requests: RecordedRequest[] = [];
  let failingGets = 0;

  const create = (
    type: string,
    priority: TaskView['priority'],
    steps?: readonly Step[],
    async = false,
  ): FakeTask => {
    const task: FakeTask = {
      view: { task_id: randomUUID(), type, priority, created_at: CREATED_AT },
      steps: [...(steps ?? scripts.get(type) ?? [{ status: 'QUEUED' }])],
      index: 0,
      async,
      cancelRequested: false,
    };
    tasks.set(task.view.task_id, task);
    return task;
  };
  const viewOf = (task: FakeTask): TaskDetails => {
    const view: TaskDetails = {
      attempts: 0,
      updated_at: CREATED_AT,
      ...task.view,
      ...task.steps[task.index]!,
    };
    return task.cancelRequested && view.status === 'RUNNING' ? { ...view, cancel_requested: true } : view;
  };
  const error = (code: string, message: string) => ({ error: { code, message } });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? parseExactJson(text) : undefined;
      } catch {
        body = text;
      }
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      requests.push({ method, path, headers: req.headers, body });
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };

      if (method === 'POST' && path === '/tasks') {
        const input = body as { type?: string; priority?: 'high' | 'low'; idempotency_key?: string };
        if (input.type === 'unregistered') {
          send(400, error('UnknownTaskType', `task type '${input.type}' is not registered`));
          return;
        }
        const existing = input.idempotency_key && keys.get(input.idempotency_key);
        if (existing) {
          send(200, { ...tasks.get(existing)!.view, status: 'QUEUED' });
          return;
        }
        const task = create(input.type ?? '', input.priority ?? 'low');
        if (input.idempotency_key) keys.set(input.idempotency_key, task.view.task_id);
        send(202, { ...task.view, status: 'QUEUED' });
        return;
      }
      const match = /^\/tasks\/([^/]+)$/.exec(path);
      const task = match ? tasks.get(decodeURIComponent(match[1]!)) : undefined;
      if (method === 'GET' && failingGets > 0) {
        failingGets -= 1;
        send(503, error('ServiceUnavailable', 'try again'));
        return;
      }
      if (!task) {
        send(404, error('NotFound', `task ${match?.[1] ?? path} does not exist`));
        return;
      }
      if (method === 'GET') {
        const view = viewOf(task);
        task.index = Math.min(task.index + 1, task.steps.length - 1);
        send(200, view);
        return;
      }
      if (method === 'DELETE') {
        const { status } = viewOf(task);
        if (status === 'RUNNING' && task.async) {
          task.cancelRequested = true;
          send(202, viewOf(task));
          return;
        }
        if (!TRANSITIONS.cancel.from.includes(status)) {
          send(409, error('NotCancellable', `task is ${status} and can no longer be cancelled`));
          return;
        }
        task.steps = [{ status: 'CANCELLED', attempts: 0, finished_at: CREATED_AT }];
        task.index = 0;
        send(200, viewOf(task));
        return;
      }
      send(405, error('MethodNotAllowed', `${method} is not supported`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (type, steps) => {
      scripts.set(type, steps);
    },
    seed: (steps, type = 'echo', options = {}) => create(type, 'low', steps, options.async).view.task_id,
    failNextGets: (count) => {
      failingGets = count;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
