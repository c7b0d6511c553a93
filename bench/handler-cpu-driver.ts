/**
 * The child process of figure 9 (bench/handler-cpu.ts). Bundled by esbuild with the functions' options and run by
 * the Node under test with the functions' NODE_OPTIONS, it calls one handler in-process with realistic events, and
 * beside it the raw path: the very SDK commands and agent requests that handler sent, replayed with nothing around
 * them. It reports the CPU time (process.cpuUsage: user + system, all threads) and wall time of each.
 *
 * The raw path's requests are not written by hand: one handler invocation is recorded (an SDK middleware on the
 * handler's own clients, and a wrapper of `fetch`), and each raw invocation replays those requests with the ids of a
 * task of its own (task_id and enqueue_id of a task the producer created; any other UUID, the claim's, fresh). They
 * are built before the clock starts, so the raw path costs the SDK calls and the agent calls and nothing else.
 *
 * Handler and raw invocations alternate in blocks, so that drift in the machine's speed hits both alike. The handler's
 * log lines go to stdout, which the parent reads and counts; results go to the file the config names.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoClient, sqsClient } from '../lambda/adapters/clients';

export interface DriverConfig {
  readonly role: 'producer' | 'consumer';
  /** Consumer: records per SQS event. */
  readonly batchSize: number;
  /** Unmeasured invocations of each path before the measurement. */
  readonly warmup: number;
  /** Measured invocations of each path, one at a time. */
  readonly sequential: number;
  /** Measured invocations of each path at `concurrency`. */
  readonly concurrent: number;
  readonly concurrency: number;
  /** Invocations of one path before the other path's turn. */
  readonly block: number;
  /** The producer's request body, `{"type":"echo","payload":…}`. */
  readonly body: string;
  /** Where to write the DriverResult. */
  readonly out: string;
  /**
   * After the measurement, profile `invocations` more invocations of the handler, then as many of the raw path (one
   * at a time), and write their V8 CPU profiles to `<prefix>-handler.cpuprofile` and `<prefix>-raw.cpuprofile`.
   */
  readonly profile?: { readonly prefix: string; readonly invocations: number };
}

export interface PathFigure {
  readonly invocations: number;
  /** CPU ms (user + system) per invocation: the median over blocks of invocations. */
  readonly cpuMsPerInvocation: number;
  /** The same, as total CPU ÷ invocations. */
  readonly meanCpuMsPerInvocation: number;
  /** Wall ms per invocation (sequential: each one's own; concurrent: elapsed ÷ invocations). */
  readonly wallMsPerInvocation: number;
  readonly invocationsPerSecond: number;
}

