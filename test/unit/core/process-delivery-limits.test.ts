/**
 * processDelivery with the limiter (lambda/core/limits.ts): a task held back by a limit waits without failing
 * (its message is re-sent, its attempts stay), a granted attempt records its slots, and every way an attempt
 * ends gives them back or holds them as long as its agent may still be working.
 */
import type { AgentLimits } from '../../../lambda/contract/agent-target';
import type { AgentOutcome } from '../../../lambda/core/agent-outcome';
import {
  type AgentLimitConfig,
  agentCounterKey,
  liveHolders,
  tenantCounterKey,
} from '../../../lambda/core/limits';
import type { AgentCallLimits, AgentRequest } from '../../../lambda/core/ports';
import {
  type Delivery,
  type ProcessDeps,
  type ProcessSettings,
  processDelivery,
  type TransitionEvent,
} from '../../../lambda/core/process-delivery';
import { RETRY_CLOCK_SKEW_MS, retryDelaySeconds } from '../../../lambda/core/retry-policy';
import { SlotWaits } from '../../../lambda/core/slot-waits';
import { StampLead } from '../../../lambda/core/stamp-lead';
import { ENVELOPE_SCHEMA_VERSION, type TaskEnvelope, type TaskRecord } from '../../../lambda/core/task';
import { FakeAgents, InMemoryLimiter, InMemoryTaskStore, InMemoryTierQueue } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW_MS = Date.parse('2026-01-01T00:00:00.000Z');
const AGENT_TIMEOUT_SECONDS = 30;
const AGENT = agentCounterKey('limited');
const ACME = tenantCounterKey('acme');
/** The holder id of one ask: the task id and 12 fresh hex characters. */
const HOLDER = new RegExp(`^${TASK_ID}/[0-9a-f]{12}$`);

const settings: ProcessSettings = {
  maxReceiveCount: 5,
  leaseSeconds: 120,
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
  type: 'limited',
  priority: 'low',
  payload: { ms: 200 },
  created_at: '2025-12-31T23:59:00.000Z',
  request_hash: 'hash',
  tenant_id: 'acme',
};

const queued: TaskRecord = {
  task_id: TASK_ID,
  type: 'limited',
  priority: 'low',
  tenant_id: 'acme',
  status: 'QUEUED',
  attempts: 0,
  created_at: envelope.created_at,
  updated_at: envelope.created_at,
  request_hash: 'hash',
  enqueue_id: 'enqueue-1',
};

const success: AgentOutcome = { kind: 'success', result: { ok: true } };
const transient: AgentOutcome = { kind: 'transient', error: { code: 'AgentHttp503', message: 'busy' } };
const permanent: AgentOutcome = { kind: 'permanent', error: { code: 'AgentHttp400', message: 'bad input' } };
const timedOut: AgentOutcome = {
  kind: 'transient',
  error: { code: 'AgentTimeout', message: 'the agent did not answer within 30 s' },
};

interface Setup {
  readonly agent?: AgentOutcome | ((request: AgentRequest) => AgentOutcome);
  /** The limits of the `limited` agent (the `echo` agent has none). */
  readonly limits?: AgentLimitConfig;
  readonly records?: readonly TaskRecord[];
  readonly settings?: Partial<ProcessSettings>;
  /** Makes `limited` an async agent. */
  readonly asyncLimits?: AgentLimits;
}

