/**
 * Figure 5, AWS requests per task and US$ per million tasks, from the end-to-end run of 1 KB echo tasks: requests
 * counted by the runtime's AWS proxy when it has one, log bytes from the functions' captured output, DynamoDB
 * write units from the real items' sizes, and Lambda GB-s from measured durations.
 */
import type { EndToEndRun } from './end-to-end';
import { median, round } from './stats';

/**
 * us-east-1 list prices, as the issue gives them. Lambda GB-s is the arm64 price (the functions are ARM_64):
 * https://aws.amazon.com/lambda/pricing/ ; DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/
 */
export const PRICES_USD = {
  httpApiPerMillion: 1.0,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  /** Per million requests; each 64 KB chunk of a payload is one request. */
  sqsPerMillion: 0.4,
  dynamodbWriteUnitsPerMillion: 0.625,
  dynamodbReadUnitsPerMillion: 0.125,
  logsIngestionPerGB: 0.5,
} as const;

export const TARGET_USD_PER_MILLION = 3.9;

/**
 * Lambda's own START, END and REPORT lines per invocation, which the local runtime does not print; their length
 * in Lambda's text log format (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html), with a
 * 36-character request id and typical field widths.
 */
const PLATFORM_LINES = [
  'START RequestId: 00000000-0000-0000-0000-000000000000 Version: $LATEST',
  'END RequestId: 00000000-0000-0000-0000-000000000000',
  'REPORT RequestId: 00000000-0000-0000-0000-000000000000\tDuration: 23.45 ms\tBilled Duration: 24 ms\tMemory Size: 256 MB\tMax Memory Used: 98 MB\t',
];
export const PLATFORM_LOG_BYTES_PER_INVOCATION = PLATFORM_LINES.reduce(
  (n, l) => n + Buffer.byteLength(l) + 1,
  0,
);

/** DynamoDB's item size: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html */
export function dynamoValueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + dynamoValueBytes(v) + 1, 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (n, [k, v]) => n + Buffer.byteLength(k) + dynamoValueBytes(v) + 1,
        0,
      )
    );
  }
  return Buffer.byteLength(String(value));
}

export const dynamoItemBytes = (item: Record<string, unknown>): number =>
  Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + dynamoValueBytes(v), 0);

const CREATE_FIELDS = [
  'task_id',
  'type',
  'priority',
  'status',
  'attempts',
  'created_at',
  'updated_at',
  'request_hash',
  'enqueue_id',
];

/** Write units of the three writes of a task that succeeds first time: create, claim, succeed. */
export function writeUnits(finalItem: Record<string, unknown>): {
  create: number;
  claim: number;
  succeed: number;
} {
  const pick = (keys: string[]) =>
    Object.fromEntries(keys.filter((k) => k in finalItem).map((k) => [k, finalItem[k]]));
  const created = { ...pick(CREATE_FIELDS), status: 'QUEUED', attempts: 0, updated_at: finalItem.created_at };
  const claimed = {
    ...created,
    status: 'RUNNING',
    attempts: 1,
    started_at: finalItem.started_at,
    updated_at: finalItem.started_at,
    lease_until: Date.parse(String(finalItem.started_at)) + 150_000,
  };
  const units = (...items: Record<string, unknown>[]) =>
    Math.max(1, Math.ceil(Math.max(...items.map(dynamoItemBytes)) / 1024));
  return { create: units(created), claim: units(created, claimed), succeed: units(claimed, finalItem) };
}

export interface CostLine {
  readonly item: string;
  readonly perTask: number;
  readonly usdPerMillion: number;
  readonly basis: string;
}

export interface CostResult {
  readonly tasks: number;
  readonly payloadBytes: number;
  readonly requestCounts: { readonly source: string; readonly perTask: Record<string, number> };
  readonly consumerInvocations: number;
  readonly meanBatchSize: number;
  readonly logBytesPerTask: { readonly handlers: number; readonly platformEstimate: number };
  readonly itemBytes: { readonly final: number };
  readonly lines: CostLine[];
  readonly totalUsdPerMillion: number;
  readonly meetsTarget: boolean;
}

