/**
 * The tier consumer's side of publish/subscribe (topics.ts): a publish message fans out into one delivery message
 * per subscriber, and each delivery then runs as a task of its own.
 */
import type { AgentOutcome } from '../../../lambda/core/agent-outcome';
import {
  type Delivery,
  type ProcessDeps,
  type ProcessSettings,
  processDelivery,
  type TransitionEvent,
} from '../../../lambda/core/process-delivery';
import { envelopeMessage, type QueueMessage } from '../../../lambda/core/queue-message';
import {
  ENVELOPE_SCHEMA_VERSION,
  type TaskEnvelope,
  type TaskRecord,
  TaskStatus,
} from '../../../lambda/core/task';
import { deliveryEnvelope, deliveryTaskId, publishedRecord } from '../../../lambda/core/topics';
import { FakeAgents, InMemoryTaskStore, InMemoryTierQueue } from '../support/in-memory';

const PUBLISHED_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-01-01T00:00:00.000Z');

const settings: ProcessSettings = {
  maxReceiveCount: 3,
  leaseSeconds: 60,
  backoff: { baseSeconds: 2, capSeconds: 300 },
  maxResultBytes: 1024,
  retentionSeconds: 3600,
  callbackBaseUrl: 'https://api.example.com',
  tenantMaxConcurrency: 0,
  limitWakeUpSeconds: 5,
};

const publish: TaskEnvelope = {
  schema_version: ENVELOPE_SCHEMA_VERSION,
  task_id: PUBLISHED_ID,
  enqueue_id: 'enqueue-1',
  type: 'document.uploaded',
  priority: 'low',
  payload: { doc: 'a.pdf' },
  created_at: '2025-12-31T23:59:00.000Z',
  request_hash: 'hash',
  tenant_id: 'acme',
  subscribers: ['summarize', 'index'],
};

const SUMMARIZE_ID = deliveryTaskId(PUBLISHED_ID, 'summarize');
const INDEX_ID = deliveryTaskId(PUBLISHED_ID, 'index');

/** The published record as the producer writes it. */
const publishedQueued = publishedRecord(publish, 1_000_000);

const success: AgentOutcome = { kind: 'success', result: { ok: true } };
const transient: AgentOutcome = { kind: 'transient', error: { code: 'AgentHttp503', message: 'busy' } };

function message(envelope: TaskEnvelope, receiptHandle = 'receipt-1'): Delivery {
  return { body: envelopeMessage(envelope).body, receiptHandle, receiveCount: 1 };
}

function setup(
  records: TaskRecord[] = [publishedQueued],
  agents: Record<string, AgentOutcome> = { summarize: success, index: success },
) {
  const store = new InMemoryTaskStore(records);
  const queue = new InMemoryTierQueue();
  const fakeAgents = new FakeAgents(agents);
  const events: TransitionEvent[] = [];
  const deps: ProcessDeps = {
    store,
    queue,
    agents: fakeAgents,
    settings,
    now: () => NOW,
    random: () => 0.5,
    onTransition: (e) => events.push(e),
  };
  return { store, queue, agents: fakeAgents, events, deps };
}

/** The messages of the queue's only sendAll, read back as the consumer would read them. */
function fannedOut(queue: InMemoryTierQueue): {
  messages: readonly QueueMessage[];
  envelopes: TaskEnvelope[];
} {
  const sends = queue.operations.filter((o) => o.op === 'sendAll');
  expect(sends).toHaveLength(1);
  const messages = sends[0]!.messages;
  return { messages, envelopes: messages.map((m) => JSON.parse(m.body) as TaskEnvelope) };
}

