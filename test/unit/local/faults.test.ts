/**
 * Each fault of the chaos run, fed the requests the real code sends: the task store's writes go through the
 * real DynamoDB SDK and the real AWS call proxy to a stub emulator, so a change in the adapter that would switch
 * a fault off fails here.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoTaskStore } from '../../../lambda/adapters/dynamodb-task-store';
import { type AwsCall, type AwsProxy, startAwsProxy } from '../../../local/aws-proxy';
import {
  consumerWrite,
  FAULT_NAMES,
  FaultInjector,
  type FaultPlan,
  parseFaultPlan,
  seededRandom,
} from '../../../local/faults';
import * as fixtures from '../../support/fixtures';

const { TASK_ID } = fixtures;
const NOW = new Date('2026-01-01T00:00:00.000Z');
const CONSUMER = 'ConsumerFunction.1';
const PRODUCER = 'ProducerFunction.1';
const SWEEPER = 'SweeperFunction.1';
const CALLBACK = 'CallbackFunction.1';
const ROLES: Record<string, 'producer' | 'consumer' | 'other'> = {
  [CONSUMER]: 'consumer',
  [PRODUCER]: 'producer',
  [SWEEPER]: 'other',
  [CALLBACK]: 'other',
};

const envelope = fixtures.envelope();
const error = { code: 'AgentHttp503', message: 'unavailable' };

/** A stand-in for the emulators: answers each operation as they would, and records what reached it. */
/** A task id the stub emulator answers 400 for, as DynamoDB answers a write whose condition failed. */
const REFUSED_TASK_ID = 'refused';

async function startStubEmulator(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.lastIndexOf('.') + 1);
      seen.push(operation);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        MessageBody?: string;
        Key?: { task_id?: { S?: string } };
      };
      if (body.Key?.task_id?.S === REFUSED_TASK_ID) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException' }),
        );
        return;
      }
      const answer =
        operation === 'SendMessage'
          ? {
              MessageId: 'm1',
              MD5OfMessageBody: createHash('md5')
                .update(body.MessageBody ?? '')
                .digest('hex'),
            }
          : operation === 'UpdateItem'
            ? { Attributes: { attempts: { N: '1' } } }
            : {};
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Harness {
  readonly faults: FaultInjector;
  readonly killed: string[];
  /** Resolves with the app id of the next worker the injector kills. */
  nextKill(): Promise<string>;
  readonly emulator: { readonly seen: string[] };
  readonly proxy: AwsProxy;
  store(appId: string): DynamoTaskStore;
  sqs(appId: string): SQSClient;
}

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

async function harness(plan: FaultPlan): Promise<Harness> {
  const killed: string[] = [];
  let onKill: (appId: string) => void = () => {};
  const faults = new FaultInjector(plan, {
    killWorker: (appId) => {
      killed.push(appId);
      onKill(appId);
    },
    roleOf: (appId) => ROLES[appId] ?? 'other',
  });
  const emulator = await startStubEmulator();
  const proxy: AwsProxy = await startAwsProxy({
    targets: { sqs: emulator.url, dynamodb: emulator.url },
    interceptor: faults,
  });
  const clients: Array<{ destroy(): void }> = [];
  // The proxy first: a killed worker's call never gets an answer until the proxy drops its connection.
  stops.push(
    emulator.close,
    async () => {
      for (const client of clients) client.destroy();
    },
    proxy.close,
  );
  const config = (service: 'sqs' | 'dynamodb', appId: string) => ({
    region: 'us-east-1',
    endpoint: proxy.endpoint(service),
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // As the runtime does for each execution environment (AWS_SDK_UA_APP_ID).
    userAgentAppId: appId,
    maxAttempts: 1,
  });
  return {
    faults,
    killed,
    nextKill: () => new Promise((resolve) => (onKill = resolve)),
    emulator,
    proxy,
    store: (appId) => {
      const client = new DynamoDBClient(config('dynamodb', appId));
      clients.push(client);
      return new DynamoTaskStore(client, 'tasks');
    },
    sqs: (appId) => {
      const client = new SQSClient(config('sqs', appId));
      clients.push(client);
      return client;
    },
  };
}