/** Consumer invocations and their batch sizes, from the one EMF line each consumer invocation writes. */
function consumerBatches(run: EndToEndRun, consumerIds: ReadonlySet<string>): number[] {
  const sizes: number[] = [];
  for (const { source, line } of run.detail.logLines) {
    if (!consumerIds.has(source) || !line.startsWith('{"_aws"')) continue;
    const doc = JSON.parse(line) as { TasksSucceeded?: number | number[] };
    const s = doc.TasksSucceeded;
    sizes.push(Array.isArray(s) ? s.length : s === undefined ? 0 : 1);
  }
  return sizes;
}

export function cost(
  run: EndToEndRun,
  options: {
    consumerIds: ReadonlySet<string>;
    producerIds: ReadonlySet<string>;
    memoryMB: number;
    /** The producer's duration estimate (ms): the runtime's enqueue p50 at concurrency 1. */
    producerMs: number;
    payloadBytes: number;
  },
): CostResult {
  const n = run.tasks;
  const per = (x: number) => x / n;
  /** US$ per million tasks of `units` per task at `price` per million units. */
  const million = (units: number, price: number) => round(units * price, 3);
  const batches = consumerBatches(run, options.consumerIds);
  const consumerInvocations = batches.length;
  const meanBatch = batches.length ? batches.reduce((a, b) => a + b, 0) / batches.length : Number.NaN;

  // Requests by service and operation: counted by the runtime's proxy if it has one, else from the code path.
  let source: string;
  let counts: Record<string, number>;
  if (run.detail.awsCalls && Object.keys(run.detail.awsCalls).length > 0) {
    source = 'counted by the runtime AWS proxy';
    counts = { ...run.detail.awsCalls };
    if (!counts['sqs:ReceiveMessage']) {
      counts['sqs:ReceiveMessage'] = consumerInvocations;
      counts['sqs:DeleteMessageBatch'] = consumerInvocations;
      source +=
        '; event-source ReceiveMessage/DeleteMessageBatch not seen by the proxy, taken as one each per consumer invocation';
    }
  } else {
    source =
      'request counts unavailable (the runtime has no awsCalls()): from the code path of a task that succeeds first time, with one ReceiveMessage and one DeleteMessageBatch per consumer invocation';
    counts = {
      'sqs:SendMessage': n,
      'sqs:ReceiveMessage': consumerInvocations,
      'sqs:DeleteMessageBatch': consumerInvocations,
      'dynamodb:PutItem': n,
      'dynamodb:UpdateItem': 2 * n,
    };
  }
  const perTask = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(per(v), 3)]));
  const sqsRequests = Object.entries(counts)
    .filter(([k]) => k.startsWith('sqs:'))
    .reduce((a, [, v]) => a + v, 0);
  const sqsChunks = Math.max(1, Math.ceil((options.payloadBytes + 600) / 65_536));

  const items = run.detail.records.map((r) => r.item);
  const wus = items.map(writeUnits);
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const wruPerTask = meanOf(wus.map((w) => w.create + w.claim + w.succeed));
  const reads = Object.entries(counts)
    .filter(([k]) => /dynamodb:(GetItem|Query|BatchGetItem)/.test(k))
    .reduce((a, [, v]) => a + v, 0);

  // The producer's and consumers' lines only: a scheduled function's logs are not a cost per task.
  const handlerLogBytes = run.detail.logLines
    .filter((l) => options.producerIds.has(l.source) || options.consumerIds.has(l.source))
    .reduce((a, l) => a + Buffer.byteLength(l.line) + 1, 0);
  const producerInvocations = n;
  const platformBytes = (producerInvocations + consumerInvocations) * PLATFORM_LOG_BYTES_PER_INVOCATION;

  const gb = options.memoryMB / 1024;
  const consumerMs = Math.ceil(median(run.detail.rawBatchMs));
  const producerMs = Math.ceil(options.producerMs);
  const gbSecondsPerTask = gb * ((producerMs + consumerMs * per(consumerInvocations)) / 1000);

  const lines: CostLine[] = [
    {
      item: 'HTTP API',
      perTask: 1,
      usdPerMillion: million(1, PRICES_USD.httpApiPerMillion),
      basis: '1 request per task',
    },
    {
      item: 'Lambda requests',
      perTask: round(1 + per(consumerInvocations), 3),
      usdPerMillion: million(1 + per(consumerInvocations), PRICES_USD.lambdaRequestsPerMillion),
      basis: `1 producer invocation + ${consumerInvocations} consumer invocations / ${n} tasks (mean batch ${round(meanBatch, 2)})`,
    },
    {
      item: 'Lambda GB-s',
      perTask: round(gbSecondsPerTask, 5),
      usdPerMillion: round(gbSecondsPerTask * 1e6 * PRICES_USD.lambdaArmGbSecond, 3),
      basis: `${options.memoryMB} MB; producer ${producerMs} ms (runtime enqueue p50 at c=1, an upper bound); consumer ${consumerMs} ms per batch (median batch time of the raw loop, which does the handler's calls)`,
    },
    {
      item: 'SQS',
      perTask: round(per(sqsRequests) * sqsChunks, 3),
      usdPerMillion: million(per(sqsRequests) * sqsChunks, PRICES_USD.sqsPerMillion),
      basis: Object.entries(perTask)
        .filter(([k]) => k.startsWith('sqs:'))
        .map(([k, v]) => `${k.slice(4)} ${v}`)
        .join(', '),
    },
    {
      item: 'DynamoDB writes',
      perTask: round(wruPerTask, 3),
      usdPerMillion: million(wruPerTask, PRICES_USD.dynamodbWriteUnitsPerMillion),
      basis: `create ${round(meanOf(wus.map((w) => w.create)), 2)} + claim ${round(meanOf(wus.map((w) => w.claim)), 2)} + succeed ${round(meanOf(wus.map((w) => w.succeed)), 2)} WRU (final item ${Math.round(meanOf(items.map(dynamoItemBytes)))} B with the 1 KB echo result)`,
    },
    {
      item: 'DynamoDB reads',
      perTask: round(per(reads), 3),
      usdPerMillion: million(per(reads), PRICES_USD.dynamodbReadUnitsPerMillion),
      basis: 'no GetItem without an idempotency key',
    },
    {
      item: 'CloudWatch Logs (handlers)',
      perTask: round(per(handlerLogBytes)),
      usdPerMillion: round(((per(handlerLogBytes) * 1e6) / 2 ** 30) * PRICES_USD.logsIngestionPerGB, 3),
      basis: 'bytes per task of the handlers’ log and EMF lines, captured',
    },
    {
      item: 'CloudWatch Logs (Lambda platform, estimate)',
      perTask: round(per(platformBytes)),
      usdPerMillion: round(((per(platformBytes) * 1e6) / 2 ** 30) * PRICES_USD.logsIngestionPerGB, 3),
      basis: `${PLATFORM_LOG_BYTES_PER_INVOCATION} B of START/END/REPORT per invocation (not printed locally)`,
    },
  ];
  const total = round(
    lines.reduce((a, l) => a + l.usdPerMillion, 0),
    3,
  );
  return {
    tasks: n,
    payloadBytes: options.payloadBytes,
    requestCounts: { source, perTask },
    consumerInvocations,
    meanBatchSize: round(meanBatch, 2),
    logBytesPerTask: { handlers: round(per(handlerLogBytes)), platformEstimate: round(per(platformBytes)) },
    itemBytes: { final: Math.round(meanOf(items.map(dynamoItemBytes))) },
    lines,
    totalUsdPerMillion: total,
    meetsTarget: total <= TARGET_USD_PER_MILLION,
  };
}