describe('Function: processDelivery, publish messages', () => {
  it('sends one delivery message per subscriber in one sendAll, runs no agent, and acks', async () => {
    // Prepare
    const { queue, agents, events, deps } = setup();

    // Act
    const outcome = await processDelivery(message(publish), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(queue.operations.map((o) => o.op)).toEqual(['sendAll']);
    const { messages, envelopes } = fannedOut(queue);
    const common = {
      schema_version: ENVELOPE_SCHEMA_VERSION,
      enqueue_id: 'enqueue-1',
      priority: 'low',
      payload: { doc: 'a.pdf' },
      created_at: publish.created_at,
      request_hash: 'hash',
      tenant_id: 'acme',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
    };
    expect(envelopes).toEqual([
      { ...common, task_id: SUMMARIZE_ID, type: 'summarize' },
      { ...common, task_id: INDEX_ID, type: 'index' },
    ]);
    // Each keeps the tenant's message group, and is named by its own task id.
    expect(messages.map((m) => [m.groupId, m.attributes.task_id])).toEqual([
      ['acme', SUMMARIZE_ID],
      ['acme', INDEX_ID],
    ]);
    expect(agents.requests).toEqual([]);
    expect(events).toEqual([
      {
        task_id: PUBLISHED_ID,
        type: 'document.uploaded',
        priority: 'low',
        transition: 'fanned-out',
        detail: '2',
      },
    ]);
  });

  it('leaves the published record as the producer wrote it', async () => {
    // Prepare
    const { store, deps } = setup();

    // Act
    await processDelivery(message(publish), deps);

    // Assess
    expect(store.records.get(PUBLISHED_ID)).toEqual(publishedQueued);
    expect(store.records.size).toBe(1);
  });

  it("creates the published record from the envelope when the producer's write failed, then fans out", async () => {
    // Prepare
    const { store, queue, deps } = setup([]);

    // Act
    const outcome = await processDelivery(message(publish), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(store.records.get(PUBLISHED_ID)).toEqual(
      publishedRecord(publish, Date.parse(publish.created_at) / 1000 + 2 * settings.retentionSeconds),
    );
    expect(fannedOut(queue).envelopes).toHaveLength(2);
  });

  it('fans out again when its message comes back, the deliveries being duplicates their claims tell apart', async () => {
    // Prepare
    const { queue, deps } = setup();
    await processDelivery(message(publish), deps);

    // Act
    const outcome = await processDelivery(message(publish, 'receipt-2'), deps);

    // Assess
    expect(outcome).toBe('ack');
    const sends = queue.operations.filter((o) => o.op === 'sendAll');
    expect(sends).toHaveLength(2);
    expect(sends[1]).toEqual(sends[0]);
  });

  it('fans nothing out and acks when another enqueue owns the task id', async () => {
    // Prepare
    const { queue, events, deps } = setup([{ ...publishedQueued, enqueue_id: 'enqueue-other' }]);

    // Act
    const outcome = await processDelivery(message(publish), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(queue.operations).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ transition: 'skipped', detail: 'superseded' })]);
  });

  it('copies the message to the DLQ, with the record error, and fans nothing out when the published task failed', async () => {
    // Prepare: the sweep failed the published record after its message was dead-lettered; a redrive brings it back.
    const error = { code: 'MaxReceivesExceeded', message: 'dead-lettered' };
    const { queue, deps } = setup([{ ...publishedQueued, status: TaskStatus.FAILED, error }]);
    const delivery = message(publish);

    // Act
    const outcome = await processDelivery(delivery, deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(queue.operations).toEqual([
      { op: 'deadLetter', body: delivery.body, error, taskId: PUBLISHED_ID, groupId: 'acme' },
    ]);
  });

  it('rejects when the fan-out send fails, so that the message stays in the queue for another try', async () => {
    // Prepare
    const { queue, events, deps } = setup();
    queue.sendAll = async () => {
      throw new Error('SQS refused 1 of 2 messages');
    };

    // Act / Assess
    await expect(processDelivery(message(publish), deps)).rejects.toThrow('SQS refused');
    expect(events.map((e) => e.transition)).not.toContain('fanned-out');
  });

  it.each([
    ['subscribers that are not a list', { subscribers: 'summarize' }],
    ['a subscriber that is not a string', { subscribers: ['summarize', 7] }],
    ['a topic that is not a string', { topic: 1 }],
    ['a published task id that is not a string', { published_task_id: {} }],
  ])('dead-letters at once, as a poison message, an envelope with %s', async (_name, fields) => {
    // Prepare
    const { store, queue, deps } = setup([]);
    const body = JSON.stringify({ ...publish, ...fields });

    // Act
    const outcome = await processDelivery({ body, receiptHandle: 'r', receiveCount: 1 }, deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(queue.operations).toEqual([
      expect.objectContaining({
        op: 'deadLetter',
        body,
        error: expect.objectContaining({ code: 'MalformedMessage' }),
      }),
    ]);
    expect(store.records.size).toBe(0);
  });

  it('rejects when the published record cannot be written, and sends nothing', async () => {
    // Prepare
    const { store, queue, deps } = setup([]);
    store.create = async () => {
      throw new Error('throttled');
    };

    // Act / Assess
    await expect(processDelivery(message(publish), deps)).rejects.toThrow('throttled');
    expect(queue.operations).toEqual([]);
  });
});

describe('Function: processDelivery, delivery messages', () => {
  it('claims a delivery as a task of its own, whose record keeps its topic and published task id', async () => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const outcome = await processDelivery(message(deliveryEnvelope(publish, 'index')), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(store.records.get(INDEX_ID)).toMatchObject({
      task_id: INDEX_ID,
      type: 'index',
      priority: 'low',
      tenant_id: 'acme',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
      status: 'SUCCEEDED',
      attempts: 1,
      result: { ok: true },
    });
    // The published record is not the delivery's: it stays as it was.
    expect(store.records.get(PUBLISHED_ID)).toEqual(publishedQueued);
  });

  it('tells the agent the topic and the published task id, with the delivery its own task id', async () => {
    // Prepare
    const { agents, deps } = setup();

    // Act
    await processDelivery(message(deliveryEnvelope(publish, 'summarize')), deps);

    // Assess
    expect(agents.requests).toEqual([
      expect.objectContaining({
        task_id: SUMMARIZE_ID,
        type: 'summarize',
        payload: { doc: 'a.pdf' },
        tenant_id: 'acme',
        topic: 'document.uploaded',
        published_task_id: PUBLISHED_ID,
        attempt: 1,
      }),
    ]);
  });

  it('runs a duplicate delivery message once', async () => {
    // Prepare
    const { agents, deps } = setup();
    const envelope = deliveryEnvelope(publish, 'summarize');
    await processDelivery(message(envelope), deps);

    // Act
    const outcome = await processDelivery(message(envelope, 'receipt-2'), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(agents.requests).toHaveLength(1);
  });

  it('acks a delivery cancelled before its first claim without running it', async () => {
    // Prepare
    const cancelled: TaskRecord = {
      task_id: INDEX_ID,
      type: 'index',
      priority: 'low',
      status: TaskStatus.CANCELLED,
      attempts: 0,
      created_at: publish.created_at,
      updated_at: NOW.toISOString(),
      enqueue_id: 'enqueue-1',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
    };
    const { agents, deps } = setup([publishedQueued, cancelled]);

    // Act
    const outcome = await processDelivery(message(deliveryEnvelope(publish, 'index')), deps);

    // Assess
    expect(outcome).toBe('ack');
    expect(agents.requests).toEqual([]);
  });

  it("retries a failing subscriber's delivery alone: the other delivery's record and message are untouched", async () => {
    // Prepare
    const { store, queue, agents, deps } = setup([publishedQueued], { summarize: success, index: transient });
    await processDelivery(message(deliveryEnvelope(publish, 'summarize'), 'receipt-summarize'), deps);
    const summarized = store.records.get(SUMMARIZE_ID);

    // Act
    const outcome = await processDelivery(message(deliveryEnvelope(publish, 'index'), 'receipt-index'), deps);

    // Assess: its message stays in the queue, delayed for its backoff
    expect(outcome).toBe('retry');
    expect(store.records.get(INDEX_ID)).toMatchObject({ status: 'RETRYING', attempts: 1 });
    expect(store.records.get(SUMMARIZE_ID)).toBe(summarized);
    expect(summarized).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(agents.requests.map((r) => r.type)).toEqual(['summarize', 'index']);
    // Only the failing delivery's message is delayed for its backoff.
    expect(queue.operations).toEqual([
      expect.objectContaining({ op: 'changeVisibility', receiptHandle: 'receipt-index' }),
    ]);
  });
});
