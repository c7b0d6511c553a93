import { createHash } from 'node:crypto';
import type { AgentLimits } from '../../../lambda/contract/agent-target';
import type { AgentOutcome } from '../../../lambda/core/agent-outcome';
import { tokenOwner } from '../../../lambda/core/async-attempt';
import {
  type Delivery,
  type ProcessDeps,
  type ProcessSettings,
  processDelivery,
  type TransitionEvent,
} from '../../../lambda/core/process-delivery';
import { RETRY_CLOCK_SKEW_MS } from '../../../lambda/core/retry-policy';
import { ENVELOPE_SCHEMA_VERSION, type TaskEnvelope, type TaskRecord } from '../../../lambda/core/task';
import { FakeAgents, InMemoryTaskStore, InMemoryTierQueue } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-01-01T00:00:00.000Z');
const NOW_MS = NOW.getTime();
const AGENT_TIMEOUT_SECONDS = 30;
const LIMITS: AgentLimits = { heartbeatTimeoutSeconds: 60, maxRunTimeSeconds: 3600 };
/** Attempt 1's backoff with base 2 s at random 0.5 (setup): a delay in [0, 2], 1 s. */
const ATTEMPT_1_BACKOFF = 1;

const settings: ProcessSettings = {
  maxReceiveCount: 3,
  leaseSeconds: 60,
  backoff: { baseSeconds: 2, capSeconds: 300 },
  maxResultBytes: 64,
  retentionSeconds: 3600,
  callbackBaseUrl: 'https://api.example.com/prod',
  tenantMaxConcurrency: 0,
  limitWakeUpSeconds: 5,
};

const envelope: TaskEnvelope = {
  schema_version: ENVELOPE_SCHEMA_VERSION,
  task_id: TASK_ID,
  enqueue_id: 'enqueue-1',
  type: 'research',
  priority: 'high',
  payload: { topic: 'queues' },
  created_at: '2025-12-31T23:59:00.000Z',
  request_hash: 'hash',
};

const queued: TaskRecord = {
  task_id: TASK_ID,
  type: 'research',
  priority: 'high',
  status: 'QUEUED',
  attempts: 0,
  created_at: envelope.created_at,
  updated_at: envelope.created_at,
  request_hash: 'hash',
  enqueue_id: 'enqueue-1',
};

const OLD_TOKEN = 'the-token-of-attempt-1';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Attempt 1 of the async agent, handed off, its message held by `receipt-1`. */
function runningAsync(fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    ...queued,
    status: 'RUNNING',
    attempts: 1,
    started_at: NOW.toISOString(),
    agent_mode: 'async',
    token_hash: sha256(OLD_TOKEN),
    callback_tokens: new Set([sha256(OLD_TOKEN).slice(0, 32)]),
    receipt_handle: 'receipt-1',
    receive_count: 1,
    heartbeat_seconds: 60,
    run_deadline: NOW_MS + 3_600_000,
    lease_until: NOW_MS + 50_000,
    claim_id: 'claim-1',
    ...fields,
  };
}

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return { body: JSON.stringify(envelope), receiptHandle: 'receipt-1', receiveCount: 1, ...overrides };
}

