import {
  type AgentOutcome,
  ANSWER_MARGIN_BYTES,
  classifyAgentFailure,
} from '../../../lambda/core/agent-outcome';
import { toSqsJson } from '../../../lambda/core/json-text';
import {
  type Delivery,
  type ProcessDeps,
  type ProcessSettings,
  parseEnvelope,
  processDelivery,
  type TransitionEvent,
} from '../../../lambda/core/process-delivery';
import { RETRY_CLOCK_SKEW_MS } from '../../../lambda/core/retry-policy';
import {
  ENVELOPE_SCHEMA_VERSION,
  OBJECT_PAYLOAD_SCHEMA_VERSION,
  type TaskEnvelope,
  type TaskRecord,
  TaskStatus,
} from '../../../lambda/core/task';
import { FakeAgents, InMemoryTaskStore, InMemoryTierQueue } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-01-01T00:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

const settings: ProcessSettings = {
  maxReceiveCount: 3,
  leaseSeconds: 60,
  backoff: { baseSeconds: 2, capSeconds: 300 },
  maxResultBytes: 64,
  retentionSeconds: 3600,
  callbackBaseUrl: 'https://api.example.com',
  tenantMaxConcurrency: 0,
  limitWakeUpSeconds: 5,
};

const envelope: TaskEnvelope = {
  schema_version: ENVELOPE_SCHEMA_VERSION,
  task_id: TASK_ID,
  enqueue_id: 'enqueue-1',
  type: 'echo',
  priority: 'high',
  payload: { text: 'hi' },
  created_at: '2025-12-31T23:59:00.000Z',
  request_hash: 'hash',
};

const queued: TaskRecord = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'high',
  status: TaskStatus.QUEUED,
  attempts: 0,
  created_at: envelope.created_at,
  updated_at: envelope.created_at,
  request_hash: 'hash',
  enqueue_id: 'enqueue-1',
};

const transient: AgentOutcome = { kind: 'transient', error: { code: 'AgentHttp503', message: 'busy' } };
const permanent: AgentOutcome = { kind: 'permanent', error: { code: 'AgentHttp400', message: 'bad input' } };

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return { body: JSON.stringify(envelope), receiptHandle: 'receipt-1', receiveCount: 1, ...overrides };
}

function setup(
  agent: AgentOutcome | ((r: { attempt: number }) => AgentOutcome) = { kind: 'success', result: { echo: 1 } },
  records: TaskRecord[] = [queued],
  agentTimeoutSeconds = 30,
) {
  const store = new InMemoryTaskStore(records);
  const queue = new InMemoryTierQueue();
  const agents = new FakeAgents({ echo: agent }, agentTimeoutSeconds);
  const events: TransitionEvent[] = [];
  const deps: ProcessDeps = {
    store,
    queue,
    agents,
    settings,
    now: () => NOW,
    random: () => 0.5,
    onTransition: (e) => events.push(e),
  };
  return { store, queue, agents, events, deps, task: () => store.records.get(TASK_ID)! };
}

