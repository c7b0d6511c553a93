import {
  type DeadLetter,
  deadLetterTarget,
  deadLetterTaskId,
  type PeekRequest,
  queueDeadlineMs,
  SWEEP_RESERVE_MS,
  SWEEP_WAIT_SECONDS,
  sweepAll,
  sweepDeadLetters,
} from '../../../lambda/core/sweep';
import type { TaskRecord } from '../../../lambda/core/task';
import { deliveryTaskId, publishedExpiresAt } from '../../../lambda/core/topics';
import { InMemoryTaskStore } from '../support/in-memory';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ID = '11111111-2222-4333-8444-555555555555';
const settings = { redriveGraceSeconds: 900, retentionSeconds: 86_400 };

function record(state: Partial<TaskRecord>): TaskRecord {
  return {
    task_id: ID,
    type: 'echo',
    priority: 'low',
    status: 'QUEUED',
    attempts: 0,
    created_at: '2026-06-01T11:00:00.000Z',
    updated_at: '2026-06-01T11:00:00.000Z',
    enqueue_id: 'e1',
    ...state,
  };
}

const letter = (body: unknown = { task_id: ID, enqueue_id: 'e1' }) => ({ body: JSON.stringify(body) });

async function sweep(state: Partial<TaskRecord>, letters: DeadLetter[] = [letter()]) {
  const store = new InMemoryTaskStore([record(state)]);
  const failed = await sweepDeadLetters(letters, { store, settings, now: () => NOW });
  return { failed, task: store.records.get(ID)! };
}