export interface DriverResult {
  readonly node: string;
  readonly role: DriverConfig['role'];
  readonly batchSize: number;
  /** `cpuRatio`: handler ÷ raw, the median over pairs of neighbouring blocks. */
  readonly sequential: { readonly handler: PathFigure; readonly raw: PathFigure; readonly cpuRatio: number };
  readonly concurrent: {
    readonly handler: PathFigure;
    readonly raw: PathFigure;
    readonly cpuRatio: number;
    readonly concurrency: number;
  };
  /** The requests one handler invocation sent (and the raw path replays). */
  readonly requests: string[];
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** One request of a recorded invocation: an SDK command on one of the handler's clients, or an agent call. */
type Recorded =
  | {
      readonly kind: 'sdk';
      readonly client: 'sqs' | 'dynamodb';
      readonly command: string;
      readonly input: unknown;
    }
  | {
      readonly kind: 'fetch';
      readonly url: string;
      readonly method: string;
      readonly headers: Record<string, string>;
      readonly body: string;
    };

/** The commands a replay may send; a recorded command outside this list stops the run (the raw path must be whole). */
const COMMANDS: Record<string, new (input: never) => unknown> = {
  SendMessageCommand,
  SendMessageBatchCommand,
  ChangeMessageVisibilityCommand,
  PutItemCommand,
  UpdateItemCommand,
  GetItemCommand,
  DeleteItemCommand,
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const REGION = process.env.AWS_REGION ?? 'us-east-1';

/** A Lambda context as the Node runtime passes it. */
function lambdaContext(): Context {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** API Gateway HTTP API (payload 2.0) event of POST /tasks, as the producer receives it (built before it is timed). */
function httpEvent(body: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  const requestId = randomUUID().slice(0, 18);
  return {
    version: '2.0',
    routeKey: 'POST /tasks',
    rawPath: '/tasks',
    rawQueryString: '',
    headers: {
      accept: 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'content-type': 'application/json',
      host: 'abc123def4.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'taskq-bench/1.0',
      'x-amzn-trace-id': `Root=1-${Math.floor(now / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      'x-forwarded-for': '203.0.113.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123def4',
      domainName: 'abc123def4.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123def4',
      http: {
        method: 'POST',
        path: '/tasks',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'taskq-bench/1.0',
      },
      requestId,
      routeKey: 'POST /tasks',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}

/** An SQS event record as Lambda's event source mapping builds it from a received message. */
function sqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          stringValue: value.StringValue,
          stringListValues: [],
          binaryListValues: [],
          dataType: value.DataType ?? 'String',
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

/** Records what the handler's clients and `fetch` send while `run` runs. */
async function record(run: () => Promise<void>): Promise<Recorded[]> {
  const calls: Recorded[] = [];
  const clients = { sqs: sqsClient(), dynamodb: dynamoClient() } as const;
  for (const [name, client] of Object.entries(clients) as Array<['sqs' | 'dynamodb', typeof clients.sqs]>) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push({
          kind: 'sdk',
          client: name,
          command: String(context.commandName),
          input: structuredClone(args.input),
        });
        return next(args);
      },
      { step: 'initialize', name: 'benchRecord' },
    );
  }
  const original = globalThis.fetch;
  globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({
      kind: 'fetch',
      url: String(url),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: String(init?.body ?? ''),
    });
    return original(url, init);
  }) as typeof fetch;
  try {
    await run();
  } finally {
    globalThis.fetch = original;
    clients.sqs.middlewareStack.remove('benchRecord');
    clients.dynamodb.middlewareStack.remove('benchRecord');
  }
  return calls;
}

const describe = (r: Recorded) =>
  r.kind === 'sdk' ? `${r.client} ${r.command}` : `agent ${r.method} ${r.url}`;

/** A replay of recorded requests with other ids: every UUID in them mapped through `ids`, or to a fresh one. */
function rewrite(calls: readonly Recorded[], ids: ReadonlyMap<string, string>): Recorded[] {
  const fresh = new Map<string, string>();
  const text = JSON.stringify(calls).replace(UUID, (id) => {
    const mapped = ids.get(id) ?? fresh.get(id);
    if (mapped) return mapped;
    const other = randomUUID();
    fresh.set(id, other);
    return other;
  });
  return JSON.parse(text) as Recorded[];
}

/** Sends prepared requests in order, as the handler's adapters did: the raw path of one task. */
async function replay(calls: readonly Recorded[], commands: ReadonlyArray<unknown>): Promise<void> {
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    if (call.kind === 'sdk') {
      const client = call.client === 'sqs' ? sqsClient() : dynamoClient();
      await (client.send as (c: unknown) => Promise<unknown>)(commands[i]);
    } else {
      const response = await fetch(call.url, { method: call.method, headers: call.headers, body: call.body });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the agent answered ${response.status}`);
    }
  }
}

/** The SDK command objects of a replay are built when it runs, as the handler builds its own; only inputs are ready. */
function commandsOf(calls: readonly Recorded[]): () => unknown[] {
  return () =>
    calls.map((call) => {
      if (call.kind !== 'sdk') return undefined;
      const Command = COMMANDS[call.command];
      if (!Command) throw new Error(`the raw path cannot replay ${call.command}`);
      return new Command(call.input as never);
    });
}

interface Side {
  /** Runs invocation `i` of this side. */
  readonly invoke: (i: number) => Promise<void>;
}

interface Tally {
  cpuUs: number;
  wallMs: number;
  count: number;
  /** CPU µs per invocation of each block. */
  blocks: number[];
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const newTally = (): Tally => ({ cpuUs: 0, wallMs: 0, count: 0, blocks: [] });

async function runBlock(side: Side, from: number, count: number, concurrency: number, tally: Tally) {
  const cpu0 = cpuNow();
  const t0 = performance.now();
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      await side.invoke(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const cpuUs = cpuNow() - cpu0;
  tally.wallMs += performance.now() - t0;
  tally.cpuUs += cpuUs;
  tally.count += count;
  tally.blocks.push(cpuUs / count);
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const r3 = (x: number) => Math.round(x * 1000) / 1000;

const figure = (t: Tally): PathFigure => ({
  invocations: t.count,
  cpuMsPerInvocation: r3(median(t.blocks) / 1000),
  meanCpuMsPerInvocation: r3(t.cpuUs / 1000 / t.count),
  wallMsPerInvocation: r3(t.wallMs / t.count),
  invocationsPerSecond: Math.round((t.count / (t.wallMs / 1000)) * 10) / 10,
});

/**
 * Alternates blocks of the two sides over `count` invocations each, starting each side at `offset`. The ratio is
 * the median over pairs of neighbouring blocks: a burst of load from another process moves one pair, not the figure.
 */
async function measure(
  handler: Side,
  raw: Side,
  offset: number,
  count: number,
  concurrency: number,
  block: number,
): Promise<{ handler: PathFigure; raw: PathFigure; cpuRatio: number }> {
  const h = newTally();
  const r = newTally();
  for (let done = 0; done < count; done += block) {
    const n = Math.min(block, count - done);
    // Who goes first alternates too, so that neither side always follows a garbage-heavy block of the other.
    const first = (done / block) % 2 === 0;
    for (const [side, tally] of first
      ? ([
          [handler, h],
          [raw, r],
        ] as const)
      : ([
          [raw, r],
          [handler, h],
        ] as const)) {
      await runBlock(side, offset + done, n, concurrency, tally);
    }
  }
  const pairRatios = h.blocks.map((cpu, i) => cpu / r.blocks[i]!);
  return { handler: figure(h), raw: figure(r), cpuRatio: Math.round(median(pairRatios) * 100) / 100 };
}

async function loadHandlers(): Promise<{ producer: Handler; consumer: Handler }> {
  const producer = (await import('../lambda/handlers/enqueue')).handler as unknown as Handler;
  const consumer = (await import('../lambda/handlers/consumer')).handler as unknown as Handler;
  return { producer, consumer };
}

async function producerRun(config: DriverConfig, producer: Handler) {
  const total = config.warmup + config.sequential + config.concurrent + (config.profile?.invocations ?? 0);
  // Events and contexts are ready before the clock starts: Lambda's runtime builds them, not the handler.
  const events = Array.from({ length: total }, () => ({
    event: httpEvent(config.body),
    context: lambdaContext(),
  }));
  const submit = async ({ event, context }: { event: APIGatewayProxyEventV2; context: Context }) => {
    const out = (await producer(event, context)) as { statusCode: number; body: string };
    if (out.statusCode !== 202) throw new Error(`POST /tasks answered ${out.statusCode}: ${out.body}`);
  };
  const template = await record(() => submit({ event: httpEvent(config.body), context: lambdaContext() }));
  // The recorded task's ids (in its message and its record) map to fresh ones in each replay.
  const replays = Array.from({ length: total }, () => rewrite(template, new Map()));
  const built = replays.map(commandsOf);
  const handlerSide: Side = { invoke: (i) => submit(events[i]!) };
  const rawSide: Side = { invoke: (i) => replay(replays[i]!, built[i]!()) };
  return { template, handlerSide, rawSide };
}

/** Creates `count` tasks through the producer handler and receives their messages as SQS events of `batchSize`. */
async function producedEvents(config: DriverConfig, producer: Handler, count: number): Promise<Message[][]> {
  const queueUrl = process.env.QUEUE_URL!;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        next++;
        const out = (await producer(httpEvent(config.body), lambdaContext())) as { statusCode: number };
        if (out.statusCode !== 202) throw new Error(`POST /tasks answered ${out.statusCode}`);
      }
    }),
  );
  const setup = new SQSClient({ region: REGION });
  const messages: Message[] = [];
  try {
    while (messages.length < count) {
      const out = await setup.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...(out.Messages ?? []));
    }
  } finally {
    setup.destroy();
  }
  const batches: Message[][] = [];
  for (let i = 0; i + config.batchSize <= messages.length; i += config.batchSize) {
    batches.push(messages.slice(i, i + config.batchSize));
  }
  return batches;
}