/** Starts a call whose worker is about to be killed: it never answers, so only its start is awaited. */
const abandoned = (call: Promise<unknown>) => void call.catch(() => {});

const completions = {
  succeed: (store: DynamoTaskStore) => store.succeed(TASK_ID, 1, { ok: true }, NOW, 0),
  retry: (store: DynamoTaskStore) => store.retry(TASK_ID, 1, error, NOW, NOW.getTime() + 1_000),
  fail: (store: DynamoTaskStore) => store.fail(TASK_ID, 1, error, NOW, 0),
};

describe('Class: FaultInjector', () => {
  describe('sqsSendFailure', () => {
    it("answers the producer's SendMessage with an SQS InternalError", async () => {
      // Prepare
      const h = await harness({ sqsSendFailure: 1 });

      // Act
      const sent = h
        .sqs(PRODUCER)
        .send(new SendMessageCommand({ QueueUrl: 'http://q/000000000000/q', MessageBody: '{}' }));

      // Assess
      await expect(sent).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      expect(h.faults.injected().sqsSendFailure).toBe(1);
      expect(h.emulator.seen).toEqual([]);
    });

    it("leaves another function's SendMessage alone", async () => {
      const h = await harness({ sqsSendFailure: 1 });
      await h
        .sqs(CONSUMER)
        .send(new SendMessageCommand({ QueueUrl: 'http://q/000000000000/q', MessageBody: '{}' }));
      expect(h.faults.injected().sqsSendFailure).toBe(0);
    });
  });

  describe('dynamodbThrottle', () => {
    it('answers a DynamoDB call with ProvisionedThroughputExceededException', async () => {
      const h = await harness({ dynamodbThrottle: 1 });
      await expect(h.store(SWEEPER).get(TASK_ID)).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
      });
      expect(h.faults.injected()).toMatchObject({ dynamodbThrottle: 1, completionWritesThrottled: 0 });
    });

    it.each(Object.entries(completions))(
      'counts a throttled %s of the consumer as a completion write',
      async (_, write) => {
        const h = await harness({ dynamodbThrottle: 1 });
        await expect(write(h.store(CONSUMER))).rejects.toMatchObject({
          name: 'ProvisionedThroughputExceededException',
        });
        expect(h.faults.injected()).toMatchObject({ dynamodbThrottle: 1, completionWritesThrottled: 1 });
      },
    );
  });

  describe('dieBeforeAgent', () => {
    it("kills the consumer once its claim is written, before the claim's answer reaches it", async () => {
      // Prepare
      const h = await harness({ dieBeforeAgent: 1 });
      const kill = h.nextKill();

      // Act
      abandoned(h.store(CONSUMER).claim(envelope, NOW, 60));

      // Assess
      expect(await kill).toBe(CONSUMER);
      expect(h.emulator.seen).toEqual(['UpdateItem']);
      expect(h.faults.injected().dieBeforeAgent).toBe(1);
    });

    it("does not fire on a completion or on another function's write", async () => {
      const h = await harness({ dieBeforeAgent: 1 });
      await completions.succeed(h.store(CONSUMER));
      await h.store(SWEEPER).claim(envelope, NOW, 60);
      expect(h.killed).toEqual([]);
      expect(h.faults.injected().dieBeforeAgent).toBe(0);
    });
  });

  describe('dieAfterAgent', () => {
    it.each(Object.entries(completions))(
      'kills the consumer before its %s write reaches the table',
      async (_, write) => {
        const h = await harness({ dieAfterAgent: 1 });
        const kill = h.nextKill();
        abandoned(write(h.store(CONSUMER)));
        expect(await kill).toBe(CONSUMER);
        expect(h.emulator.seen).toEqual([]);
        expect(h.faults.injected().dieAfterAgent).toBe(1);
      },
    );

    it('does not fire on a claim', async () => {
      const h = await harness({ dieAfterAgent: 1 });
      await h.store(CONSUMER).claim(envelope, NOW, 60);
      expect(h.killed).toEqual([]);
    });
  });

  describe('dieAfterCompletion', () => {
    it.each(Object.entries(completions))(
      'kills the consumer once its %s write is in the table',
      async (_, write) => {
        const h = await harness({ dieAfterCompletion: 1 });
        const kill = h.nextKill();
        abandoned(write(h.store(CONSUMER)));
        expect(await kill).toBe(CONSUMER);
        expect(h.emulator.seen).toEqual(['UpdateItem']);
        expect(h.faults.injected().dieAfterCompletion).toBe(1);
      },
    );

    it("does not fire on the dead-letter sweep's abandon, which writes FAILED too", async () => {
      const h = await harness({ dieAfterCompletion: 1 });
      await h
        .store(SWEEPER)
        .abandon({ taskId: TASK_ID, enqueueId: 'e1' }, error, NOW, { redriveGraceSeconds: 60, expiresAt: 0 });
      expect(h.killed).toEqual([]);
    });
  });

  describe('interruptedAttempts', () => {
    it('counts a claim made while an earlier claim of the task recorded no outcome', async () => {
      const h = await harness({});
      const store = h.store(CONSUMER);
      await store.claim(envelope, NOW, 60);
      await store.claim(envelope, NOW, 60);
      expect(h.faults.interruptedAttempts()).toEqual(new Map([[TASK_ID, 1]]));
    });

    it('counts a claim after an AgentTimeout retry: the consumer stopped waiting, the agent may have answered', async () => {
      const h = await harness({});
      const store = h.store(CONSUMER);
      await store.claim(envelope, NOW, 60);
      await store.retry(TASK_ID, 1, { code: 'AgentTimeout', message: 'no answer by the deadline' }, NOW, 0);
      await store.claim(envelope, NOW, 60);
      expect(h.faults.interruptedAttempts()).toEqual(new Map([[TASK_ID, 1]]));
    });

    it("counts nothing when an async attempt's callback records its retry before the next claim", async () => {
      const h = await harness({});
      const consumer = h.store(CONSUMER);
      await consumer.claim(envelope, NOW, 60);
      await h
        .store(CALLBACK)
        .finishAsync(TASK_ID, 1, { status: 'RETRYING', error, retryAtMs: 0 }, NOW, 'held');
      await consumer.claim(envelope, NOW, 60);
      expect(h.faults.interruptedAttempts()).toEqual(new Map());
    });

    it('counts nothing when each claim is followed by its completion', async () => {
      const h = await harness({});
      const store = h.store(CONSUMER);
      await store.claim(envelope, NOW, 60);
      await completions.retry(store);
      await store.claim(envelope, NOW, 60);
      expect(h.faults.interruptedAttempts()).toEqual(new Map());
    });
  });

  describe('lostAttempts', () => {
    it('counts the async attempts the consumer and the sweep record as lost, and no other ending', async () => {
      const h = await harness({});
      const lost = (code: string) => ({ code, message: 'lost' });
      await h
        .store(CONSUMER)
        .finishAsync(
          TASK_ID,
          1,
          { status: 'RETRYING', error: lost('HeartbeatTimeout'), retryAtMs: 0 },
          NOW,
          'expired',
        );
      await h
        .store(SWEEPER)
        .finishAsync(
          TASK_ID,
          2,
          { status: 'FAILED', error: lost('AgentRunTimeExceeded'), expiresAt: 0 },
          NOW,
          'expired',
        );
      await h
        .store(CALLBACK)
        .finishAsync('other-task', 1, { status: 'RETRYING', error, retryAtMs: 0 }, NOW, 'held');
      await completions.retry(h.store(CONSUMER));
      expect(h.faults.lostAttempts()).toEqual(new Map([[TASK_ID, 2]]));
    });
  });

  describe('deaths', () => {
    it('names the task at whose claim or completion write a death was injected', async () => {
      // Prepare
      const h = await harness({ dieBeforeAgent: 1, dieAfterAgent: 1 });
      const claimKill = h.nextKill();
      abandoned(h.store(CONSUMER).claim(envelope, NOW, 60));
      await claimKill;
      const completionKill = h.nextKill();

      // Act
      abandoned(completions.succeed(h.store(CONSUMER)));
      await completionKill;

      // Assess
      expect(h.faults.deaths()).toEqual(new Map([[TASK_ID, 2]]));
    });
  });

  describe('waits', () => {
    it("counts a consumer's wait write by the reason it records on the task", async () => {
      // Prepare
      const h = await harness({});
      const since = NOW.toISOString();

      // Act
      await h.store(CONSUMER).wait(TASK_ID, 'QUEUED', 'e1', { reason: 'TenantConcurrencyLimit', since }, NOW);
      await h.store(CONSUMER).wait(TASK_ID, 'RETRYING', 'e1', { reason: 'AgentRateLimit', since }, NOW);
      await h.store(CONSUMER).claim(envelope, NOW, 60);

      // Assess
      expect(h.faults.waits()).toEqual({
        AgentConcurrencyLimit: 0,
        AgentRateLimit: 1,
        TenantConcurrencyLimit: 1,
      });
    });
  });

  describe('agentTimeout and slowAgent', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    /** Whether the agent's answer is still held back after `ms`. */
    async function heldAfter(plan: FaultPlan, ms: number): Promise<{ held: boolean; faults: FaultInjector }> {
      const faults = new FaultInjector(plan, { killWorker: () => {}, roleOf: () => 'other' });
      let done = false;
      void faults.agentDelay(3).then(() => (done = true));
      await jest.advanceTimersByTimeAsync(ms);
      return { held: !done, faults };
    }

    it("holds the agent's answer past the agent's timeout", async () => {
      const { held, faults } = await heldAfter({ agentTimeout: 1 }, 3_000);
      expect(held).toBe(true);
      expect(faults.injected().agentTimeout).toBe(1);
    });

    it("delays the agent's answer by slowAgentMs", async () => {
      const { held, faults } = await heldAfter({ slowAgent: 1, slowAgentMs: 200 }, 199);
      expect(held).toBe(true);
      expect(faults.injected().slowAgent).toBe(1);
    });

    it('answers at once without a fault', async () => {
      expect((await heldAfter({}, 0)).held).toBe(false);
    });
  });

  describe('duplicateDelivery', () => {
    it('is rolled and counted per message', () => {
      const faults = new FaultInjector(
        { duplicateDelivery: 1 },
        { killWorker: () => {}, roleOf: () => 'other' },
      );
      expect([faults.roll('duplicateDelivery'), faults.roll('duplicateDelivery')]).toEqual([true, true]);
      expect(faults.injected().duplicateDelivery).toBe(2);
    });
  });

  it('injects nothing at a rate of 0', () => {
    const faults = new FaultInjector({}, { killWorker: () => {}, roleOf: () => 'other' });
    expect(FAULT_NAMES.map((f) => faults.roll(f))).toEqual(FAULT_NAMES.map(() => false));
  });
});