function setup(opts: Setup = {}) {
  const store = new InMemoryTaskStore(opts.records ?? [queued]);
  const queue = new InMemoryTierQueue();
  const limiter = new InMemoryLimiter();
  const outcome = opts.agent ?? success;
  const agents = new FakeAgents(
    { limited: outcome, echo: outcome },
    AGENT_TIMEOUT_SECONDS,
    opts.asyncLimits ? { limited: opts.asyncLimits } : {},
    { limited: opts.limits ?? { maxConcurrency: 1 } },
  );
  const events: TransitionEvent[] = [];
  const clock = { ms: NOW_MS };
  const deps: ProcessDeps = {
    store,
    queue,
    agents,
    limiter,
    settings: { ...settings, ...opts.settings },
    now: () => new Date(clock.ms),
    random: () => 0.5,
    onTransition: (e) => events.push(e),
  };
  /** Another task takes a slot of `key` at the clock's time, held for a minute. */
  const occupy = async (holder: string, fields: { agent?: AgentLimitConfig; tenantCap?: number } = {}) => {
    const grant = await limiter.acquire({
      holder,
      priority: 'high',
      nowMs: clock.ms,
      holdUntilMs: clock.ms + 60_000,
      wakeUpMs: settings.limitWakeUpSeconds * 1000,
      ...(fields.agent && { agent: { key: AGENT, limits: fields.agent } }),
      ...(fields.tenantCap !== undefined && { tenant: { key: ACME, maxConcurrency: fields.tenantCap } }),
    });
    if (!grant.granted) throw new Error(`the test could not occupy a slot for ${holder}`);
    return grant.slots;
  };
  /** The holders of `key` still holding at the clock's time. */
  const live = (key: string) =>
    liveHolders(limiter.counters.get(key) ?? { holders: {}, starts: [], version: 0 }, clock.ms);
  return {
    store,
    queue,
    limiter,
    agents,
    events,
    deps,
    clock,
    occupy,
    live,
    task: () => store.records.get(TASK_ID)!,
  };
}

function delivery(overrides: Partial<Delivery> = {}, body: TaskEnvelope = envelope): Delivery {
  return { body: JSON.stringify(body), receiptHandle: 'receipt-1', receiveCount: 1, ...overrides };
}

