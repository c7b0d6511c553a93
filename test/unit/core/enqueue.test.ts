import { type EnqueueDeps, enqueueTask } from '../../../lambda/core/enqueue';
import type { HttpError } from '../../../lambda/core/errors';
import { requestHash, taskIdForKey } from '../../../lambda/core/idempotency';
import { parseExactJson, toSqsJson } from '../../../lambda/core/json-text';
import {
  envelopeMessage,
  LARGEST_INLINE_BODY_BYTES,
  MAX_ENVELOPE_BODY_BYTES,
  messageBytes,
} from '../../../lambda/core/queue-message';
import { DEFAULT_LIMITS, parseSubmission, type Submission } from '../../../lambda/core/submission';
import {
  ENVELOPE_SCHEMA_VERSION,
  OBJECT_PAYLOAD_SCHEMA_VERSION,
  type TaskRecord,
} from '../../../lambda/core/task';
import { deliveryEnvelopes, deliveryTaskId, publishedRecord } from '../../../lambda/core/topics';
import { InMemoryTaskSender, InMemoryTaskStore } from '../support/in-memory';

const NOW = new Date('2026-01-01T00:00:00.000Z');
/** The n-th id the injected generator hands out. */
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const submission: Submission = {
  type: 'echo',
  payload: { text: 'hi' },
  priority: 'high',
  delaySeconds: 30,
};

function setup(store = new InMemoryTaskStore()) {
  const sender = new InMemoryTaskSender();
  let issued = 0;
  const deps: EnqueueDeps = {
    store,
    sender,
    isRegistered: (type) => type === 'echo',
    now: () => NOW,
    newId: () => id(++issued),
  };
  return { store, sender, deps };
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: HttpError) => error,
  );
}