describe('Function: processDelivery', () => {
  describe('success', () => {
    it('claims the task, calls the agent once with the agent protocol body, stores the result and acks', async () => {
      // Prepare
      const { agents, queue, events, deps, task } = setup();

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([
        {
          task_id: TASK_ID,
          type: 'echo',
          payload: { text: 'hi' },
          attempt: 1,
          deadline: '2026-01-01T00:00:30.000Z',
        },
      ]);
      expect(task()).toMatchObject({
        status: 'SUCCEEDED',
        attempts: 1,
        result: { echo: 1 },
        started_at: NOW.toISOString(),
        finished_at: NOW.toISOString(),
        expires_at: NOW_S + 3600,
      });
      expect(task().lease_until).toBeUndefined();
      expect(queue.operations).toEqual([]);
      expect(events.map((e) => e.transition)).toEqual(['claimed', 'succeeded']);
    });

    it('creates the missing record from the envelope when the producer failed to write it', async () => {
      // Prepare
      const { deps, task } = setup(undefined, []);

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({
        status: 'SUCCEEDED',
        type: 'echo',
        priority: 'high',
        created_at: envelope.created_at,
        enqueue_id: 'enqueue-1',
      });
    });

    it('stores a result of exactly the size cap', async () => {
      // Prepare: JSON.stringify('x'.repeat(62)) is 64 bytes
      const { deps, task } = setup({ kind: 'success', result: 'x'.repeat(62) });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task().status).toBe('SUCCEEDED');
    });

    it('ignores envelope fields it does not know', async () => {
      // Prepare
      const { agents, deps, task } = setup();
      const body = JSON.stringify({ ...envelope, trace_id: 't-1', deadline: '2026-02-01', code: 'x' });

      // Act
      const outcome = await processDelivery(delivery({ body }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task().status).toBe('SUCCEEDED');
      expect(agents.requests[0]).toEqual({
        task_id: TASK_ID,
        type: 'echo',
        payload: { text: 'hi' },
        attempt: 1,
        deadline: '2026-01-01T00:00:30.000Z',
      });
    });
  });

  describe('the agent call', () => {
    it("passes the task's tenant_id to the agent", async () => {
      // Prepare
      const { agents, deps } = setup();
      const body = JSON.stringify({ ...envelope, tenant_id: 'acme' });

      // Act
      await processDelivery(delivery({ body }), deps);

      // Assess
      expect(agents.requests).toEqual([expect.objectContaining({ task_id: TASK_ID, tenant_id: 'acme' })]);
    });

    it('creates a missing record with the tenant_id of the envelope', async () => {
      // Prepare
      const { deps, task } = setup(undefined, []);
      const body = JSON.stringify({ ...envelope, tenant_id: 'acme' });

      // Act
      await processDelivery(delivery({ body }), deps);

      // Assess
      expect(task()).toMatchObject({ status: 'SUCCEEDED', tenant_id: 'acme' });
    });

    it('dead-letters, without calling the agent, an envelope whose tenant_id is not a string', async () => {
      // Prepare
      const { agents, queue, deps } = setup();
      const body = JSON.stringify({ ...envelope, tenant_id: 7 });

      // Act
      const outcome = await processDelivery(delivery({ body }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(queue.operations).toEqual([expect.objectContaining({ op: 'deadLetter' })]);
    });

    it("tells the agent its deadline: the start of the call plus the agent's timeout", async () => {
      // Prepare
      const { agents, deps } = setup(undefined, [queued], 45);

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(agents.requests.map((r) => r.deadline)).toEqual(['2026-01-01T00:00:45.000Z']);
    });

    it('bounds the answer it reads to maxResultBytes plus the margin', async () => {
      // Prepare
      const { agents, deps } = setup();

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(agents.limits).toEqual([{ maxAnswerBytes: settings.maxResultBytes + ANSWER_MARGIN_BYTES }]);
    });

    it('fails the task at once with ResultTooLarge when the agent answered too much to read', async () => {
      // Prepare
      const tooLarge = classifyAgentFailure({ fact: 'answer-too-large', limitBytes: 65_600 });
      const { queue, deps, task } = setup(tooLarge);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({ status: 'FAILED', error: { code: 'ResultTooLarge' } });
      expect(queue.operations.map((o) => o.op)).toEqual(['deadLetter']);
    });
  });

  describe('transient failure', () => {
    it('waits at least one agent timeout after an AgentTimeout before the next attempt, on top of the backoff', async () => {
      // Prepare
      const timedOut = classifyAgentFailure({ fact: 'timed-out', timeoutSeconds: 45 });
      const { queue, deps, task } = setup(timedOut, [queued], 45);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess: 45 s, then the backoff of attempt 1 within [0, 2]; random 0.5 picks 1
      expect(outcome).toBe('retry');
      expect(task()).toMatchObject({
        status: 'RETRYING',
        error: { code: 'AgentTimeout' },
        // No claim before the retry is due, whichever copy of the message comes first (less the skew tolerance).
        retry_at: NOW.getTime() + 46_000 - RETRY_CLOCK_SKEW_MS,
      });
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 46 }]);
    });

    it('marks the task RETRYING, delays the message by the jittered backoff and asks for a retry', async () => {
      // Prepare
      const { queue, events, deps, task } = setup(transient);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess: attempt 1 backs off within [0, 2]; random 0.5 picks 1
      expect(outcome).toBe('retry');
      expect(task()).toMatchObject({ status: 'RETRYING', attempts: 1, error: transient.error });
      expect(task().finished_at).toBeUndefined();
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 1 }]);
      expect(events.at(-1)).toMatchObject({ transition: 'retrying', attempt: 1, detail: 'AgentHttp503' });
    });

    it('grows the backoff with the attempt number', async () => {
      // Prepare: the task already failed twice; attempt 3 is not its last (maxReceiveCount 5 bounds the attempts too)
      const { queue, deps, task } = setup(transient, [{ ...queued, status: 'RETRYING', attempts: 2 }]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2 }), {
        ...deps,
        settings: { ...settings, maxReceiveCount: 5 },
        random: () => 0.99,
      });

      // Assess: attempt 3 backs off within [0, 8]
      expect(outcome).toBe('retry');
      expect(task().attempts).toBe(3);
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 8 }]);
    });

    it('marks the task FAILED and makes the message visible at once on the last delivery, so SQS dead-letters it', async () => {
      // Prepare
      const { queue, events, deps, task } = setup(transient, [
        { ...queued, status: 'RETRYING', attempts: 2 },
      ]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: settings.maxReceiveCount }), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(task()).toMatchObject({
        status: 'FAILED',
        attempts: 3,
        error: transient.error,
        finished_at: NOW.toISOString(),
        expires_at: NOW_S + 3600,
      });
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 0 }]);
      expect(events.at(-1)).toMatchObject({ transition: 'failed', detail: 'AgentHttp503' });
    });
  });

  describe('permanent failure', () => {
    it('dead-letters the message first, then marks the task FAILED and acks, costing one attempt', async () => {
      // Prepare
      const { store, queue, deps, task } = setup(permanent);
      const deadLetter = jest.spyOn(queue, 'deadLetter');
      const fail = jest.spyOn(store, 'fail');

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({ status: 'FAILED', attempts: 1, error: permanent.error });
      expect(queue.operations).toEqual([
        { op: 'deadLetter', body: JSON.stringify(envelope), error: permanent.error, taskId: TASK_ID },
      ]);
      expect(deadLetter.mock.invocationCallOrder[0]).toBeLessThan(fail.mock.invocationCallOrder[0]!);
    });

    it("dead-letters a failed task's message with its tenant, so that a redrive keeps its message group", async () => {
      // Prepare
      const { queue, deps } = setup(permanent);
      const body = JSON.stringify({ ...envelope, tenant_id: 'acme' });

      // Act
      await processDelivery(delivery({ body }), deps);

      // Assess
      expect(queue.operations).toEqual([
        { op: 'deadLetter', body, error: permanent.error, taskId: TASK_ID, groupId: 'acme' },
      ]);
    });

    it('fails a task whose type has no configured agent, without invoking any agent', async () => {
      // Prepare
      const { agents, queue, deps, task } = setup();
      const body = JSON.stringify({ ...envelope, type: 'retired-agent' });

      // Act
      const outcome = await processDelivery(delivery({ body }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(task()).toMatchObject({ status: 'FAILED', error: { code: 'UnknownTaskType' } });
      expect(queue.operations).toEqual([expect.objectContaining({ op: 'deadLetter', taskId: TASK_ID })]);
    });

    it('fails the task with ResultTooLarge when the result is over the cap, and stores no result', async () => {
      // Prepare: 65 bytes of JSON
      const { queue, deps, task } = setup({ kind: 'success', result: 'x'.repeat(63) });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({
        status: 'FAILED',
        error: { code: 'ResultTooLarge', message: "the agent's result is 65 bytes; the limit is 64 bytes" },
      });
      expect(task().result).toBeUndefined();
      expect(queue.operations).toEqual([expect.objectContaining({ op: 'deadLetter' })]);
    });
  });

  describe('poison messages', () => {
    it.each([
      ['not JSON', 'not json', 'MalformedMessage'],
      ['JSON null', 'null', 'MalformedMessage'],
      ['missing its task id', JSON.stringify({ ...envelope, task_id: undefined }), 'MalformedMessage'],
      [
        'carrying a task id that is not a UUID',
        JSON.stringify({ ...envelope, task_id: '../x' }),
        'MalformedMessage',
      ],
      ['of an unknown tier', JSON.stringify({ ...envelope, priority: 'urgent' }), 'MalformedMessage'],
      ['with a null payload', JSON.stringify({ ...envelope, payload: null }), 'MalformedMessage'],
      [
        'from a newer schema version',
        JSON.stringify({ ...envelope, schema_version: 3 }),
        'UnsupportedEnvelope',
      ],
      [
        'naming a payload object outside the payloads prefix',
        JSON.stringify({ ...envelope, schema_version: 2, payload_object: 'results/x/1-y.json' }),
        'MalformedMessage',
      ],
    ])(
      'dead-letters a message %s and acks it without touching the task or the agent',
      async (_name, body, code) => {
        // Prepare
        const { store, agents, queue, events, deps } = setup();
        const claim = jest.spyOn(store, 'claim');

        // Act
        const outcome = await processDelivery(delivery({ body }), deps);

        // Assess
        expect(outcome).toBe('ack');
        expect(queue.operations).toEqual([
          { op: 'deadLetter', body, error: expect.objectContaining({ code }), taskId: undefined },
        ]);
        expect(claim).not.toHaveBeenCalled();
        expect(agents.requests).toEqual([]);
        expect(events).toEqual([{ task_id: 'unknown', transition: 'poison-message', detail: code }]);
      },
    );
  });

  describe('duplicate deliveries', () => {
    it('leaves a duplicate that arrives before the retry is due on the queue until then, without calling the agent', async () => {
      // Prepare: attempt 1 timed out and may still be running; its retry is due 29.5 s from now (with the
      // tolerance, the message itself returns 30.5 s from now). SQS delivers a second copy of the message.
      const before: TaskRecord = {
        ...queued,
        status: 'RETRYING',
        attempts: 1,
        error: { code: 'AgentTimeout', message: 'late' },
        retry_at: NOW.getTime() + 29_500,
      };
      const { agents, queue, events, deps, task } = setup(undefined, [before]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2, receiptHandle: 'receipt-2' }), deps);

      // Assess: the copy comes back when the retry is due, rounded up to whole seconds
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(task()).toEqual(before);
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-2', seconds: 31 }]);
      expect(events).toEqual([expect.objectContaining({ transition: 'skipped', detail: 'waiting-retry' })]);
    });

    it("gives a refused claim the reason that holds at the claim's own time, though the clock moves on", async () => {
      // Prepare: the retry is due 1 ms after the claim; the clock moves 1 ms at each reading
      const before: TaskRecord = { ...queued, status: 'RETRYING', attempts: 1, retry_at: NOW.getTime() + 1 };
      const { agents, events, deps } = setup(undefined, [before]);
      let nowMs = NOW.getTime();
      const ticking = { ...deps, now: () => new Date(nowMs++) };

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2 }), ticking);

      // Assess: refused because the retry was not due, so the reason is waiting-retry
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(events).toEqual([expect.objectContaining({ transition: 'skipped', detail: 'waiting-retry' })]);
    });

    it('starts the next attempt no sooner than one agent timeout after an AgentTimeout, even from a duplicate copy', async () => {
      // Prepare: a 45 s agent times out on attempt 1; the wait is 45 s plus a backoff of 1 s
      const timedOut = classifyAgentFailure({ fact: 'timed-out', timeoutSeconds: 45 });
      const { agents, queue, deps, task } = setup(timedOut, [queued], 45);
      let nowMs = NOW.getTime();
      const clocked = { ...deps, now: () => new Date(nowMs) };
      await processDelivery(delivery({ receiveCount: 1 }), clocked);

      // Act: a duplicate copy 10 s later, then the message when its visibility ends
      nowMs = NOW.getTime() + 10_000;
      const duplicate = await processDelivery(delivery({ receiveCount: 2, receiptHandle: 'copy' }), clocked);
      const callsDuringWait = agents.requests.length;
      nowMs = NOW.getTime() + 46_000;
      await processDelivery(delivery({ receiveCount: 3, receiptHandle: 'back' }), clocked);

      // Assess
      expect(duplicate).toBe('retry');
      expect(callsDuringWait).toBe(1);
      expect(queue.operations.slice(0, 2)).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 46 },
        { op: 'changeVisibility', receiptHandle: 'copy', seconds: 36 },
      ]);
      expect(agents.requests.map((r) => r.attempt)).toEqual([1, 2]);
      expect(task().attempts).toBe(2);
    });

    it('leaves a delivery of a task running under a valid lease on the queue, without calling the agent', async () => {
      // Prepare: with SQS, deleting this copy would delete the message the running attempt may still retry with.
      const before: TaskRecord = {
        ...queued,
        status: 'RUNNING',
        attempts: 1,
        lease_until: NOW.getTime() + 1000,
      };
      const { agents, queue, events, deps, task } = setup(undefined, [before]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2 }), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(task()).toEqual(before);
      expect(queue.operations).toEqual([]);
      expect(events).toEqual([expect.objectContaining({ transition: 'skipped', detail: 'running' })]);
    });

    it.each<[string, Partial<TaskRecord>, string]>([
      ['succeeded', { status: 'SUCCEEDED', attempts: 1 }, 'finished'],
      ['cancelled', { status: 'CANCELLED' }, 'cancelled'],
      ['owned by another enqueue attempt', { enqueue_id: 'enqueue-winner' }, 'superseded'],
    ])('acks a delivery of a task %s without calling the agent', async (_name, state, reason) => {
      // Prepare
      const before: TaskRecord = { ...queued, ...state };
      const { agents, queue, events, deps, task } = setup(undefined, [before]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(task()).toEqual(before);
      expect(queue.operations).toEqual([]);
      expect(events).toEqual([expect.objectContaining({ transition: 'skipped', detail: reason })]);
    });

    it('parks a copy on the DLQ before acking a delivery of a FAILED task, so its message is never lost', async () => {
      // Prepare: a duplicate copy of a message whose retries just ran out
      const error = { code: 'AgentHttp503', message: 'down' };
      const before: TaskRecord = { ...queued, status: 'FAILED', attempts: 5, error };
      const { agents, queue, deps, task } = setup(undefined, [before]);
      const d = delivery({ receiveCount: 5 });

      // Act
      const outcome = await processDelivery(d, deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(task()).toEqual(before);
      expect(queue.operations).toEqual([{ op: 'deadLetter', body: d.body, error, taskId: before.task_id }]);
    });

    it('reclaims a RUNNING task whose lease expired, because its consumer died', async () => {
      // Prepare
      const { agents, deps, task } = setup(undefined, [
        { ...queued, status: 'RUNNING', attempts: 1, lease_until: NOW.getTime() - 1 },
      ]);

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 2 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests.map((r) => r.attempt)).toEqual([2]);
      expect(task()).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    });
  });

  describe('claim lost', () => {
    /** While the agent runs, another consumer reclaims the task after the lease expired. */
    function stolenDuring(outcome: AgentOutcome, store: () => InMemoryTaskStore) {
      return () => {
        const current = store().records.get(TASK_ID)!;
        store().records.set(TASK_ID, { ...current, attempts: current.attempts + 1 });
        return outcome;
      };
    }

    it.each<[string, AgentOutcome, number]>([
      ['succeeds', { kind: 'success', result: 1 }, 1],
      ['fails transiently', transient, 1],
      ['fails transiently on the last delivery', transient, settings.maxReceiveCount],
      ['fails permanently', permanent, 1],
    ])(
      'asks for a retry and leaves the new claim alone when the agent %s after the claim was lost',
      async (_name, outcome, receiveCount) => {
        // Prepare
        let store: InMemoryTaskStore | undefined;
        const env = setup(stolenDuring(outcome, () => store!));
        store = env.store;

        // Act
        const result = await processDelivery(delivery({ receiveCount }), env.deps);

        // Assess
        expect(result).toBe('retry');
        expect(env.task()).toMatchObject({ status: 'RUNNING', attempts: 2 });
        expect(env.queue.operations.filter((o) => o.op === 'changeVisibility')).toEqual([]);
        expect(env.events.at(-1)).toMatchObject({ transition: 'claim-lost' });
      },
    );
  });

  it('rejects when the task store fails, so the handler reports the message as failed', async () => {
    // Prepare
    const { store, agents, deps } = setup();
    jest.spyOn(store, 'claim').mockRejectedValueOnce(new Error('DynamoDB is down'));

    // Act
    const outcome = processDelivery(delivery(), deps);

    // Assess
    await expect(outcome).rejects.toThrow('DynamoDB is down');
    expect(agents.requests).toEqual([]);
  });
});