describe('Function: consumerWrite', () => {
  /** The wire body of a store write, captured from the proxy. */
  async function captured(write: (store: DynamoTaskStore) => Promise<unknown>): Promise<AwsCall> {
    const calls: AwsCall[] = [];
    const emulator = await startStubEmulator();
    const proxy = await startAwsProxy({
      targets: { sqs: emulator.url, dynamodb: emulator.url },
      interceptor: { before: (call) => void calls.push(call) },
    });
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint('dynamodb'),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    stops.push(emulator.close, async () => client.destroy(), proxy.close);
    await write(new DynamoTaskStore(client, 'tasks'));
    return calls[0]!;
  }

  /** The same request with every placeholder renamed: what a store that names its placeholders otherwise sends. */
  function renamed(call: AwsCall): AwsCall {
    const text = call.body
      .toString('utf8')
      .replace(/([:#])([A-Za-z][A-Za-z0-9_]*)/g, (_, sigil: string, name: string) => `${sigil}p_${name}`);
    return { ...call, body: Buffer.from(text) };
  }

  type Write = (store: DynamoTaskStore) => Promise<unknown>;
  const consumerWrites: Array<[string, Write]> = [
    ['claim', (s) => s.claim(envelope, NOW, 60)],
    ...Object.entries(completions),
  ];
  it.each(consumerWrites)('recognises a %s, whatever its placeholders are called', async (name, write) => {
    const call = await captured(write);
    const kind = name === 'claim' ? 'claim' : 'completion';
    // A retry or a fail also carries the error it records (an AgentTimeout leaves the attempt open).
    const expected = {
      kind,
      taskId: TASK_ID,
      ...((name === 'retry' || name === 'fail') && { errorCode: error.code }),
    };
    expect(consumerWrite(call)).toEqual(expected);
    expect(consumerWrite(renamed(call))).toEqual(expected);
  });

  it.each([
    ['cancel', (s: DynamoTaskStore) => s.cancel(TASK_ID, NOW, 0)],
    ['requeue', (s: DynamoTaskStore) => s.requeue(TASK_ID, NOW)],
    ['get', (s: DynamoTaskStore) => s.get(TASK_ID)],
  ])('does not take a %s for a consumer write', async (_, write) => {
    expect(consumerWrite(await captured(write))).toBeUndefined();
  });
});

describe('Function: parseFaultPlan', () => {
  it('reads rates, all=, seed and slowAgentMs', () => {
    expect(parseFaultPlan('all=0.1, dieAfterAgent=0.5,seed=3,slowAgentMs=50')).toMatchObject({
      sqsSendFailure: 0.1,
      dieAfterAgent: 0.5,
      seed: 3,
      slowAgentMs: 50,
    });
  });

  it('throws on an unknown fault or a negative rate', () => {
    expect(() => parseFaultPlan('dieSometimes=0.1')).toThrow("unknown fault 'dieSometimes'");
    expect(() => parseFaultPlan('slowAgent=-1')).toThrow('the value must be a number ≥ 0');
  });
});

describe('Function: seededRandom', () => {
  it('repeats its sequence for a seed, within [0, 1)', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('Function: startAwsProxy', () => {
  it('counts calls by operation and by the function that made them, and forgets both on reset', async () => {
    // Prepare
    const { proxy, store, sqs } = await harness({});
    const send = new SendMessageCommand({ QueueUrl: 'http://127.0.0.1/000000000000/q', MessageBody: '{}' });

    // Act
    await store(CONSUMER).get(TASK_ID);
    await store(PRODUCER).get(TASK_ID);
    await sqs(PRODUCER).send(send);

    // Assess
    expect(proxy.counts()).toEqual({ 'dynamodb:GetItem': 2, 'sqs:SendMessage': 1 });
    expect(proxy.countsByFunction()).toEqual({
      ConsumerFunction: { 'dynamodb:GetItem': 1 },
      ProducerFunction: { 'dynamodb:GetItem': 1, 'sqs:SendMessage': 1 },
    });
    proxy.resetCounts();
    expect([proxy.counts(), proxy.countsByFunction()]).toEqual([{}, {}]);
  });

  it("counts the messages of each function's SendMessageBatch calls, and forgets them on reset", async () => {
    // Prepare
    const { proxy, sqs } = await harness({});
    const batch = (n: number) =>
      new SendMessageBatchCommand({
        QueueUrl: 'http://127.0.0.1/000000000000/q',
        Entries: Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: '{}', DelaySeconds: 3 })),
      });

    // Act: what the stub answers does not matter, the proxy counts the request
    await sqs(CONSUMER)
      .send(batch(3))
      .catch(() => {});
    await sqs(CONSUMER)
      .send(batch(2))
      .catch(() => {});
    await sqs(PRODUCER).send(
      new SendMessageCommand({ QueueUrl: 'http://127.0.0.1/000000000000/q', MessageBody: '{}' }),
    );

    // Assess
    expect(proxy.batchEntriesByFunction()).toEqual({ ConsumerFunction: 5 });
    expect(proxy.countsByFunction().ConsumerFunction).toEqual({ 'sqs:SendMessageBatch': 2 });
    proxy.resetCounts();
    expect(proxy.batchEntriesByFunction()).toEqual({});
  });

  it('counts DynamoDB calls by the table they name, and those answered 400 again, and forgets them on reset', async () => {
    // Prepare
    const { proxy, store, sqs } = await harness({});
    const send = new SendMessageCommand({ QueueUrl: 'http://127.0.0.1/000000000000/q', MessageBody: '{}' });

    // Act
    await store(CONSUMER).get(TASK_ID);
    await expect(store(PRODUCER).get(REFUSED_TASK_ID)).rejects.toThrow();
    await sqs(PRODUCER).send(send);

    // Assess: the SQS call is not a table's
    expect(proxy.countsByTable()).toEqual({ tasks: { GetItem: 2, 'GetItem:400': 1 } });
    proxy.resetCounts();
    expect(proxy.countsByTable()).toEqual({});
  });
});

describe('snsPublishFailure', () => {
  /** The real SNS client through the proxy, to a stub SNS that publishes everything. */
  async function snsHarness(plan: FaultPlan) {
    const upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const action = new URLSearchParams(Buffer.concat(chunks).toString()).get('Action');
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          action === 'Publish'
            ? '<PublishResponse><PublishResult><MessageId>m1</MessageId></PublishResult></PublishResponse>'
            : '<PublishBatchResponse><PublishBatchResult><Successful><member><Id>a</Id><MessageId>m1</MessageId></member>' +
                '<member><Id>b</Id><MessageId>m2</MessageId></member></Successful><Failed/></PublishBatchResult></PublishBatchResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const faults = new FaultInjector(plan, { killWorker: () => {}, roleOf: () => 'other' });
    const proxy = await startAwsProxy({
      targets: { sns: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` },
      interceptor: faults,
    });
    const sns = new SNSClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint('sns'),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const close = async () => {
      sns.destroy();
      await proxy.close();
      await new Promise((resolve) => upstream.close(resolve));
    };
    return { sns, faults, close };
  }
  const topic = 'arn:aws:sns:us-east-1:000000000000:events';
  const batch = new PublishBatchCommand({
    TopicArn: topic,
    PublishBatchRequestEntries: [
      { Id: 'a', Message: '{}' },
      { Id: 'b', Message: '{}' },
    ],
  });

  it('fails a Publish with an InternalError and every entry of a PublishBatch, and counts each call', async () => {
    const { sns, faults, close } = await snsHarness({ snsPublishFailure: 1 });
    try {
      await expect(sns.send(new PublishCommand({ TopicArn: topic, Message: '{}' }))).rejects.toMatchObject({
        name: 'InternalErrorException', // SNS's modelled name for the query code InternalError
      });
      const out = await sns.send(batch);
      expect(out.Successful ?? []).toEqual([]);
      expect(out.Failed).toEqual([
        expect.objectContaining({ Id: 'a', Code: 'InternalError', SenderFault: false }),
        expect.objectContaining({ Id: 'b', Code: 'InternalError', SenderFault: false }),
      ]);
      expect(faults.injected().snsPublishFailure).toBe(2);
    } finally {
      await close();
    }
  });

  it('forwards publishes to SNS at a rate of 0', async () => {
    const { sns, close } = await snsHarness({});
    try {
      expect((await sns.send(new PublishCommand({ TopicArn: topic, Message: '{}' }))).MessageId).toBe('m1');
      expect((await sns.send(batch)).Successful).toHaveLength(2);
    } finally {
      await close();
    }
  });
});