describe('Function: enqueueTask', () => {
  it('sends the envelope to the tier with its delay, records the task QUEUED, and reports it created', async () => {
    // Prepare
    const { store, sender, deps } = setup();

    // Act
    const result = await enqueueTask(submission, deps);

    // Assess
    expect(result).toEqual({
      outcome: 'created',
      task: {
        task_id: id(1),
        type: 'echo',
        priority: 'high',
        status: 'QUEUED',
        attempts: 0,
        created_at: NOW.toISOString(),
        updated_at: NOW.toISOString(),
      },
    });
    expect(sender.sent).toEqual([
      {
        priority: 'high',
        delaySeconds: 30,
        envelope: {
          schema_version: ENVELOPE_SCHEMA_VERSION,
          task_id: id(1),
          enqueue_id: id(2),
          type: 'echo',
          priority: 'high',
          payload: { text: 'hi' },
          created_at: NOW.toISOString(),
          request_hash: requestHash(submission),
        },
      },
    ]);
    expect(store.records.get(id(1))).toMatchObject({
      status: 'QUEUED',
      enqueue_id: id(2),
      request_hash: requestHash(submission),
    });
  });

  it('puts the tenant_id in the envelope and the record, and sends it as the message group', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    const tenanted: Submission = { ...submission, tenantId: 'acme' };

    // Act
    const result = await enqueueTask(tenanted, deps);

    // Assess
    expect(result.task.tenant_id).toBe('acme');
    expect(sender.sent).toEqual([
      expect.objectContaining({
        groupId: 'acme',
        envelope: expect.objectContaining({ tenant_id: 'acme', request_hash: requestHash(tenanted) }),
      }),
    ]);
    expect(store.records.get(id(1))?.tenant_id).toBe('acme');
  });

  it('sends a task without a tenant with neither tenant_id nor a message group', async () => {
    // Prepare
    const { store, sender, deps } = setup();

    // Act
    await enqueueTask(submission, deps);

    // Assess
    expect(sender.sent[0]).not.toHaveProperty('groupId');
    expect(sender.sent[0]!.envelope).not.toHaveProperty('tenant_id');
    expect(store.records.get(id(1))).not.toHaveProperty('tenant_id');
  });

  it('derives the task id from the idempotency key', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const result = await enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps);

    // Assess
    expect(result.task.task_id).toBe(taskIdForKey('order-42'));
  });

  it('replays the original task and sends nothing when the same key comes with the same body', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    const keyed = { ...submission, idempotencyKey: 'order-42' };
    const first = await enqueueTask(keyed, deps);

    // Act
    const second = await enqueueTask({ ...keyed, payload: { text: 'hi' } }, deps);

    // Assess
    expect(second).toEqual({ outcome: 'replayed', task: first.task });
    expect(sender.sent).toHaveLength(1);
    expect(store.records.size).toBe(1);
  });

  it('replays the task in its current status, not as it was first created', async () => {
    // Prepare
    const { store, deps } = setup();
    const keyed = { ...submission, idempotencyKey: 'order-42' };
    const first = await enqueueTask(keyed, deps);
    store.records.set(first.task.task_id, { ...store.records.get(first.task.task_id)!, status: 'SUCCEEDED' });

    // Act
    const replay = await enqueueTask(keyed, deps);

    // Assess
    expect(replay.task.status).toBe('SUCCEEDED');
  });

  it('throws 409 IdempotencyConflict and sends nothing when the same key comes with a different body', async () => {
    // Prepare
    const { sender, deps } = setup();
    await enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps);

    // Act
    const error = await rejection(
      enqueueTask({ ...submission, idempotencyKey: 'order-42', payload: { text: 'other' } }, deps),
    );

    // Assess
    expect(error.statusCode).toBe(409);
    expect(error.code).toBe('IdempotencyConflict');
    expect(sender.sent).toHaveLength(1);
  });

  it('throws 409 IdempotencyConflict and sends nothing when the same key comes with a different tenant', async () => {
    // Prepare
    const { sender, deps } = setup();
    await enqueueTask({ ...submission, idempotencyKey: 'order-42', tenantId: 'acme' }, deps);

    // Act
    const other = await rejection(
      enqueueTask({ ...submission, idempotencyKey: 'order-42', tenantId: 'globex' }, deps),
    );
    const none = await rejection(enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps));

    // Assess
    expect(other.statusCode).toBe(409);
    expect(other.code).toBe('IdempotencyConflict');
    expect(none.statusCode).toBe(409);
    expect(sender.sent).toHaveLength(1);
  });

  it('replays a task whose record a consumer created without a request hash', async () => {
    // Prepare
    const taskId = taskIdForKey('order-42');
    const { sender, deps } = setup(
      new InMemoryTaskStore([
        {
          task_id: taskId,
          type: 'echo',
          priority: 'high',
          status: 'RUNNING',
          attempts: 1,
          created_at: NOW.toISOString(),
          updated_at: NOW.toISOString(),
        },
      ]),
    );

    // Act
    const result = await enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps);

    // Assess
    expect(result.outcome).toBe('replayed');
    expect(sender.sent).toHaveLength(0);
  });

  it('throws 400 UnknownTaskType and touches neither queue nor table when the type is not registered', async () => {
    // Prepare
    const { store, sender, deps } = setup();

    // Act
    const error = await rejection(enqueueTask({ ...submission, type: 'nope', idempotencyKey: 'k' }, deps));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('UnknownTaskType');
    expect(error.details).toEqual([{ path: '/type', message: 'is not a registered task type or topic' }]);
    expect(sender.sent).toHaveLength(0);
    expect(store.records.size).toBe(0);
  });

  it('throws 503 and writes no record when the send fails, so a retry is safe', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    sender.failure = new Error('SQS is down');

    // Act
    const error = await rejection(enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps));

    // Assess
    expect(error.statusCode).toBe(503);
    expect(error.code).toBe('ServiceUnavailable');
    expect(error.cause).toBe(sender.failure);
    expect(store.records.size).toBe(0);
  });

  it('accepts a retry after a failed send as a new task', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    const keyed = { ...submission, idempotencyKey: 'order-42' };
    sender.failure = new Error('SQS is down');
    await rejection(enqueueTask(keyed, deps));
    sender.failure = undefined;

    // Act
    const result = await enqueueTask(keyed, deps);

    // Assess
    expect(result.outcome).toBe('created');
    expect(sender.sent).toHaveLength(1);
    expect(store.records.size).toBe(1);
  });

  it('throws 503 after sending the message when the record write fails', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    const cause = new Error('DynamoDB is down');
    jest.spyOn(store, 'create').mockRejectedValueOnce(cause);

    // Act
    const error = await rejection(enqueueTask(submission, deps));

    // Assess
    expect(error.statusCode).toBe(503);
    expect(error.cause).toBe(cause);
    expect(sender.sent).toHaveLength(1);
    expect(store.records.size).toBe(0);
  });

  it('throws 503 and sends nothing when the idempotency lookup fails', async () => {
    // Prepare
    const { store, sender, deps } = setup();
    jest.spyOn(store, 'get').mockRejectedValueOnce(new Error('DynamoDB is down'));

    // Act
    const error = await rejection(enqueueTask({ ...submission, idempotencyKey: 'k' }, deps));

    // Assess
    expect(error.statusCode).toBe(503);
    expect(sender.sent).toHaveLength(0);
  });

  it('throws 400 UnknownTaskType, not 503, when the lookup fails for a type that is not registered', async () => {
    // Prepare: bad input never gets a 5xx, even while the table is down.
    const { store, deps } = setup();
    jest.spyOn(store, 'get').mockRejectedValueOnce(new Error('DynamoDB is down'));

    // Act
    const error = await rejection(enqueueTask({ ...submission, type: 'nope', idempotencyKey: 'k' }, deps));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('UnknownTaskType');
  });

  it('replays the winner when a concurrent request with the same key wrote the record first', async () => {
    // Prepare: the winner's record appears between our lookup and our write
    const { store, sender, deps } = setup();
    const keyed = { ...submission, idempotencyKey: 'order-42' };
    const taskId = taskIdForKey('order-42');
    const winner: TaskRecord = {
      task_id: taskId,
      type: 'echo',
      priority: 'high',
      status: 'QUEUED',
      attempts: 0,
      created_at: '2025-12-31T23:59:59.000Z',
      updated_at: '2025-12-31T23:59:59.000Z',
      request_hash: requestHash(keyed),
      enqueue_id: 'winner-enqueue',
    };
    jest.spyOn(store, 'get').mockImplementationOnce(async () => {
      store.records.set(taskId, winner);
      return undefined;
    });

    // Act
    const result = await enqueueTask(keyed, deps);

    // Assess: our message was sent but carries a losing enqueue_id, so consumers skip it
    expect(result).toEqual({
      outcome: 'replayed',
      task: expect.objectContaining({ created_at: winner.created_at }),
    });
    expect(store.records.get(taskId)).toBe(winner);
    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]!.envelope.enqueue_id).not.toBe(winner.enqueue_id);
  });

  it('reports a task created, not replayed, when a consumer claimed its message before the record write', async () => {
    // Prepare: the consumer creates the record from our own envelope between our send and our write
    const { store, sender, deps } = setup();
    const send = sender.send.bind(sender);
    jest.spyOn(sender, 'send').mockImplementationOnce(async (priority, message, delaySeconds) => {
      await send(priority, message, delaySeconds);
      await store.claim(sender.sent.at(-1)!.envelope, NOW, 60);
    });

    // Act
    const result = await enqueueTask(submission, deps);

    // Assess
    expect(result).toEqual({ outcome: 'created', task: expect.objectContaining({ status: 'QUEUED' }) });
    expect(store.records.get(result.task.task_id)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });

  it('throws 409 when a concurrent request with the same key but another body won', async () => {
    // Prepare
    const { store, deps } = setup();
    const taskId = taskIdForKey('order-42');
    jest.spyOn(store, 'get').mockImplementationOnce(async () => {
      store.records.set(taskId, {
        task_id: taskId,
        type: 'echo',
        priority: 'low',
        status: 'QUEUED',
        attempts: 0,
        created_at: NOW.toISOString(),
        updated_at: NOW.toISOString(),
        request_hash: 'another-body',
        enqueue_id: 'winner-enqueue',
      });
      return undefined;
    });

    // Act
    const error = await rejection(enqueueTask({ ...submission, idempotencyKey: 'order-42' }, deps));

    // Assess
    expect(error.statusCode).toBe(409);
    expect(error.code).toBe('IdempotencyConflict');
  });

  it('gives every task without a key its own id', async () => {
    // Prepare
    const { sender, deps } = setup();

    // Act
    const a = await enqueueTask(submission, deps);
    const b = await enqueueTask(submission, deps);

    // Assess
    expect(a.outcome).toBe('created');
    expect(b.outcome).toBe('created');
    expect(b.task.task_id).not.toBe(a.task.task_id);
    expect(sender.sent).toHaveLength(2);
  });
});

