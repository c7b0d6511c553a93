import type { HttpError } from '../../../lambda/core/errors';
import { type TaskRecord, TaskStatus } from '../../../lambda/core/task';
import { cancelTask, getTask, parseTaskId } from '../../../lambda/core/task-status';
import { InMemoryTaskStore } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-01-01T00:00:00.000Z');

function record(status: TaskStatus, extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: TASK_ID,
    type: 'echo',
    priority: 'high',
    status,
    attempts: 0,
    created_at: '2025-12-31T23:59:00.000Z',
    updated_at: '2025-12-31T23:59:00.000Z',
    request_hash: 'hash',
    enqueue_id: 'e1',
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: HttpError) => error,
  );
}

describe('Function: parseTaskId', () => {
  it('returns a lowercase UUID unchanged', () => {
    // Act
    const id = parseTaskId(TASK_ID);

    // Assess
    expect(id).toBe(TASK_ID);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['uppercase', TASK_ID.toUpperCase()],
    ['not a UUID', 'abc'],
    ['a UUID with a suffix', `${TASK_ID}x`],
    ['a path traversal', '../etc/passwd'],
  ])('throws 400 ValidationError when the id is %s', (_name, raw) => {
    // Act
    let error: HttpError | undefined;
    try {
      parseTaskId(raw);
    } catch (e) {
      error = e as HttpError;
    }

    // Assess
    expect(error?.statusCode).toBe(400);
    expect(error?.code).toBe('ValidationError');
    expect(error?.details).toEqual([{ path: 'path:id', message: 'is not a task id' }]);
  });
});

describe('Function: getTask', () => {
  it('returns the public view of the task, without bookkeeping fields', async () => {
    // Prepare
    const store = new InMemoryTaskStore([
      record(TaskStatus.SUCCEEDED, {
        attempts: 1,
        started_at: '2026-01-01T00:00:00.000Z',
        finished_at: '2026-01-01T00:00:01.000Z',
        result: { echo: 1 },
        lease_until: 1,
        expires_at: 2,
        claim_id: 'c1',
        cancel_id: 'x1',
      }),
    ]);

    // Act
    const view = await getTask(store, TASK_ID);

    // Assess
    expect(view).toEqual({
      task_id: TASK_ID,
      type: 'echo',
      priority: 'high',
      status: 'SUCCEEDED',
      attempts: 1,
      created_at: '2025-12-31T23:59:00.000Z',
      updated_at: '2025-12-31T23:59:00.000Z',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:01.000Z',
      result: { echo: 1 },
    });
  });

  it('keeps a falsy result such as 0 or false', async () => {
    // Prepare
    const store = new InMemoryTaskStore([record(TaskStatus.SUCCEEDED, { result: false })]);

    // Act
    const view = await getTask(store, TASK_ID);

    // Assess
    expect(view.result).toBe(false);
  });

  it('throws 404 NotFound when the task does not exist', async () => {
    // Act
    const error = await rejection(getTask(new InMemoryTaskStore(), TASK_ID));

    // Assess
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('NotFound');
  });
});

describe('Function: cancelTask', () => {
  it.each([TaskStatus.QUEUED, TaskStatus.RETRYING])(
    'cancels a %s task and keeps it for the retention period',
    async (status) => {
      // Prepare
      const store = new InMemoryTaskStore([record(status)]);

      // Act
      const { outcome, task: view } = await cancelTask(store, TASK_ID, { retentionSeconds: 60, now: NOW });

      // Assess
      expect(outcome).toBe('cancelled');
      expect(view.status).toBe('CANCELLED');
      expect(view.finished_at).toBe(NOW.toISOString());
      expect(store.records.get(TASK_ID)?.expires_at).toBe(NOW.getTime() / 1000 + 60);
    },
  );

  it.each([TaskStatus.RUNNING, TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED])(
    'throws 409 NotCancellable when the task is %s, and leaves it alone',
    async (status) => {
      // Prepare
      const store = new InMemoryTaskStore([record(status)]);

      // Act
      const error = await rejection(cancelTask(store, TASK_ID, { retentionSeconds: 60, now: NOW }));

      // Assess
      expect(error.statusCode).toBe(409);
      expect(error.code).toBe('NotCancellable');
      expect(error.message).toContain(status);
      expect(store.records.get(TASK_ID)?.status).toBe(status);
    },
  );

  it('throws 404 NotFound when the task does not exist', async () => {
    // Act
    const error = await rejection(cancelTask(new InMemoryTaskStore(), TASK_ID, { retentionSeconds: 60 }));

    // Assess
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('NotFound');
  });
});
