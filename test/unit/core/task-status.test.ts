import type { HttpError } from '../../../lambda/core/errors';
import { type TaskRecord, TaskStatus } from '../../../lambda/core/task';
import { cancelTask, getTask, parseTaskId } from '../../../lambda/core/task-status';
import { deliveryTaskId } from '../../../lambda/core/topics';
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

describe('Published tasks (topics)', () => {
  const PUBLISHED_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const ECHO_ID = deliveryTaskId(PUBLISHED_ID, 'echo');
  const SLEEP_ID = deliveryTaskId(PUBLISHED_ID, 'sleep');
  const RETENTION = { retentionSeconds: 60, now: NOW };

  const published: TaskRecord = {
    task_id: PUBLISHED_ID,
    type: 'demo.fanout',
    priority: 'high',
    status: TaskStatus.QUEUED,
    attempts: 0,
    created_at: '2025-12-31T23:59:00.000Z',
    updated_at: '2025-12-31T23:59:00.000Z',
    request_hash: 'hash',
    enqueue_id: 'e1',
    topic: 'demo.fanout',
    subscribers: ['echo', 'sleep'],
    expires_at: 1_000_000,
  };

  function delivery(subscriber: 'echo' | 'sleep', status: TaskStatus, extra: Partial<TaskRecord> = {}) {
    return record(status, {
      task_id: deliveryTaskId(PUBLISHED_ID, subscriber),
      type: subscriber,
      attempts: status === TaskStatus.QUEUED ? 0 : 1,
      topic: 'demo.fanout',
      published_task_id: PUBLISHED_ID,
      ...extra,
    });
  }
  const runningAsync = (subscriber: 'echo' | 'sleep') =>
    delivery(subscriber, TaskStatus.RUNNING, { agent_mode: 'async', lease_until: NOW.getTime() + 60_000 });

  describe('Function: getTask', () => {
    it('returns the published view: the derived status, summed attempts and each delivery', async () => {
      // Prepare
      const store = new InMemoryTaskStore([
        published,
        delivery('echo', TaskStatus.SUCCEEDED, { result: { echo: 1 } }),
        delivery('sleep', TaskStatus.RUNNING, { attempts: 2 }),
      ]);

      // Act
      const view = await getTask(store, PUBLISHED_ID);

      // Assess
      expect(view).toMatchObject({
        task_id: PUBLISHED_ID,
        topic: 'demo.fanout',
        status: 'RUNNING',
        attempts: 3,
      });
      expect(view.deliveries).toEqual({
        echo: { task_id: ECHO_ID, status: 'SUCCEEDED', attempts: 1, result: { echo: 1 } },
        sleep: { task_id: SLEEP_ID, status: 'RUNNING', attempts: 2 },
      });
    });

    it('returns a delivery as a task of its own, with its topic and published task id', async () => {
      // Prepare
      const store = new InMemoryTaskStore([published, delivery('echo', TaskStatus.SUCCEEDED)]);

      // Act
      const view = await getTask(store, ECHO_ID);

      // Assess
      expect(view).toMatchObject({
        task_id: ECHO_ID,
        type: 'echo',
        status: 'SUCCEEDED',
        topic: 'demo.fanout',
        published_task_id: PUBLISHED_ID,
      });
      expect(view).not.toHaveProperty('deliveries');
    });
  });

  describe('Function: cancelTask', () => {
    it('cancels every delivery when none has a record yet: it writes each CANCELLED, and answers cancelled', async () => {
      // Prepare
      const store = new InMemoryTaskStore([published]);

      // Act
      const out = await cancelTask(store, PUBLISHED_ID, RETENTION);

      // Assess
      expect(out.outcome).toBe('cancelled');
      expect(out.task.status).toBe('CANCELLED');
      expect(out.cancelled.map((t) => t.task_id).sort()).toEqual([ECHO_ID, SLEEP_ID].sort());
      for (const [id, type] of [
        [ECHO_ID, 'echo'],
        [SLEEP_ID, 'sleep'],
      ]) {
        expect(store.records.get(id!)).toMatchObject({
          type,
          status: 'CANCELLED',
          topic: 'demo.fanout',
          published_task_id: PUBLISHED_ID,
          finished_at: NOW.toISOString(),
          expires_at: NOW.getTime() / 1000 + 60,
        });
      }
    });

    it('cancels QUEUED and RETRYING deliveries that have records', async () => {
      // Prepare
      const store = new InMemoryTaskStore([
        published,
        delivery('echo', TaskStatus.QUEUED),
        delivery('sleep', TaskStatus.RETRYING),
      ]);

      // Act
      const out = await cancelTask(store, PUBLISHED_ID, RETENTION);

      // Assess
      expect(out.outcome).toBe('cancelled');
      expect(out.cancelled).toHaveLength(2);
      expect(out.task.deliveries).toMatchObject({
        echo: { status: 'CANCELLED' },
        sleep: { status: 'CANCELLED' },
      });
    });

    it('answers requested when the only thing it could do was ask a running async delivery to stop', async () => {
      // Prepare
      const store = new InMemoryTaskStore([
        published,
        runningAsync('echo'),
        delivery('sleep', TaskStatus.SUCCEEDED),
      ]);

      // Act
      const out = await cancelTask(store, PUBLISHED_ID, RETENTION);

      // Assess
      expect(out.outcome).toBe('requested');
      expect(out.cancelled).toEqual([]);
      expect(out.task.status).toBe('RUNNING');
      expect(store.records.get(ECHO_ID)).toMatchObject({ status: 'RUNNING', cancel_requested: true });
      expect(store.records.get(SLEEP_ID)?.status).toBe('SUCCEEDED');
    });

    it('throws 409 NotCancellable when every delivery has finished, and changes none', async () => {
      // Prepare
      const records = [
        published,
        delivery('echo', TaskStatus.SUCCEEDED),
        delivery('sleep', TaskStatus.FAILED),
      ];
      const store = new InMemoryTaskStore(records);

      // Act
      const error = await rejection(cancelTask(store, PUBLISHED_ID, RETENTION));

      // Assess
      expect(error.statusCode).toBe(409);
      expect(error.code).toBe('NotCancellable');
      expect([...store.records.values()]).toEqual(records);
    });

    it('throws 409 NotCancellable when the only unfinished delivery runs a sync attempt, which cannot be stopped', async () => {
      // Prepare
      const store = new InMemoryTaskStore([
        published,
        delivery('echo', TaskStatus.RUNNING),
        delivery('sleep', TaskStatus.CANCELLED),
      ]);

      // Act
      const error = await rejection(cancelTask(store, PUBLISHED_ID, RETENTION));

      // Assess
      expect(error.statusCode).toBe(409);
    });

    it('answers cancelled for a mix: cancels the queued one, asks the running async one to stop, leaves the finished', async () => {
      // Prepare
      const store = new InMemoryTaskStore([published, runningAsync('echo')]);

      // Act
      const out = await cancelTask(store, PUBLISHED_ID, RETENTION);

      // Assess
      expect(out.outcome).toBe('cancelled');
      expect(out.cancelled.map((t) => t.task_id)).toEqual([SLEEP_ID]);
      expect(store.records.get(ECHO_ID)).toMatchObject({ status: 'RUNNING', cancel_requested: true });
      expect(store.records.get(SLEEP_ID)?.status).toBe('CANCELLED');
      expect(out.task.status).toBe('RUNNING');
    });

    it('cancels the record a first claim wrote between its read and its create', async () => {
      // Prepare: the delivery has no record when its cancel is tried; its first claim writes one before the create
      const store = new InMemoryTaskStore([published, delivery('sleep', TaskStatus.SUCCEEDED)]);
      const create = store.create.bind(store);
      store.create = async (r) => {
        if (r.task_id === ECHO_ID) store.records.set(ECHO_ID, delivery('echo', TaskStatus.RETRYING));
        return create(r);
      };

      // Act
      const out = await cancelTask(store, PUBLISHED_ID, RETENTION);

      // Assess
      expect(out.outcome).toBe('cancelled');
      expect(store.records.get(ECHO_ID)).toMatchObject({ status: 'CANCELLED', attempts: 1 });
    });

    it('throws 409 NotCancellable, and writes nothing, for a published task that failed before it fanned out', async () => {
      // Prepare: its publish message was dead-lettered; the sweep failed it; its deliveries will never run.
      const failed = {
        ...published,
        status: TaskStatus.FAILED,
        error: { code: 'MaxReceivesExceeded', message: 'dead-lettered' },
      };
      const store = new InMemoryTaskStore([failed]);

      // Act
      const error = await rejection(cancelTask(store, PUBLISHED_ID, RETENTION));

      // Assess
      expect(error.statusCode).toBe(409);
      expect(error.code).toBe('NotCancellable');
      expect(store.records.size).toBe(1);
      expect((await getTask(store, PUBLISHED_ID)).status).toBe('FAILED');
    });
  });
});