describe('Function: enqueueTask, exact payloads', () => {
  const exact = (payload: string, idempotencyKey = 'k'): Submission => ({
    type: 'echo',
    payload: parseExactJson(payload) as Record<string, unknown>,
    priority: 'low',
    delaySeconds: 0,
    idempotencyKey,
  });

  it('replays (200) a client that re-serialises the same value on retry', async () => {
    // Prepare
    const { deps } = setup();
    await enqueueTask(exact('{"n":9007199254740993,"f":1.50,"big":1e400}'), deps);

    // Act
    const result = await enqueueTask(exact('{ "big": 1E400, "f": 1.5, "n": 9007199254740993.0 }'), deps);

    // Assess
    expect(result.outcome).toBe('replayed');
  });

  it('throws 409 IdempotencyConflict for bodies that differ only past double precision', async () => {
    // Prepare
    const { deps } = setup();
    await enqueueTask(exact('{"n":9007199254740993}'), deps);

    // Act
    const error = await rejection(enqueueTask(exact('{"n":9007199254740992}'), deps));

    // Assess
    expect(error.statusCode).toBe(409);
    expect(error.code).toBe('IdempotencyConflict');
  });

  it('keeps the request hash of an ordinary body as it was before exact numbers, so in-flight keys still replay', () => {
    // Prepare: this hash was computed by the producer before exact numbers (JSON.parse and sorted keys).
    const stored = 'AEVe3vgzvVX0etCWb-qSIS-MWeY10c1KReSJcGjJW6g';
    const payload = '{"n":10,"id":9007199254740991,"f":1.5,"s":"é😀","big":1e21,"a":[0,-2,1e-7]}';

    // Act
    const hash = requestHash({ ...exact(payload), priority: 'high', delaySeconds: 30 });

    // Assess
    expect(hash).toBe(stored);
  });

  it('replays (200) an accepted task whose type was removed since', async () => {
    // Prepare
    const { store, deps } = setup();
    const created = await enqueueTask(exact('{"a":1}'), deps);

    // Act
    const result = await enqueueTask(exact('{"a":1}'), { ...deps, store, isRegistered: () => false });

    // Assess
    expect(result).toEqual({ outcome: 'replayed', task: created.task });
  });

  it('throws 413 PayloadTooLarge and sends nothing when the envelope, escapes included, would not fit in SQS', async () => {
    // Prepare: 200,000 U+FFFF are 600,000 bytes in the body and 1,200,000 once escaped for SQS.
    const { store, sender, deps } = setup();
    const payload = { x: '\uffff'.repeat(200_000) };

    // Act
    const error = await rejection(enqueueTask({ ...submission, payload }, deps));

    // Assess
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('PayloadTooLarge');
    expect(sender.sent).toHaveLength(0);
    expect(store.records.size).toBe(0);
  });

  it('accepts an envelope of exactly the largest size whose message and DLQ copy fit in SQS', async () => {
    // Prepare: measure the envelope of an empty string, then fill the string up to the limit.
    const probe = setup();
    await enqueueTask({ ...submission, payload: { x: '' } }, probe.deps);
    const overhead = Buffer.byteLength(toSqsJson(probe.sender.sent[0]!.envelope));
    const { sender, deps } = setup();
    const payload = { x: 'a'.repeat(MAX_ENVELOPE_BODY_BYTES - overhead) };

    // Act
    const result = await enqueueTask({ ...submission, payload }, deps);

    // Assess
    expect(result.outcome).toBe('created');
    const message = envelopeMessage(sender.sent[0]!.envelope);
    expect(Buffer.byteLength(message.body)).toBe(MAX_ENVELOPE_BODY_BYTES);
    expect(messageBytes(message)).toBeLessThanOrEqual(1_048_576);
    await expect(
      enqueueTask({ ...submission, payload: { x: `${payload.x}a` } }, setup().deps),
    ).rejects.toMatchObject({ statusCode: 413 });
  });

  it('accepts a body of LARGEST_INLINE_BODY_BYTES bytes whose envelope has every fixed field at its largest', async () => {
    // Prepare: the least JSON around the payload, in a body of exactly the largest maxBodyBytes
    const wrapper = '{"type":"echo","payload":{"x":""}}';
    const body = `${wrapper.slice(0, -3)}${'a'.repeat(LARGEST_INLINE_BODY_BYTES - Buffer.byteLength(wrapper))}"}}`;
    const limits = { ...DEFAULT_LIMITS, maxBodyBytes: LARGEST_INLINE_BODY_BYTES };
    const parsed = parseSubmission(
      { headers: { 'content-type': 'application/json' }, body, isBase64Encoded: false },
      limits,
    );
    const { sender, deps } = setup();

    // Act: the high tier, whose name is the longer
    const result = await enqueueTask({ ...parsed, priority: 'high' }, deps);

    // Assess
    expect(Buffer.byteLength(body)).toBe(LARGEST_INLINE_BODY_BYTES);
    expect(result.outcome).toBe('created');
    expect(Buffer.byteLength(envelopeMessage(sender.sent[0]!.envelope).body)).toBeLessThanOrEqual(
      MAX_ENVELOPE_BODY_BYTES,
    );
  });
});