describe('Function: sweepDeadLetters', () => {
  it.each<[string, Partial<TaskRecord>]>([
    ['RETRYING (its last delivery died before the claim)', { status: 'RETRYING', attempts: 4 }],
    [
      'RUNNING with an expired lease (its consumer died)',
      { status: 'RUNNING', attempts: 5, lease_until: NOW.getTime() - 1 },
    ],
    ['QUEUED and never redriven', { status: 'QUEUED' }],
    ['QUEUED and redriven long ago', { status: 'QUEUED', redriven_at: '2026-06-01T10:00:00.000Z' }],
    ['RETRYING and redriven long ago', { status: 'RETRYING', redriven_at: '2026-06-01T10:00:00.000Z' }],
    ['written before records had an enqueue_id', { status: 'RETRYING', enqueue_id: undefined }],
  ])('fails a task that is %s', async (_name, state) => {
    // Act
    const { failed, task } = await sweep(state);

    // Assess
    expect(failed).toBe(1);
    expect(task.status).toBe('FAILED');
    expect(task.error?.code).toBe('DeadLettered');
    expect(task.finished_at).toBe(NOW.toISOString());
    expect(task.expires_at).toBe(Math.floor(NOW.getTime() / 1000) + settings.retentionSeconds);
    expect(task.lease_until).toBeUndefined();
  });

  it.each<[string, Partial<TaskRecord>]>([
    [
      'RUNNING under a valid lease (a consumer is dead-lettering it right now)',
      { status: 'RUNNING', lease_until: NOW.getTime() + 1000 },
    ],
    [
      'QUEUED and redriven within the grace period',
      { status: 'QUEUED', redriven_at: '2026-06-01T11:55:00.000Z' },
    ],
    [
      'RETRYING and redriven within the grace period (its redriven message failed once and waits to retry)',
      { status: 'RETRYING', attempts: 6, redriven_at: '2026-06-01T11:55:00.000Z' },
    ],
    [
      'RUNNING with an expired lease and redriven within the grace period',
      { status: 'RUNNING', lease_until: NOW.getTime() - 1, redriven_at: '2026-06-01T11:55:00.000Z' },
    ],
    [
      'waiting for its own message, the winner of a same-key race whose loser was dead-lettered',
      { status: 'QUEUED', enqueue_id: 'winner' },
    ],
    ['RETRYING, and the dead letter is another enqueue’s copy', { status: 'RETRYING', enqueue_id: 'winner' }],
    ['SUCCEEDED', { status: 'SUCCEEDED' }],
    ['FAILED', { status: 'FAILED', error: { code: 'AgentHttp422', message: 'no' } }],
    ['CANCELLED', { status: 'CANCELLED' }],
  ])('leaves a task that is %s', async (_name, state) => {
    // Prepare
    const before = record(state);

    // Act
    const { failed, task } = await sweep(state);

    // Assess
    expect(failed).toBe(0);
    expect(task).toEqual(before);
  });

  describe('an async attempt handed off on its last delivery and then lost', () => {
    const lost = (fields: Partial<TaskRecord> = {}): Partial<TaskRecord> => ({
      status: 'RUNNING',
      attempts: 3,
      agent_mode: 'async',
      token_hash: 'hash-of-attempt-3',
      receipt_handle: 'receipt-3',
      receive_count: 3,
      heartbeat_seconds: 60,
      run_deadline: NOW.getTime() + 3_600_000,
      lease_until: NOW.getTime() - 1,
      ...fields,
    });

    it('fails it with HeartbeatTimeout: its agent went silent before the run deadline', async () => {
      // Act
      const { failed, task } = await sweep(lost());

      // Assess
      expect(failed).toBe(1);
      expect(task).toMatchObject({
        status: 'FAILED',
        attempts: 3,
        error: { code: 'HeartbeatTimeout' },
        finished_at: NOW.toISOString(),
      });
      expect(task.lease_until).toBeUndefined();
    });

    it.each([
      ['at', 0],
      ['past', 1],
    ])(
      'fails it with AgentRunTimeExceeded when its deadline was %s the run deadline',
      async (_name, pastMs) => {
        // Act
        const { task } = await sweep(lost({ run_deadline: NOW.getTime() - 1 - pastMs }));

        // Assess
        expect(task).toMatchObject({ status: 'FAILED', error: { code: 'AgentRunTimeExceeded' } });
      },
    );

    it('still fails a lost sync attempt as DeadLettered', async () => {
      // Act: the same record without the async mode
      const { agent_mode: _mode, ...sync } = lost();
      const { task } = await sweep(sync);

      // Assess
      expect(task).toMatchObject({ status: 'FAILED', error: { code: 'DeadLettered' } });
    });

    it('leaves it while its deadline has not passed', async () => {
      // Prepare
      const before = record(lost({ lease_until: NOW.getTime() + 1000 }));

      // Act
      const { failed, task } = await sweep(lost({ lease_until: NOW.getTime() + 1000 }));

      // Assess
      expect(failed).toBe(0);
      expect(task).toEqual(before);
    });

    it('keeps the error a consumer attached to the letter', async () => {
      // Act
      const { task } = await sweep(lost(), [
        { ...letter(), error: { code: 'UnsupportedEnvelope', message: 'x' } },
      ]);

      // Assess
      expect(task.error).toEqual({ code: 'UnsupportedEnvelope', message: 'x' });
    });
  });

  it('keeps the error a consumer attached when it dead-lettered the message itself', async () => {
    // Act
    const { task } = await sweep({ status: 'RETRYING' }, [
      { ...letter(), error: { code: 'UnsupportedEnvelope', message: 'too new' } },
    ]);

    // Assess
    expect(task.error).toEqual({ code: 'UnsupportedEnvelope', message: 'too new' });
  });

  it('matches a dead letter without an enqueue_id only to a record without one', async () => {
    // Act
    const withId = await sweep({ status: 'RETRYING' }, [letter({ task_id: ID })]);
    const legacy = await sweep({ status: 'RETRYING', enqueue_id: undefined }, [letter({ task_id: ID })]);

    // Assess
    expect([withId.failed, legacy.failed]).toEqual([0, 1]);
  });

  it('skips messages that are not task envelopes, and unknown tasks', async () => {
    // Prepare
    const store = new InMemoryTaskStore();

    // Act
    const failed = await sweepDeadLetters(
      [{ body: 'not json' }, letter({ nope: 1 }), letter({ task_id: ID })],
      { store, settings, now: () => NOW },
    );

    // Assess
    expect(failed).toBe(0);
    expect(store.records.size).toBe(0);
  });
});

describe('Function: deadLetterTaskId', () => {
  it('reads the task id of an envelope and returns undefined for anything else', () => {
    expect(deadLetterTaskId(JSON.stringify({ task_id: ID }))).toBe(ID);
    expect(deadLetterTaskId('{"task_id": 5}')).toBeUndefined();
    expect(deadLetterTaskId('null')).toBeUndefined();
    expect(deadLetterTaskId('{')).toBeUndefined();
  });
});