async function consumerRun(config: DriverConfig, producer: Handler, consumer: Handler) {
  const total = config.warmup + config.sequential + config.concurrent + (config.profile?.invocations ?? 0);
  // One recorded event, then a handler event and a raw "event" (tasks of its own) per invocation.
  const batches = await producedEvents(config, producer, config.batchSize * (1 + 2 * total));
  const arn = `arn:aws:sqs:${REGION}:000000000000:${process.env.QUEUE_URL!.split('/').pop()}`;
  const eventOf = (messages: Message[]): SQSEvent => ({ Records: messages.map((m) => sqsRecord(m, arn)) });
  const consume = async (event: SQSEvent) => {
    const out = (await consumer(event, lambdaContext())) as {
      batchItemFailures: Array<{ itemIdentifier: string }>;
    };
    if (out.batchItemFailures.length > 0) {
      throw new Error(`the consumer reported ${out.batchItemFailures.length} failed records`);
    }
  };
  const ids = (m: Message) => JSON.parse(m.Body!) as { task_id: string; enqueue_id: string };
  const recordedBatch = batches[0]!;
  const template = await record(() => consume(eventOf(recordedBatch)));
  // The recorded requests of each record of the batch, in the order that record sent them.
  const recordedIds = recordedBatch.map(ids);
  const perRecord = recordedIds.map((own) =>
    template.filter((call) => JSON.stringify(call).includes(own.task_id)),
  );
  const stray = template.filter(
    (call) => !recordedIds.some((own) => JSON.stringify(call).includes(own.task_id)),
  );
  if (stray.length > 0)
    throw new Error(`requests of no task in the recording: ${stray.map(describe).join(', ')}`);
  const handlerEvents = batches.slice(1, 1 + total).map(eventOf);
  const rawBatches = batches.slice(1 + total, 1 + 2 * total);
  if (rawBatches.length < total)
    throw new Error(`only ${batches.length} batches of ${config.batchSize} were received`);
  const replays = rawBatches.map((messages) =>
    messages.map((m, j) => {
      const own = ids(m);
      const was = recordedIds[j]!;
      return rewrite(
        perRecord[j]!,
        new Map([
          [was.task_id, own.task_id],
          [was.enqueue_id, own.enqueue_id],
        ]),
      );
    }),
  );
  const built = replays.map((records) => records.map(commandsOf));
  const handlerSide: Side = { invoke: (i) => consume(handlerEvents[i]!) };
  // The records of a batch run at once, as the handler runs them (Promise.allSettled over the records).
  const rawSide: Side = {
    invoke: async (i) => {
      await Promise.all(replays[i]!.map((calls, j) => replay(calls, built[i]![j]!())));
    },
  };
  return { template, handlerSide, rawSide };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as DriverConfig;
  const { producer, consumer } = await loadHandlers();
  const run =
    config.role === 'producer'
      ? await producerRun(config, producer)
      : await consumerRun(config, producer, consumer);
  const { handlerSide, rawSide } = run;
  // Warm-up, alternating too: both paths reach the same JIT tier and connection pool before measuring.
  await measure(handlerSide, rawSide, 0, config.warmup, 1, config.block);
  const sequential = await measure(handlerSide, rawSide, config.warmup, config.sequential, 1, config.block);
  const concurrent = await measure(
    handlerSide,
    rawSide,
    config.warmup + config.sequential,
    config.concurrent,
    config.concurrency,
    config.block * config.concurrency,
  );
  if (config.profile) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const from = config.warmup + config.sequential + config.concurrent;
    for (const [name, side] of [
      ['handler', handlerSide],
      ['raw', rawSide],
    ] as const) {
      await session.post('Profiler.start');
      for (let i = from; i < from + config.profile.invocations; i++) await side.invoke(i);
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${config.profile.prefix}-${name}.cpuprofile`, JSON.stringify(profile));
    }
    session.disconnect();
  }
  const result: DriverResult = {
    node: process.version,
    role: config.role,
    batchSize: config.role === 'producer' ? 1 : config.batchSize,
    sequential,
    concurrent: { ...concurrent, concurrency: config.concurrency },
    requests: run.template.map(describe),
  };
  writeFileSync(config.out, JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