describe('Function: enqueueTask, publishing to a topic', () => {
  const RETENTION_SECONDS = 600;
  const published: Submission = {
    type: 'document.uploaded',
    payload: { doc: 'a.pdf' },
    priority: 'low',
    delaySeconds: 0,
  };

  function publishSetup(store = new InMemoryTaskStore(), subscribers = ['echo', 'summarize']) {
    const { sender, deps } = setup(store);
    const publishing: EnqueueDeps = {
      ...deps,
      publish: { topics: { 'document.uploaded': subscribers }, retentionSeconds: RETENTION_SECONDS },
    };
    return { store, sender, deps: publishing };
  }

  it('sends ONE publish message listing the subscribers, to the tier of its priority', async () => {
    // Prepare
    const { sender, deps } = publishSetup();

    // Act
    await enqueueTask(published, deps);

    // Assess
    expect(sender.sent).toEqual([
      {
        priority: 'low',
        delaySeconds: 0,
        envelope: {
          schema_version: ENVELOPE_SCHEMA_VERSION,
          task_id: id(1),
          enqueue_id: id(2),
          type: 'document.uploaded',
          priority: 'low',
          payload: { doc: 'a.pdf' },
          created_at: NOW.toISOString(),
          request_hash: requestHash(published),
          subscribers: ['echo', 'summarize'],
        },
      },
    ]);
  });

  it('writes the published record, with its subscribers and topic, expiring twice the retention after its creation', async () => {
    // Prepare
    const { store, deps } = publishSetup();

    // Act
    await enqueueTask(published, deps);

    // Assess
    expect(store.records.get(id(1))).toEqual({
      task_id: id(1),
      type: 'document.uploaded',
      priority: 'low',
      status: 'QUEUED',
      attempts: 0,
      created_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
      request_hash: requestHash(published),
      enqueue_id: id(2),
      topic: 'document.uploaded',
      subscribers: ['echo', 'summarize'],
      expires_at: NOW.getTime() / 1000 + 2 * RETENTION_SECONDS,
    });
    expect(store.records.size).toBe(1);
  });

  it('answers created with every delivery QUEUED', async () => {
    // Prepare
    const { deps } = publishSetup();

    // Act
    const result = await enqueueTask(published, deps);

    // Assess
    expect(result.outcome).toBe('created');
    expect(result.task).toMatchObject({
      task_id: id(1),
      type: 'document.uploaded',
      topic: 'document.uploaded',
      status: 'QUEUED',
      attempts: 0,
      deliveries: {
        echo: { task_id: deliveryTaskId(id(1), 'echo'), status: 'QUEUED', attempts: 0 },
        summarize: { task_id: deliveryTaskId(id(1), 'summarize'), status: 'QUEUED', attempts: 0 },
      },
    });
  });

  it('accepts a topic that is not an agent type, and still refuses a type that is neither', async () => {
    // Prepare: isRegistered knows only 'echo'
    const { sender, deps } = publishSetup();

    // Act
    const error = await rejection(enqueueTask({ ...published, type: 'document.deleted' }, deps));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('UnknownTaskType');
    expect(error.message).toContain("no agent or topic is registered for task type 'document.deleted'");
    expect(sender.sent).toHaveLength(0);
  });

  it('throws 503, not 400, when the lookup of a keyed publish fails', async () => {
    // Prepare
    const store = new InMemoryTaskStore();
    store.get = async () => {
      throw new Error('down');
    };
    const { deps } = publishSetup(store);

    // Act
    const error = await rejection(enqueueTask({ ...published, idempotencyKey: 'k' }, deps));

    // Assess
    expect(error.statusCode).toBe(503);
  });

  describe('sizes: every delivery message fits where a task message would', () => {
    /** The body bytes of the publish message, and of its largest delivery message, for a payload `text`. */
    async function sizes(text: string, subscribers: string[]) {
      const { sender, deps } = publishSetup(undefined, subscribers);
      await enqueueTask({ ...published, payload: { text } }, deps);
      const envelope = sender.sent[0]!.envelope;
      return {
        publish: Buffer.byteLength(envelopeMessage(envelope).body),
        delivery: Math.max(
          ...deliveryEnvelopes(envelope).map((e) => Buffer.byteLength(envelopeMessage(e).body)),
        ),
      };
    }
    // A subscriber whose name is longer than the topic's: its delivery message is the larger one.
    const LONG = 'summarize-every-uploaded-document-in-three-sentences-or-fewer-xx';

    it('throws 413 PayloadTooLarge and sends nothing when a delivery message would exceed the largest envelope', async () => {
      // Prepare: the publish message is exactly MAX_ENVELOPE_BODY_BYTES; a delivery is larger.
      const small = await sizes('', ['echo', LONG]);
      expect(small.delivery).toBeGreaterThan(small.publish);
      const text = 'x'.repeat(MAX_ENVELOPE_BODY_BYTES - small.publish);
      const { store, sender, deps } = publishSetup(undefined, ['echo', LONG]);

      // Act
      const error = await rejection(enqueueTask({ ...published, payload: { text } }, deps));

      // Assess
      expect(error.statusCode).toBe(413);
      expect(error.code).toBe('PayloadTooLarge');
      expect(sender.sent).toHaveLength(0);
      expect(store.records.size).toBe(0);
    });

    it('accepts a task whose largest delivery message is exactly the largest envelope', async () => {
      // Prepare
      const small = await sizes('', ['echo', LONG]);
      const text = 'x'.repeat(MAX_ENVELOPE_BODY_BYTES - small.delivery);

      // Act
      const big = await sizes(text, ['echo', LONG]);

      // Assess
      expect(big.delivery).toBe(MAX_ENVELOPE_BODY_BYTES);
    });
  });

  describe('idempotency covers the publish as a whole', () => {
    const keyed = { ...published, idempotencyKey: 'upload-7' };

    it('replays with the derived view, read from the deliveries, and sends nothing', async () => {
      // Prepare
      const { store, sender, deps } = publishSetup();
      const first = await enqueueTask(keyed, deps);
      const taskId = first.task.task_id;
      const echoId = deliveryTaskId(taskId, 'echo');
      store.records.set(echoId, {
        task_id: echoId,
        type: 'echo',
        priority: 'low',
        status: 'SUCCEEDED',
        attempts: 1,
        created_at: NOW.toISOString(),
        updated_at: NOW.toISOString(),
        result: { ok: true },
        topic: 'document.uploaded',
        published_task_id: taskId,
      });

      // Act
      const replay = await enqueueTask(keyed, deps);

      // Assess
      expect(replay.outcome).toBe('replayed');
      expect(replay.task.task_id).toBe(taskId);
      expect(replay.task.status).toBe('QUEUED');
      expect(replay.task.deliveries).toEqual({
        echo: { task_id: echoId, status: 'SUCCEEDED', attempts: 1, result: { ok: true } },
        summarize: { task_id: deliveryTaskId(taskId, 'summarize'), status: 'QUEUED', attempts: 0 },
      });
      expect(sender.sent).toHaveLength(1);
      expect(store.records.size).toBe(2);
    });

    it('throws 409 IdempotencyConflict and sends nothing when the same key comes with another body', async () => {
      // Prepare
      const { sender, deps } = publishSetup();
      await enqueueTask(keyed, deps);

      // Act
      const error = await rejection(enqueueTask({ ...keyed, payload: { doc: 'b.pdf' } }, deps));

      // Assess
      expect(error.statusCode).toBe(409);
      expect(error.code).toBe('IdempotencyConflict');
      expect(sender.sent).toHaveLength(1);
    });

    it('answers created when the consumer fanned out its own message and wrote the record first', async () => {
      // Prepare: the consumer creates the published record from the envelope before the producer's write.
      const store = new InMemoryTaskStore();
      const { sender, deps } = publishSetup(store);
      const realSend = sender.send.bind(sender);
      sender.send = async (priority, message, delaySeconds) => {
        await realSend(priority, message, delaySeconds);
        const envelope = sender.sent[0]!.envelope;
        await store.create(publishedRecord(envelope, 1));
      };

      // Act
      const result = await enqueueTask(keyed, deps);

      // Assess
      expect(result.outcome).toBe('created');
      expect(result.task.deliveries).toBeDefined();
    });
  });
});