function setup(
  agent: AgentOutcome = { kind: 'accepted' },
  records: TaskRecord[] = [queued],
  /** `null`: the agent is sync. */
  limits: AgentLimits | null = LIMITS,
) {
  const store = new InMemoryTaskStore(records);
  const queue = new InMemoryTierQueue();
  const agents = new FakeAgents(
    { research: agent },
    AGENT_TIMEOUT_SECONDS,
    limits ? { research: limits } : {},
  );
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

describe('Function: processDelivery, async agents', () => {
  describe('the hand-off', () => {
    it("passes the task's tenant_id to an async agent beside its callback", async () => {
      // Prepare
      const { agents, deps } = setup();
      const body = JSON.stringify({ ...envelope, tenant_id: 'acme' });

      // Act
      await processDelivery(delivery({ body }), deps);

      // Assess
      expect(agents.requests).toEqual([
        expect.objectContaining({
          tenant_id: 'acme',
          callback: expect.objectContaining({ heartbeat_seconds: 60 }),
        }),
      ]);
    });

    it('sends the agent the usual body plus its callback: the task url, a fresh token and the heartbeat window', async () => {
      // Prepare
      const { agents, deps } = setup();

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(agents.requests).toEqual([
        {
          task_id: TASK_ID,
          type: 'research',
          payload: { topic: 'queues' },
          attempt: 1,
          deadline: '2026-01-01T00:00:30.000Z',
          callback: {
            url: `https://api.example.com/prod/tasks/${TASK_ID}`,
            token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
            heartbeat_seconds: 60,
          },
        },
      ]);
    });

    it('records the attempt as async: only the hash of the token, the receipt handle and the deadlines', async () => {
      // Prepare
      const { agents, deps, task } = setup();

      // Act
      await processDelivery(delivery({ receiveCount: 2 }), deps);

      // Assess
      const token = agents.requests[0]!.callback!.token;
      expect(task()).toMatchObject({
        status: 'RUNNING',
        attempts: 1,
        agent_mode: 'async',
        token_hash: sha256(token),
        receipt_handle: 'receipt-1',
        receive_count: 2,
        heartbeat_seconds: 60,
        // The hand-off call may take up to the agent's timeout, then one heartbeat window.
        lease_until: NOW_MS + (AGENT_TIMEOUT_SECONDS + 60) * 1000,
        run_deadline: NOW_MS + 3_600_000,
      });
      expect(JSON.stringify([...(task().callback_tokens ?? [])])).not.toContain(token);
      expect(Object.values(task())).not.toContain(token);
    });

    it("keeps the message in flight until the deadline, the margin and the attempt's backoff, and leaves it on the queue", async () => {
      // Prepare
      const { queue, events, deps } = setup();

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess: 30 s hand-off + 60 s window to the deadline, 2 s margin, attempt 1's backoff (1 s at 0.5)
      expect(outcome).toBe('retry');
      expect(queue.operations).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 90 + 2 + ATTEMPT_1_BACKOFF },
      ]);
      expect(events.map((e) => e.transition)).toEqual(['claimed', 'handed-off']);
    });

    it('never gives the first deadline past maxRunTime', async () => {
      // Prepare
      const { deps, queue, task } = setup(undefined, [queued], {
        heartbeatTimeoutSeconds: 60,
        maxRunTimeSeconds: 45,
      });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(task()).toMatchObject({ lease_until: NOW_MS + 45_000, run_deadline: NOW_MS + 45_000 });
      expect(queue.operations).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 45 + 2 + ATTEMPT_1_BACKOFF },
      ]);
    });

    it('gives every attempt its own token, and keeps the hash of each', async () => {
      // Prepare: attempt 1 was lost and its retry is due
      const { agents, deps, task } = setup(undefined, [
        runningAsync({
          status: 'RETRYING',
          retry_at: NOW_MS,
          error: { code: 'HeartbeatTimeout', message: 'x' },
        }),
      ]);

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-2', receiveCount: 2 }), deps);

      // Assess
      const token = agents.requests[0]!.callback!.token;
      expect(token).not.toBe(OLD_TOKEN);
      expect(task()).toMatchObject({ attempts: 2, token_hash: sha256(token), receipt_handle: 'receipt-2' });
      expect([tokenOwner(task(), token), tokenOwner(task(), OLD_TOKEN)]).toEqual(['current', 'stale']);
      expect(task().callback_tokens).toEqual(
        new Set([sha256(OLD_TOKEN).slice(0, 32), sha256(token).slice(0, 32)]),
      );
    });

    it('completes at once when the async agent answers 200 with a result, as a sync agent does', async () => {
      // Prepare
      const { deps, queue, events, task } = setup({ kind: 'success', result: { done: true } });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({ status: 'SUCCEEDED', result: { done: true } });
      expect(queue.operations).toEqual([]);
      expect(events.map((e) => e.transition)).toEqual(['claimed', 'succeeded']);
    });

    it('retries a refused hand-off as a sync failure is retried', async () => {
      // Prepare: attempt 1, base 2 s: a delay in [0, 2], 1 s at random 0.5
      const { deps, queue, task } = setup({
        kind: 'transient',
        error: { code: 'AgentHttp503', message: 'busy' },
      });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(task()).toMatchObject({ status: 'RETRYING', error: { code: 'AgentHttp503' } });
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-1', seconds: 1 }]);
    });
  });

  describe('a duplicate receive of a running async attempt', () => {
    it("records this receive's handle and keeps the message away for the time left, without calling the agent", async () => {
      // Prepare: 50 s left before the deadline
      const { agents, queue, events, deps, task } = setup(undefined, [runningAsync()]);

      // Act
      const outcome = await processDelivery(delivery({ receiptHandle: 'receipt-9', receiveCount: 2 }), deps);

      // Assess: the time left, the margin and attempt 1's backoff
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(task()).toEqual(runningAsync({ receipt_handle: 'receipt-9', receive_count: 2 }));
      expect(queue.operations).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-9', seconds: 50 + 2 + ATTEMPT_1_BACKOFF },
      ]);
      expect(events.map((e) => [e.transition, e.detail])).toEqual([['adopted', 'running-async']]);
    });

    it("adds the backoff of the running attempt, not of the first: attempt 3's is 4 s at 0.5", async () => {
      // Prepare: attempt 3, base 2 s: a delay in [0, 8], 4 s at random 0.5
      const { queue, deps } = setup(undefined, [runningAsync({ attempts: 3 })]);

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-9', receiveCount: 3 }), deps);

      // Assess
      expect(queue.operations).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-9', seconds: 50 + 2 + 4 },
      ]);
    });

    it('adopts at the very millisecond of the deadline: the attempt still holds it', async () => {
      // Prepare
      const { deps, task } = setup(undefined, [runningAsync({ lease_until: NOW_MS })]);

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-9', receiveCount: 2 }), deps);

      // Assess
      expect(task()).toMatchObject({ status: 'RUNNING', attempts: 1, receipt_handle: 'receipt-9' });
    });
  });

  describe('a lapsed attempt', () => {
    /** The record as the lapse wrote it, before this delivery claims the next attempt. */
    function recordAtLapse(store: InMemoryTaskStore): () => TaskRecord | undefined {
      let written: TaskRecord | undefined;
      const finishAsync = store.finishAsync.bind(store);
      jest.spyOn(store, 'finishAsync').mockImplementation(async (...args) => {
        const out = await finishAsync(...args);
        written = store.records.get(TASK_ID);
        return out;
      });
      return () => written;
    }

    it('records a silent agent as HeartbeatTimeout and starts attempt 2 in the same delivery', async () => {
      // Prepare: the deadline passed a millisecond ago; the message stayed away for attempt 1's backoff already
      const { agents, queue, events, deps, store, task } = setup(undefined, [
        runningAsync({ lease_until: NOW_MS - 1 }),
      ]);
      const atLapse = recordAtLapse(store);

      // Act
      const outcome = await processDelivery(delivery({ receiptHandle: 'receipt-2', receiveCount: 2 }), deps);

      // Assess: the loss is recorded as a retry due at once (no second backoff)...
      expect(atLapse()).toMatchObject({
        status: 'RETRYING',
        attempts: 1,
        error: { code: 'HeartbeatTimeout' },
        retry_at: NOW_MS - RETRY_CLOCK_SKEW_MS,
      });
      // ...and this delivery is attempt 2: a new token, its message away until attempt 2's deadline + backoff
      expect(outcome).toBe('retry');
      expect(agents.requests.map((r) => r.attempt)).toEqual([2]);
      const token = agents.requests[0]!.callback!.token;
      expect(token).not.toBe(OLD_TOKEN);
      expect(task()).toMatchObject({
        status: 'RUNNING',
        attempts: 2,
        error: { code: 'HeartbeatTimeout' },
        token_hash: sha256(token),
        receipt_handle: 'receipt-2',
        receive_count: 2,
        lease_until: NOW_MS + (AGENT_TIMEOUT_SECONDS + 60) * 1000,
      });
      expect(task().retry_at).toBeUndefined();
      expect(tokenOwner(task(), OLD_TOKEN)).toBe('stale');
      // Attempt 2, base 2 s: a delay in [0, 4], 2 s at random 0.5
      expect(queue.operations).toEqual([
        { op: 'changeVisibility', receiptHandle: 'receipt-2', seconds: 90 + 2 + 2 },
      ]);
      expect(events.map((e) => [e.transition, e.attempt, e.detail])).toEqual([
        ['retrying', 1, 'HeartbeatTimeout'],
        ['claimed', 2, undefined],
        ['handed-off', 2, undefined],
      ]);
    });

    it('fails the task on the last delivery and makes the message visible at once, for the DLQ', async () => {
      // Prepare
      const { agents, queue, events, deps, task } = setup(undefined, [
        runningAsync({ lease_until: NOW_MS - 1 }),
      ]);

      // Act
      const outcome = await processDelivery(delivery({ receiptHandle: 'receipt-3', receiveCount: 3 }), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(task()).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'HeartbeatTimeout' } });
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-3', seconds: 0 }]);
      expect(events.map((e) => [e.transition, e.detail])).toEqual([['failed', 'HeartbeatTimeout']]);
    });

    it('cancels the task when a cancel was requested, and acks the message', async () => {
      // Prepare
      const { agents, queue, deps, task } = setup(undefined, [
        runningAsync({ lease_until: NOW_MS - 1, cancel_requested: true }),
      ]);

      // Act
      const outcome = await processDelivery(delivery({ receiptHandle: 'receipt-2', receiveCount: 2 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(task()).toMatchObject({ status: 'CANCELLED', attempts: 1, error: { code: 'Cancelled' } });
      expect(queue.operations).toEqual([]);
    });

    it('records AgentRunTimeExceeded when the deadline had reached the run deadline, then starts the next attempt', async () => {
      // Prepare
      const { agents, deps, store, task } = setup(undefined, [
        runningAsync({ lease_until: NOW_MS - 1, run_deadline: NOW_MS - 1 }),
      ]);
      const atLapse = recordAtLapse(store);

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-2', receiveCount: 2 }), deps);

      // Assess
      expect(atLapse()).toMatchObject({
        status: 'RETRYING',
        attempts: 1,
        error: { code: 'AgentRunTimeExceeded' },
      });
      expect(agents.requests.map((r) => r.attempt)).toEqual([2]);
      // The new attempt has a maxRunTime of its own.
      expect(task()).toMatchObject({
        status: 'RUNNING',
        attempts: 2,
        error: { code: 'AgentRunTimeExceeded' },
        run_deadline: NOW_MS + 3_600_000,
      });
    });

    it('records AgentRunTimeExceeded on the last delivery as FAILED, without calling the agent', async () => {
      // Prepare
      const { agents, queue, deps, task } = setup(undefined, [
        runningAsync({ lease_until: NOW_MS - 1, run_deadline: NOW_MS - 1 }),
      ]);

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-3', receiveCount: 3 }), deps);

      // Assess
      expect(agents.requests).toEqual([]);
      expect(task()).toMatchObject({
        status: 'FAILED',
        attempts: 1,
        error: { code: 'AgentRunTimeExceeded' },
      });
      expect(queue.operations).toEqual([{ op: 'changeVisibility', receiptHandle: 'receipt-3', seconds: 0 }]);
    });
  });

  describe('a sync attempt after an async one', () => {
    it('clears the async fields but keeps the token hashes, so that the old token is stale', async () => {
      // Prepare: the agent is sync now (its configuration changed between attempts)
      const before = runningAsync({
        status: 'RETRYING',
        retry_at: NOW_MS,
        error: { code: 'HeartbeatTimeout', message: 'x' },
        progress: { percent: 10 },
        heartbeat_at: NOW.toISOString(),
        cancel_requested: false,
        completion_hash: 'h',
      });
      const { deps, store, task } = setup({ kind: 'success', result: 1 }, [before], null);
      let running: TaskRecord | undefined;
      const claim = store.claim.bind(store);
      jest.spyOn(store, 'claim').mockImplementation(async (...args) => {
        const out = await claim(...args);
        running = store.records.get(TASK_ID);
        return out;
      });

      // Act
      await processDelivery(delivery({ receiptHandle: 'receipt-2', receiveCount: 2 }), deps);

      // Assess
      for (const field of [
        'agent_mode',
        'token_hash',
        'receipt_handle',
        'receive_count',
        'heartbeat_seconds',
        'run_deadline',
        'heartbeat_at',
        'progress',
        'cancel_requested',
        'completion_hash',
      ] as const) {
        expect({ field, value: running?.[field] }).toEqual({ field, value: undefined });
      }
      expect(running).toMatchObject({ status: 'RUNNING', attempts: 2, lease_until: NOW_MS + 60_000 });
      expect(tokenOwner(task(), OLD_TOKEN)).toBe('stale');
    });
  });
});