describe('Function: deadLetterTarget', () => {
  it('reads the task id and enqueue id of an envelope', () => {
    expect(deadLetterTarget(JSON.stringify({ task_id: ID, enqueue_id: 'e1' }))).toEqual({
      taskId: ID,
      enqueueId: 'e1',
    });
    expect(deadLetterTarget(JSON.stringify({ task_id: ID, enqueue_id: 7 }))).toEqual({ taskId: ID });
    expect(deadLetterTarget('[]')).toBeUndefined();
  });
});

describe('Function: queueDeadlineMs', () => {
  it('gives each DLQ an equal share of the time left, so that a full one cannot starve the next', () => {
    // Act & Assess: 160 s left for two DLQs, then 100 s left for the last one
    expect(queueDeadlineMs(1_160_000, 1_000_000, 2)).toBe(1_080_000);
    expect(queueDeadlineMs(1_160_000, 1_060_000, 1)).toBe(1_160_000);
  });
});

describe('Function: sweepAll', () => {
  it('sweeps every DLQ, each until its share of the time left after the reserve, and counts what it saw', async () => {
    // Prepare: one stranded task in the first DLQ and a letter of no task in the second; each pass takes 30 s
    const store = new InMemoryTaskStore([record({ status: 'RETRYING' })]);
    let clock = NOW.getTime();
    const requests: Array<[string, PeekRequest]> = [];
    const contents: Record<string, DeadLetter[]> = { high: [letter()], low: [{ body: 'not json' }] };
    async function* peek(queue: string, request: PeekRequest) {
      requests.push([queue, request]);
      clock += 30_000;
      yield contents[queue]!;
    }
    const endMs = NOW.getTime() + SWEEP_RESERVE_MS + 160_000;

    // Act
    const result = await sweepAll(['high', 'low'], {
      peek,
      store,
      settings,
      maxMessages: 100,
      deadlineMs: endMs,
      now: () => new Date(clock),
    });

    // Assess
    expect(result).toEqual({ seen: 2, failed: 1 });
    expect(store.records.get(ID)?.status).toBe('FAILED');
    expect(requests).toEqual([
      ['high', { maxMessages: 100, waitSeconds: SWEEP_WAIT_SECONDS, deadlineMs: NOW.getTime() + 80_000 }],
      ['low', { maxMessages: 100, waitSeconds: SWEEP_WAIT_SECONDS, deadlineMs: NOW.getTime() + 160_000 }],
    ]);
  });
});

describe('Function: sweepDeadLetters, a delivery of a published task', () => {
  const PUBLISHED = '99999999-2222-4333-8444-555555555555';
  const DELIVERY = deliveryTaskId(PUBLISHED, 'echo');
  const deliveryLetter = {
    body: JSON.stringify({
      schema_version: 1,
      task_id: DELIVERY,
      enqueue_id: 'e1',
      type: 'echo',
      priority: 'high',
      payload: {},
      created_at: '2026-06-01T11:00:00.000Z',
      request_hash: 'h',
      topic: 'doc.uploaded',
      published_task_id: PUBLISHED,
    }),
  };

  it('writes a FAILED record for a delivery dead-lettered before any claim, kept as long as its published task', async () => {
    // Prepare
    const store = new InMemoryTaskStore();

    // Act
    const failed = await sweepDeadLetters([deliveryLetter], { store, settings, now: () => NOW });

    // Assess
    const written = store.records.get(DELIVERY);
    expect(failed).toBe(1);
    expect(written).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      type: 'echo',
      topic: 'doc.uploaded',
      published_task_id: PUBLISHED,
      error: { code: 'DeadLettered' },
    });
    expect(written?.expires_at).toBe(publishedExpiresAt(new Date('2026-06-01T11:00:00.000Z'), 86_400));
  });

  it('leaves a delivery whose record exists to the abandon rule', async () => {
    // Prepare: a delivery that succeeded (its message was dead-lettered by a late duplicate)
    const done = { ...record({ status: 'SUCCEEDED' }), task_id: DELIVERY, published_task_id: PUBLISHED };
    const store = new InMemoryTaskStore([done]);

    // Act
    const failed = await sweepDeadLetters([deliveryLetter], { store, settings, now: () => NOW });

    // Assess
    expect(failed).toBe(0);
    expect(store.records.get(DELIVERY)).toEqual(done);
  });
});