describe('Function: processDelivery, with limits', () => {
  describe('a task held back by a limit', () => {
    it('is sent again with the same body, its task id and waits, in its tenant’s group, and acked', async () => {
      // Prepare
      const { queue, agents, deps, occupy } = setup();
      await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(agents.requests).toEqual([]);
      expect(queue.operations).toEqual([
        {
          op: 'resend',
          message: {
            body: JSON.stringify(envelope),
            attributes: { task_id: TASK_ID, waits: '1' },
            groupId: 'acme',
          },
          delaySeconds: 1,
        },
      ]);
    });

    it('keeps its status and its attempts, and its record says why it waits and since when', async () => {
      // Prepare
      const retrying: TaskRecord = { ...queued, status: 'RETRYING', attempts: 2, retry_at: NOW_MS - 1 };
      const { deps, occupy, task } = setup({ records: [retrying] });
      await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act
      await processDelivery(delivery({ receiveCount: 4 }), deps);

      // Assess
      expect(task()).toEqual({
        ...retrying,
        waiting: { reason: 'AgentConcurrencyLimit', since: new Date(NOW_MS).toISOString() },
      });
    });

    it('never brings the redrive policy nearer: the last delivery SQS makes waits like any other', async () => {
      // Prepare
      const { queue, deps, occupy, task } = setup();
      await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: settings.maxReceiveCount }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({ status: 'QUEUED', attempts: 0 });
      expect(queue.operations.map((o) => o.op)).toEqual(['resend']);
    });

    it('emits waiting, with the reason', async () => {
      // Prepare
      const { events, deps, occupy } = setup();
      await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(events).toEqual([
        {
          task_id: TASK_ID,
          type: 'limited',
          priority: 'low',
          transition: 'waiting',
          detail: 'AgentConcurrencyLimit',
        },
      ]);
    });

    it('stays away longer with every wait in a row, up to the wake-up interval', async () => {
      // Prepare
      const { queue, deps, occupy } = setup();
      await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act: its fourth wait in a row (random 0.5: the middle of [3, 5])
      await processDelivery(delivery({ waits: 3 }), deps);

      // Assess
      expect(queue.operations).toEqual([
        expect.objectContaining({
          op: 'resend',
          message: expect.objectContaining({ attributes: { task_id: TASK_ID, waits: '4' } }),
          delaySeconds: 4,
        }),
      ]);
    });

    it('stays away until the rate limit lets one more start, within the wake-up interval', async () => {
      // Prepare: one start a minute, one made a second ago
      const limits = { rateLimit: { requests: 1, perSeconds: 60 } };
      const { queue, deps, occupy, clock, task } = setup({ limits, settings: { limitWakeUpSeconds: 30 } });
      await occupy('other', { agent: limits });
      clock.ms += 1_000;

      // Act
      await processDelivery(delivery(), deps);

      // Assess: the start leaves the window (60 s and its 250 ms margin) in 59.25 s; the wake-up comes first
      expect(queue.operations).toEqual([expect.objectContaining({ op: 'resend', delaySeconds: 30 })]);
      expect(task().waiting?.reason).toBe('AgentRateLimit');
    });

    it('writes its waiting once per reason, and keeps the time it first waited', async () => {
      // Prepare
      const limits = { maxConcurrency: 1, rateLimit: { requests: 1, perSeconds: 60 } };
      const { store, deps, occupy, limiter, clock, task } = setup({ limits });
      const other = await occupy('other', { agent: limits });
      const wait = jest.spyOn(store, 'wait');

      // Act: held back by the concurrency twice, then (the other task done) by the rate
      await processDelivery(delivery(), deps);
      clock.ms += 2_000;
      await processDelivery(delivery({ waits: 1 }), deps);
      const afterSameReason = task().waiting;
      await limiter.release(other, new Date(clock.ms));
      clock.ms += 2_000;
      await processDelivery(delivery({ waits: 2 }), deps);

      // Assess
      const since = new Date(NOW_MS).toISOString();
      expect(afterSameReason).toEqual({ reason: 'AgentConcurrencyLimit', since });
      expect(task().waiting).toEqual({ reason: 'AgentRateLimit', since });
      expect(wait).toHaveBeenCalledTimes(2);
    });
  });

  describe('a granted attempt', () => {
    it('records its slots on the claim, drops the waiting, and gives the slots back after a success', async () => {
      // Prepare
      let seen: TaskRecord | undefined;
      const waited: TaskRecord = {
        ...queued,
        waiting: { reason: 'AgentConcurrencyLimit', since: queued.created_at },
      };
      const { store, events, deps, live } = setup({
        records: [waited],
        agent: () => {
          seen = store.records.get(TASK_ID);
          return success;
        },
      });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(seen).toMatchObject({
        status: 'RUNNING',
        slots: { keys: [AGENT], holder: expect.stringMatching(HOLDER) },
      });
      expect(seen).not.toHaveProperty('waiting');
      expect(live(AGENT)).toEqual({});
      expect(events.filter((e) => e.transition === 'claimed' || e.transition === 'released')).toEqual([
        expect.objectContaining({ transition: 'claimed', agent_slots_in_use: 1 }),
        expect.objectContaining({ transition: 'released', agent_slots_in_use: 0 }),
      ]);
    });

    it('reports the slots still in use after it gives its own back', async () => {
      // Prepare: another task holds the other of two slots, beyond this attempt
      const { events, deps, occupy } = setup({ limits: { maxConcurrency: 2 } });
      await occupy('other', { agent: { maxConcurrency: 2 } });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(events.filter((e) => e.transition === 'claimed' || e.transition === 'released')).toEqual([
        expect.objectContaining({ transition: 'claimed', agent_slots_in_use: 2 }),
        expect.objectContaining({ transition: 'released', agent_slots_in_use: 1 }),
      ]);
    });

    it('holds its slot under the claim’s lease while the agent runs', async () => {
      // Prepare
      let during: Record<string, number> | undefined;
      const { deps, live } = setup({
        agent: () => {
          during = live(AGENT);
          return success;
        },
      });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(Object.values(during ?? {})).toEqual([NOW_MS + settings.leaseSeconds * 1000]);
    });

    it.each([
      ['a permanent failure', permanent, 'ack'],
      ['a transient failure', transient, 'retry'],
    ] as const)('gives its slots back after %s', async (_name, agent, expected) => {
      // Prepare
      const { events, deps, live } = setup({ agent });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe(expected);
      expect(live(AGENT)).toEqual({});
      expect(events).toContainEqual(
        expect.objectContaining({ transition: 'released', agent_slots_in_use: 0 }),
      );
    });

    it('gives its slots back as soon as the agent answers, before the outcome is written', async () => {
      // Prepare: note the agent's holders when the success is written
      const { deps, live, store } = setup();
      let atWrite: Record<string, number> | undefined;
      const succeed = store.succeed.bind(store);
      jest.spyOn(store, 'succeed').mockImplementation(async (...args) => {
        atWrite = live(AGENT);
        return succeed(...args);
      });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(atWrite).toEqual({});
      expect(store.records.get(TASK_ID)?.status).toBe('SUCCEEDED');
    });

    /** The retry's wait after an AgentTimeout with the default backoff: shorter than the claim's lease. */
    const timeoutDelay = retryDelaySeconds(
      1,
      timedOut.error,
      settings.backoff,
      AGENT_TIMEOUT_SECONDS,
      () => 0.5,
    );

    it('keeps its slot until the retry is due after an AgentTimeout, not for the rest of its lease', async () => {
      // Prepare
      const { deps, live, task } = setup({ agent: timedOut });

      // Act
      await processDelivery(delivery(), deps);

      // Assess: held (the agent may still be working) exactly until retry_at, earlier than the claim's lease
      expect(timeoutDelay * 1000).toBeLessThan(settings.leaseSeconds * 1000);
      expect(task().status).toBe('RETRYING');
      expect(task().retry_at).toBe(NOW_MS + timeoutDelay * 1000 - RETRY_CLOCK_SKEW_MS);
      expect(live(AGENT)).toEqual({ [task().slots!.holder]: task().retry_at });
    });

    it('lets the retry of a timed-out attempt start when it is due, while other tasks wait for that slot before', async () => {
      // Prepare: maxConcurrency 1 (setup's agent), attempt 1 times out
      const { deps, clock, task, limiter } = setup({ agent: timedOut });
      await processDelivery(delivery(), deps);
      const retryAt = task().retry_at!;

      // Act: a second task asks a millisecond before the retry is due, then the retry arrives when due
      clock.ms = retryAt - 1;
      const other = await limiter.acquire({
        holder: 'other/000000000000',
        // Low, so that its refusal leaves no high-before-low mark in the retry's way
        priority: 'low',
        nowMs: clock.ms,
        holdUntilMs: clock.ms + 60_000,
        agent: { key: AGENT, limits: { maxConcurrency: 1 } },
        wakeUpMs: 5_000,
      });
      clock.ms = retryAt;
      const retried = await processDelivery(delivery({ receiveCount: 2 }), deps);

      // Assess
      expect(other).toMatchObject({ granted: false, reason: 'AgentConcurrencyLimit' });
      expect(retried).toBe('retry');
      expect(task()).toMatchObject({ status: 'RETRYING', attempts: 2 });
    });

    it('gives the slots back when the claim that follows the grant is refused', async () => {
      // Prepare: another consumer claims the task between this one's read and its claim
      const { store, limiter, agents, events, deps, live } = setup();
      const acquire = limiter.acquire.bind(limiter);
      jest.spyOn(limiter, 'acquire').mockImplementation(async (request) => {
        const grant = await acquire(request);
        store.records.set(TASK_ID, {
          ...queued,
          status: 'RUNNING',
          attempts: 1,
          lease_until: NOW_MS + 60_000,
          claim_id: 'theirs',
        });
        return grant;
      });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(agents.requests).toEqual([]);
      expect(live(AGENT)).toEqual({});
      expect(events.map((e) => e.transition)).toEqual(['released', 'skipped']);
    });

    it('asks nothing for a task that cannot be claimed now: the claim says why', async () => {
      // Prepare
      const running: TaskRecord = { ...queued, status: 'RUNNING', attempts: 1, lease_until: NOW_MS + 60_000 };
      const { limiter, deps } = setup({ records: [running] });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(limiter.asks).toEqual([]);
    });

    it('a rate-only agent records no slot, gives none back, and logs its start', async () => {
      // Prepare
      let seen: TaskRecord | undefined;
      const { store, limiter, events, deps } = setup({
        limits: { rateLimit: { requests: 5, perSeconds: 1 } },
        agent: () => {
          seen = store.records.get(TASK_ID);
          return success;
        },
      });

      // Act
      await processDelivery(delivery(), deps);

      // Assess
      expect(seen).not.toHaveProperty('slots');
      expect(events.map((e) => e.transition)).not.toContain('released');
      expect(limiter.counters.get(AGENT)?.starts).toEqual([NOW_MS]);
    });
  });

  describe('a rate-limited start stamped ahead (StampLead)', () => {
    it('learns the delay from its grant to its call, and stamps the next grants that far ahead: no restamp', async () => {
      // Prepare: the claim takes 45 ms on this process's clock
      const second = { ...queued, task_id: 'b2c3d4e5-0000-4000-8000-000000000002', tenant_id: undefined };
      const { store, limiter, deps, clock } = setup({
        limits: { rateLimit: { requests: 5, perSeconds: 1 } },
        records: [queued, second],
      });
      limiter.clock = () => clock.ms;
      const claim = store.claim.bind(store);
      store.claim = async (...args) => {
        clock.ms += 45;
        return claim(...args);
      };
      const led = { ...deps, stampLead: new StampLead() };

      // Act: a first task, with nothing learnt yet, then a second
      await processDelivery(delivery(), led);
      const firstDone = clock.ms;
      await processDelivery(
        delivery({}, { ...envelope, task_id: second.task_id, tenant_id: undefined }),
        led,
      );

      // Assess: the first was stamped at its grant, came 45 ms late and moved its stamp; the second was stamped
      // 45 ms ahead of its grant and called at its stamp
      expect(limiter.asks.map((a) => a.request.stampLeadMs)).toEqual([0, 45]);
      expect(limiter.restamps).toEqual([
        expect.objectContaining({ start: expect.objectContaining({ atMs: NOW_MS }) }),
      ]);
      expect(limiter.counters.get(AGENT)?.starts).toEqual([NOW_MS + 45, firstDone + 45]);
    });
  });

  describe('an async agent', () => {
    const asyncLimits: AgentLimits = { heartbeatTimeoutSeconds: 60, maxRunTimeSeconds: 3600 };

    it('holds its slot after the hand-off until the attempt’s deadline', async () => {
      // Prepare
      const { events, deps, live, task } = setup({ asyncLimits, agent: { kind: 'accepted' } });

      // Act
      const outcome = await processDelivery(delivery(), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(task().lease_until).toBeGreaterThan(NOW_MS);
      expect(live(AGENT)).toEqual({ [task().slots!.holder]: task().lease_until });
      expect(events.map((e) => e.transition)).not.toContain('released');
    });
  });

  describe('the attempts bound (messages are re-sent, so the receive count alone does not end retries)', () => {
    it('fails the task on its last attempt though SQS would deliver again, copies it to the DLQ, and acks', async () => {
      // Prepare
      const retrying: TaskRecord = { ...queued, status: 'RETRYING', attempts: 4, retry_at: NOW_MS - 1 };
      const { queue, deps, live, task } = setup({ records: [retrying], agent: transient });

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(task()).toMatchObject({ status: 'FAILED', attempts: 5, error: transient.error });
      expect(queue.operations).toEqual([
        {
          op: 'deadLetter',
          body: JSON.stringify(envelope),
          error: transient.error,
          taskId: TASK_ID,
          groupId: 'acme',
        },
      ]);
      expect(live(AGENT)).toEqual({});
    });

    it('counts the attempts since the last redrive', async () => {
      // Prepare
      const redriven: TaskRecord = { ...queued, attempts: 4, attempts_base: 4, redrive_count: 1 };
      const { deps, task } = setup({ records: [redriven], agent: transient });

      // Act
      const outcome = await processDelivery(delivery({ receiveCount: 1 }), deps);

      // Assess
      expect(outcome).toBe('retry');
      expect(task()).toMatchObject({ status: 'RETRYING', attempts: 5 });
    });
  });

  describe('the tenant cap', () => {
    const capped = { tenantMaxConcurrency: 1 };

    it('holds back a task whose tenant is at its cap, whatever its agent', async () => {
      // Prepare
      const echo = { ...envelope, type: 'echo' };
      const { queue, deps, occupy, store } = setup({
        settings: capped,
        records: [{ ...queued, type: 'echo' }],
      });
      await occupy('other', { tenantCap: 1 });

      // Act
      const outcome = await processDelivery(delivery({}, echo), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(store.records.get(TASK_ID)?.waiting?.reason).toBe('TenantConcurrencyLimit');
      expect(queue.operations).toEqual([
        expect.objectContaining({ op: 'resend', message: expect.objectContaining({ groupId: 'acme' }) }),
      ]);
    });

    it('gives another tenant its own slot, and the task both slots when its agent is limited too', async () => {
      // Prepare
      let seen: TaskRecord | undefined;
      const other = { ...envelope, tenant_id: 'other' };
      const { store, deps, occupy } = setup({
        settings: capped,
        records: [{ ...queued, tenant_id: 'other' }],
        agent: () => {
          seen = store.records.get(TASK_ID);
          return success;
        },
      });
      await occupy('busy', { tenantCap: 1 });

      // Act
      const outcome = await processDelivery(delivery({}, other), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(seen?.slots?.keys).toEqual([AGENT, tenantCounterKey('other')]);
    });

    it('asks nothing for a task without a tenant of an agent without limits', async () => {
      // Prepare
      const { tenant_id: _tenant, ...untenanted } = { ...envelope, type: 'echo' };
      const { limiter, deps } = setup({ settings: capped, records: [{ ...queued, type: 'echo' }] });

      // Act
      const outcome = await processDelivery(delivery({}, untenanted), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(limiter.asks).toEqual([]);
    });
  });

  describe('high before low', () => {
    it('a waiting high task keeps low tasks of its type from a slot that frees, and takes it itself', async () => {
      // Prepare
      const high = {
        ...envelope,
        task_id: 'a5d4c1c4-3b8c-4c8f-9f5d-1f2e3d4c5b6a',
        priority: 'high' as const,
      };
      const highRecord: TaskRecord = { ...queued, task_id: high.task_id, priority: 'high' };
      const { deps, occupy, limiter, clock, task, store } = setup({ records: [queued, highRecord] });
      const other = await occupy('other', { agent: { maxConcurrency: 1 } });

      // Act
      await processDelivery(delivery({}, high), deps);
      await limiter.release(other, new Date(clock.ms));
      clock.ms += 1_000;
      await processDelivery(delivery(), deps);
      const low = task();
      await processDelivery(delivery({ waits: 1 }, high), deps);

      // Assess
      expect(low).toMatchObject({ status: 'QUEUED', waiting: { reason: 'AgentConcurrencyLimit' } });
      expect(store.records.get(high.task_id)).toMatchObject({ status: 'SUCCEEDED' });
    });
  });

  describe('a task held back by a slot of this process (in-process wait)', () => {
    const second: TaskEnvelope = {
      ...envelope,
      task_id: '1e2b3c4d-0000-4000-8000-000000000002',
      tenant_id: undefined,
    };
    const secondRecord: TaskRecord = { ...queued, task_id: second.task_id, tenant_id: undefined };
    /** Until the macrotask queue has run `check` true (a few rounds of timers). */
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
      if (!check()) throw new Error('the condition never held');
    };

    /** `limited` agents whose call for the first task waits until `open` is called. */
    function gated(deps: ProcessDeps) {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      let entered = false;
      const agents = new (class extends FakeAgents {
        public override async invoke(request: AgentRequest, limits: AgentCallLimits) {
          if (request.task_id === TASK_ID) {
            entered = true;
            await gate;
          }
          return super.invoke(request, limits);
        }
      })({ limited: success }, AGENT_TIMEOUT_SECONDS, {}, { limited: { maxConcurrency: 1 } });
      const room = new SlotWaits();
      return {
        deps: { ...deps, agents, slotWaits: room },
        room,
        agents,
        open: () => open(),
        entered: () => entered,
      };
    }

    it('gets the slot handed over as the holding attempt ends, in one write, and is not sent again', async () => {
      // Prepare
      const base = setup({ records: [queued, secondRecord], settings: { tenantMaxConcurrency: 0 } });
      const { deps, room, agents, open, entered } = gated(base.deps);
      const remainingMs = () => 120_000;

      // Act: the first task takes the slot and calls its agent; the second is refused and waits here
      const first = processDelivery(delivery({ remainingMs }), deps);
      await until(entered);
      const waiting = processDelivery(delivery({ remainingMs, receiptHandle: 'receipt-2' }, second), deps);
      await until(() => room.size === 1);
      const secondWhileWaiting = base.store.records.get(second.task_id);
      open();
      const outcomes = await Promise.all([first, waiting]);

      // Assess
      expect(outcomes).toEqual(['ack', 'ack']);
      expect(secondWhileWaiting).toMatchObject({
        status: 'QUEUED',
        attempts: 0,
        waiting: { reason: 'AgentConcurrencyLimit' },
      });
      expect(base.store.records.get(second.task_id)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
      expect(agents.requests.map((r) => r.task_id)).toEqual([TASK_ID, second.task_id]);
      expect(base.queue.operations.filter((o) => o.op === 'resend')).toEqual([]);
      expect(base.limiter.handOffs).toHaveLength(1);
      expect(base.limiter.handOffs[0]).toMatchObject({
        slots: { keys: [AGENT], holder: expect.stringMatching(HOLDER) },
        grant: { granted: true },
      });
      expect(base.live(AGENT)).toEqual({});
      expect(room.size).toBe(0);
      expect(room.holds(AGENT)).toBe(false);
    });

    it('is sent again at once when no attempt of this process holds the slot it waits for', async () => {
      // Prepare: another consumer holds the slot
      const base = setup({ records: [secondRecord] });
      const { deps, room } = gated(base.deps);
      await base.occupy('elsewhere', { agent: { maxConcurrency: 1 } });

      // Act
      const outcome = await processDelivery(delivery({ remainingMs: () => 120_000 }, second), deps);

      // Assess
      expect(outcome).toBe('ack');
      expect(base.queue.operations.filter((o) => o.op === 'resend')).toHaveLength(1);
      expect(base.limiter.asks.map((a) => a.grant.granted)).toEqual([true, false]);
      expect(room.size).toBe(0);
    });

    it('does not wait into the time its own agent call needs', async () => {
      // Prepare: an attempt of this process holds the slot, but the invocation has only the agent's time left
      const base = setup({ records: [queued, secondRecord] });
      const { deps, room, open, entered } = gated(base.deps);
      const first = processDelivery(delivery({ remainingMs: () => 120_000 }), deps);
      await until(entered);

      // Act
      const outcome = await processDelivery(
        delivery({ remainingMs: () => AGENT_TIMEOUT_SECONDS * 1000 + 1000 }, second),
        deps,
      );
      open();
      await first;

      // Assess
      expect(outcome).toBe('ack');
      expect(base.queue.operations.filter((o) => o.op === 'resend')).toHaveLength(1);
      expect(room.size).toBe(0);
    });
  });
});