describe('Function: parseEnvelope', () => {
  it('accepts a fractional schema version of this major version', () => {
    // Act
    const parsed = parseEnvelope(JSON.stringify({ ...envelope, schema_version: 1.5 }));

    // Assess
    expect(parsed).toMatchObject({ task_id: TASK_ID });
  });

  it('accepts an envelope without a request hash', () => {
    // Prepare
    const { request_hash: _hash, ...rest } = envelope;

    // Act
    const parsed = parseEnvelope(JSON.stringify(rest));

    // Assess
    expect(parsed).toMatchObject({ task_id: TASK_ID });
  });

  it('keeps every number literal of the payload as sent', () => {
    // Prepare
    const body = JSON.stringify(envelope).replace(
      '"payload":{"text":"hi"}',
      '"payload":{"n":9007199254740993,"big":1e400}',
    );

    // Act
    const parsed = parseEnvelope(body) as TaskEnvelope;

    // Assess
    expect(JSON.stringify(parsed.payload)).toBe('{"n":9007199254740993,"big":1e400}');
  });
});

describe('Function: processDelivery, exact payloads', () => {
  it('hands the agent the payload with every number literal as sent', async () => {
    // Prepare
    const { agents, deps } = setup();
    const body = JSON.stringify(envelope).replace(
      '"payload":{"text":"hi"}',
      `"payload":{"n":9007199254740993,"l":${'9'.repeat(300)}}`,
    );

    // Act
    await processDelivery(delivery({ body }), deps);

    // Assess
    expect(JSON.stringify(agents.requests[0]!.payload)).toBe(`{"n":9007199254740993,"l":${'9'.repeat(300)}}`);
  });
});