describe('Function: enqueueTask, a large payload', () => {
  /** A task bucket in memory, whose puts can be made to fail. */
  function bucket() {
    const objects = new Map<string, string>();
    return {
      objects,
      failure: undefined as Error | undefined,
      async put(key: string, text: string) {
        if (this.failure) throw this.failure;
        objects.set(key, text);
      },
    };
  }
  /** A body whose message would pass 7 billing chunks, with numbers a double would change. */
  const largeBody = `{"type":"echo","payload":{"n":9007199254740993,"big":1e400,"text":"${'é'.repeat(240_000)}"}}`;
  const large = () =>
    parseSubmission(
      { headers: { 'content-type': 'application/json' }, body: largeBody, isBase64Encoded: false },
      { ...DEFAULT_LIMITS, maxBodyBytes: 1e6 },
    );
  /** The payload's JSON text, as the body wrote it. */
  const payloadText = largeBody.slice(largeBody.indexOf('{"n"'), -1);

  it('puts it in the task bucket first, digit for digit, and sends a version-2 message that names the object', async () => {
    // Prepare
    const { sender, deps } = setup();
    const payloads = bucket();

    // Act
    const result = await enqueueTask(large(), { ...deps, payloads });

    // Assess
    const key = `payloads/${id(1)}/${id(2)}.json`;
    expect(result.outcome).toBe('created');
    expect([...payloads.objects.keys()]).toEqual([key]);
    expect(payloads.objects.get(key)).toBe(payloadText);
    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]!.envelope).toMatchObject({
      schema_version: OBJECT_PAYLOAD_SCHEMA_VERSION,
      task_id: id(1),
      payload: {},
      payload_object: key,
    });
  });

  it('answers 503 and sends nothing when the payload cannot be put', async () => {
    // Prepare
    const { sender, store, deps } = setup();
    const payloads = bucket();
    payloads.failure = new Error('S3 is down');

    // Act
    const error = await rejection(enqueueTask(large(), { ...deps, payloads }));

    // Assess
    expect(error.statusCode).toBe(503);
    expect(error.message).toMatch(/payload could not be stored\); nothing was accepted/);
    expect(sender.sent).toEqual([]);
    expect(await store.get(id(1))).toBeUndefined();
  });

  it("puts a published task's large payload once, and every delivery of its publish message names the object", async () => {
    // Prepare
    const { sender, deps } = setup();
    const payloads = bucket();
    const topics = { topics: { 'document.uploaded': ['echo', 'summarize'] }, retentionSeconds: 3600 };

    // Act
    await enqueueTask({ ...large(), type: 'document.uploaded' }, { ...deps, payloads, publish: topics });

    // Assess
    const key = `payloads/${id(1)}/${id(2)}.json`;
    expect([...payloads.objects.keys()]).toEqual([key]);
    const deliveries = deliveryEnvelopes(sender.sent[0]!.envelope);
    expect(deliveries.map((d) => [d.type, d.schema_version, d.payload, d.payload_object])).toEqual([
      ['echo', OBJECT_PAYLOAD_SCHEMA_VERSION, {}, key],
      ['summarize', OBJECT_PAYLOAD_SCHEMA_VERSION, {}, key],
    ]);
  });

  it('keeps a payload of a few KB in its message, and puts nothing', async () => {
    // Prepare
    const { sender, deps } = setup();
    const payloads = bucket();

    // Act
    await enqueueTask({ ...submission, payload: { text: 'x'.repeat(5000) } }, { ...deps, payloads });

    // Assess
    expect(payloads.objects.size).toBe(0);
    expect(sender.sent[0]!.envelope).toMatchObject({
      schema_version: ENVELOPE_SCHEMA_VERSION,
      payload: { text: 'x'.repeat(5000) },
    });
    expect(sender.sent[0]!.envelope.payload_object).toBeUndefined();
  });
});