describe('Function: processDelivery, a payload in the task bucket', () => {
  const KEY = `payloads/${TASK_ID}/00000000-0000-4000-8000-000000000009.json`;
  const objectEnvelope: TaskEnvelope = {
    ...envelope,
    schema_version: OBJECT_PAYLOAD_SCHEMA_VERSION,
    payload: {},
    payload_object: KEY,
  };
  const objectDelivery = () => delivery({ body: JSON.stringify(objectEnvelope) });
  /** The task bucket's objects, read as the consumer reads them. */
  const bucket = (objects: Record<string, string>) => ({
    reads: [] as string[],
    async get(key: string) {
      this.reads.push(key);
      const text = objects[key];
      if (text === undefined) throw new Error('NoSuchKey: The specified key does not exist.');
      return text;
    },
  });

  it('reads it after the claim and calls the agent with it, every number literal as sent', async () => {
    // Prepare
    const { agents, deps, task } = setup();
    const payloads = bucket({ [KEY]: '{"n":9007199254740993,"big":1e400,"text":"é"}' });

    // Act
    const outcome = await processDelivery(objectDelivery(), { ...deps, payloads });

    // Assess
    expect(outcome).toBe('ack');
    expect(payloads.reads).toEqual([KEY]);
    expect(agents.requests).toHaveLength(1);
    expect(toSqsJson(agents.requests[0]!.payload)).toBe('{"n":9007199254740993,"big":1e400,"text":"é"}');
    expect(task()).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('fails the attempt with PayloadUnavailable, without calling the agent, when the object cannot be read', async () => {
    // Prepare
    const { agents, deps, task } = setup();
    const payloads = bucket({});

    // Act
    await processDelivery(objectDelivery(), { ...deps, payloads });

    // Assess: retried like any transient failure
    expect(agents.requests).toEqual([]);
    expect(task()).toMatchObject({
      status: 'RETRYING',
      attempts: 1,
      error: {
        code: 'PayloadUnavailable',
        message: expect.stringContaining(`${KEY} could not be read: NoSuchKey`),
      },
    });
  });

  it('reads nothing for a duplicate of a task that already succeeded', async () => {
    // Prepare
    const { agents, deps } = setup(undefined, [{ ...queued, status: TaskStatus.SUCCEEDED, attempts: 1 }]);
    const payloads = bucket({ [KEY]: '{}' });

    // Act
    const outcome = await processDelivery(objectDelivery(), { ...deps, payloads });

    // Assess
    expect(outcome).toBe('ack');
    expect(payloads.reads).toEqual([]);
    expect(agents.requests).toEqual([]);
  });
});
