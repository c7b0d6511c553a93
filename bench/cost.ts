/**
 * Figure 5, AWS requests per task and US$ per million tasks, from the end-to-end run of 1 KB echo tasks: requests
 * counted by the runtime's AWS proxy when it has one, log bytes from the functions' captured output, DynamoDB
 * write units from the real items' sizes, and Lambda GB-s from measured durations.
 */
import { compressResult } from '../lambda/adapters/result-codec';
import { compressedAtFloor, mayCompress, resultForm } from '../lambda/core/result-storage';
import type { AgentModesResult } from './agent-modes';
import type { EndToEndRun } from './end-to-end';
import { PAYLOADS } from './payloads';
import type { EventsRun, PublishedRun } from './published';
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
  /** A log group of the Infrequent Access class (https://aws.amazon.com/cloudwatch/pricing/, "Logs"). */
  logsInfrequentAccessIngestionPerGB: 0.25,
  /**
   * SNS standard topic, per million publish requests; each 64 KB chunk of a request's payload is one request
   * (https://aws.amazon.com/sns/pricing/). A PublishBatch of up to 10 messages is one request per 64 KB of its
   * total: the SNS guide's "reduce costs by a factor of up to 10"
   * (https://docs.aws.amazon.com/sns/latest/dg/sns-batch-api-actions.html). Delivery to SQS and Lambda is free.
   */
  snsPublishPerMillion: 0.5,
  /**
   * An SQS event source in provisioned mode: per event poller unit (EPU) hour, billed per second with a 1-minute
   * minimum (https://aws.amazon.com/lambda/pricing/, "Provisioned Mode for Event Source Mapping").
   */
  eventPollerUnitHour: 0.00925,
} as const;

/** Hours in the month that AWS's pricing examples use. */
export const HOURS_PER_MONTH = 730;

/**
 * What a tier's minimum pollers cost in provisioned mode whether tasks arrive or not: US$ a month, and per million
 * tasks at a monthly volume. Priced, not measured: the local runtime has no pollers to bill.
 */
export function provisionedMinimumCost(
  minimumPollers: number,
  tasksPerMonth: number,
): { usdPerMonth: number; usdPerMillionTasks: number } {
  const usdPerMonth = minimumPollers * PRICES_USD.eventPollerUnitHour * HOURS_PER_MONTH;
  return {
    usdPerMonth: round(usdPerMonth, 2),
    usdPerMillionTasks: round((usdPerMonth / tasksPerMonth) * 1e6, 3),
  };
}

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
/**
 * The same records in Lambda's JSON log format (its `platform.start`, `platform.runtimeDone` and `platform.report`
 * system log events), with the same typical values: an estimate, as the local runtime prints none of them.
 */
const PLATFORM_JSON_LINES = [
  '{"time":"2026-01-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"00000000-0000-0000-0000-000000000000","version":"$LATEST"}}',
  '{"time":"2026-01-01T00:00:00.024Z","type":"platform.runtimeDone","record":{"requestId":"00000000-0000-0000-0000-000000000000","status":"success","spans":[{"name":"responseLatency","start":"2026-01-01T00:00:00.023Z","durationMs":0.5},{"name":"responseDuration","start":"2026-01-01T00:00:00.023Z","durationMs":0.1}],"metrics":{"durationMs":23.45,"producedBytes":150}}}',
  '{"time":"2026-01-01T00:00:00.025Z","type":"platform.report","record":{"requestId":"00000000-0000-0000-0000-000000000000","metrics":{"durationMs":23.45,"billedDurationMs":24,"memorySizeMB":256,"maxMemoryUsedMB":98},"status":"success"}}',
];
const bytesOfLines = (lines: readonly string[]) => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
/** Lambda's START, END and REPORT lines per invocation in its text format (its default). */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = bytesOfLines(PLATFORM_LINES);

/** A function's `LoggingConfig` in the template (AWS::Lambda::Function). */
export interface LoggingConfig {
  readonly LogFormat?: string;
  readonly SystemLogLevel?: string;
}

/**
 * Bytes of Lambda's own records per invocation of a function with this logging configuration: none at
 * `SystemLogLevel` WARN (they are INFO events; the construct's default); in the JSON format otherwise; and Lambda's
 * text lines without a configuration (Lambda's default).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
 */
export function platformLogBytesPerInvocation(config: LoggingConfig | undefined): number {
  if (config?.LogFormat !== 'JSON') return PLATFORM_LOG_BYTES_PER_INVOCATION;
  return config.SystemLogLevel === 'WARN' ? 0 : bytesOfLines(PLATFORM_JSON_LINES);
}

/**
 * Typical values of the API Gateway context variables an access log format may use, for `POST /tasks`: a 16-character
 * request id, an IPv4 address, the 202 answer's length. A variable not listed here counts as `-`.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
const ACCESS_LOG_VALUES: Readonly<Record<string, string>> = {
  '$context.requestId': 'Ab1Cd2EfGhIJk0A=',
  '$context.identity.sourceIp': '203.0.113.10',
  '$context.requestTime': '02/Dec/2026:17:24:30 +0000',
  '$context.routeKey': 'POST /tasks',
  '$context.status': '202',
  '$context.protocol': 'HTTP/1.1',
  '$context.responseLength': '170',
  '$context.responseLatency': '25',
  '$context.integrationErrorMessage': '-',
};

/** The values that differ for an async agent's callback (a heartbeat: the longer of the two routes, and its 200). */
export const CALLBACK_ACCESS_LOG_VALUES: Readonly<Record<string, string>> = {
  '$context.routeKey': 'POST /tasks/{id}/heartbeat',
  '$context.status': '200',
  '$context.responseLength': '60',
};

/**
 * Bytes of the HTTP API's access log line for one request, from the stage's format (its AccessLogSettings in the
 * template) with typical values: those of `POST /tasks`, or `values` in their place (`CALLBACK_ACCESS_LOG_VALUES`).
 * 0 without access logs. An estimate, as the local runtime writes none.
 */
export function accessLogBytesPerRequest(
  format: string | undefined,
  values: Readonly<Record<string, string>> = {},
): number {
  if (!format) return 0;
  const line = format.replace(
    /\$context\.[A-Za-z.]+/g,
    (name) => values[name] ?? ACCESS_LOG_VALUES[name] ?? '-',
  );
  return Buffer.byteLength(line) + 1;
}

/**
 * The HTTP API's access log in a template: its line per `POST /tasks`, or per request of `values`
 * (`accessLogBytesPerRequest`), and the class of the log group the stage writes it to (`DestinationArn` as
 * `Fn::GetAtt [group, Arn]`), when it has one.
 */
export function accessLogOf(
  resources: Readonly<Record<string, { Type?: string; Properties?: Record<string, unknown> }>>,
  values: Readonly<Record<string, string>> = {},
): { accessLogBytesPerRequest: number; accessLogClass?: string } {
  const settings = Object.values(resources).find(
    (r) => r.Type === 'AWS::ApiGatewayV2::Stage' && r.Properties?.AccessLogSettings,
  )?.Properties?.AccessLogSettings as
    | { Format?: unknown; DestinationArn?: { 'Fn::GetAtt'?: unknown[] } }
    | undefined;
  const format = settings?.Format;
  const groupId = settings?.DestinationArn?.['Fn::GetAtt']?.[0];
  const logGroupClass =
    typeof groupId === 'string' ? resources[groupId]?.Properties?.LogGroupClass : undefined;
  return {
    accessLogBytesPerRequest: accessLogBytesPerRequest(
      typeof format === 'string' ? format : undefined,
      values,
    ),
    ...(typeof logGroupClass === 'string' && { accessLogClass: logGroupClass }),
  };
}

/** A log group class as the cost tables name it. */
const logClassName = (logGroupClass: string | undefined): string =>
  logGroupClass === 'INFREQUENT_ACCESS' ? 'Infrequent Access' : 'Standard';

/** US$ per million tasks of `bytesPerTask` of log lines ingested into a log group of class `logGroupClass`. */
export function logsUsdPerMillion(bytesPerTask: number, logGroupClass = 'STANDARD'): number {
  const perGB =
    logGroupClass === 'INFREQUENT_ACCESS'
      ? PRICES_USD.logsInfrequentAccessIngestionPerGB
      : PRICES_USD.logsIngestionPerGB;
  return ((bytesPerTask * 1e6) / 2 ** 30) * perGB;
}

/** The basis of a platform-records line, as the tables print it. */
function platformBasis(bytesPerInvocation: number): string {
  return bytesPerInvocation === 0
    ? 'none: SystemLogLevel WARN drops Lambda’s START/END/REPORT records (systemLogLevel, the default)'
    : `${bytesPerInvocation} B of START/END/REPORT per invocation (not printed locally)`;
}

/** DynamoDB's item size: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html */
export function dynamoValueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  // A result stored compressed (lambda/core/result-storage.ts `result_z`): binary counts its bytes.
  if (value instanceof Uint8Array) return value.byteLength;
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

/**
 * The item `item` would be with `result` stored instead of its own, in the form the store chooses
 * (lambda/core/result-storage.ts, the codec of lambda/adapters/result-codec.ts): what another payload's echo would
 * have cost in the same records.
 */
export function withStoredResult(item: Record<string, unknown>, result: unknown): Record<string, unknown> {
  const { result: _t, result_z: _z, result_object: _o, ...rest } = item;
  const text = JSON.stringify(result);
  const base = { otherBytes: dynamoItemBytes(rest), textBytes: Buffer.byteLength(text), objectStore: true };
  const compressed = mayCompress(base)
    ? compressResult(text, (bytes) => compressedAtFloor(base, bytes))
    : undefined;
  const form = resultForm({ ...base, compressedBytes: compressed?.byteLength });
  if (form === 'compressed') return { ...rest, result_z: compressed };
  if (form === 'object')
    return { ...rest, result_object: `results/${String(item.task_id)}/1-${'0'.repeat(36)}.json` };
  return { ...rest, result: text };
}

/** How the records store their results: `text 3, compressed 97` (lambda/core/result-storage.ts). */
export function resultForms(items: readonly Record<string, unknown>[]): string {
  const forms = { text: 0, compressed: 0, object: 0 };
  for (const item of items) {
    if (item.result_z !== undefined) forms.compressed += 1;
    else if (item.result_object !== undefined) forms.object += 1;
    else if (item.result !== undefined) forms.text += 1;
  }
  return Object.entries(forms)
    .filter(([, n]) => n > 0)
    .map(([form, n]) => `${form} ${n}`)
    .join(', ');
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
  /** The functions' memory sizes, as the template sets them. */
  readonly memoryMB: { readonly producer: number; readonly consumer: number };
  /**
   * Set once the GB-s line is repriced at Lambda's CPU share (`atLambdaCpuShare`): the line and total as first
   * measured, on local wall time, which the figures derived from this one before figure 9 ran (5.1, 5.2, 7) use.
   */
  readonly wallBasis?: { readonly gbSecondsUsdPerMillion: number; readonly totalUsdPerMillion: number };
}

/**
 * Consumer invocations and their batch sizes, from the one EMF line each consumer invocation writes (its tasks'
 * tier and type are the same in this run): `TasksSucceeded` is the invocation's count of successes.
 */
function consumerBatches(run: EndToEndRun, consumerIds: ReadonlySet<string>): number[] {
  const sizes: number[] = [];
  for (const { source, line } of run.detail.logLines) {
    if (!consumerIds.has(source) || !line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as { TasksSucceeded?: number | number[] };
    const s = doc.TasksSucceeded;
    // A count since issue 16; an array of ones before it.
    sizes.push(Array.isArray(s) ? s.length : (s ?? 0));
  }
  return sizes;
}

export function cost(
  run: EndToEndRun,
  options: {
    consumerIds: ReadonlySet<string>;
    producerIds: ReadonlySet<string>;
    /** The accepted-tasks counter on the table's stream (its `TasksAccepted` lines, one a batch). */
    counterIds: ReadonlySet<string>;
    memoryMB: number;
    consumerMemoryMB: number;
    counterMemoryMB: number;
    /** The producer's duration estimate (ms): the runtime's enqueue p50 at concurrency 1. */
    producerMs: number;
    payloadBytes: number;
    /** Lambda's own records per invocation of the producer and the consumers (`platformLogBytesPerInvocation`). */
    platformLogBytesPerInvocation: number;
    /** The HTTP API's access log line per request (`accessLogBytesPerRequest`). */
    accessLogBytesPerRequest: number;
    /** The access log group's class (its LogGroupClass in the template). @default 'STANDARD' */
    accessLogClass?: string;
  },
): CostResult {
  const n = run.tasks;
  const per = (x: number) => x / n;
  /** US$ per million tasks of `units` per task at `price` per million units. */
  const million = (units: number, price: number) => round(units * price, 3);
  const batches = consumerBatches(run, options.consumerIds);
  // The runtime's own count of invocations when it has one; else one EMF line per invocation.
  const counted = run.detail.invocations
    ? invocationsOf({ invocations: run.detail.invocations }, options.consumerIds).length
    : undefined;
  const consumerInvocations = counted ?? batches.length;
  const meanBatch = consumerInvocations ? n / consumerInvocations : Number.NaN;

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
  // What the local event sources did, beside the model's one receive and one delete per invocation: with a
  // batching window they receive more than once per batch (Lambda's pollers do too, by an unpublished pattern).
  const sourceCalls = run.detail.eventSourceCalls;
  const eventSourceNote = sourceCalls
    ? ` (the local event sources: ${Object.entries(sourceCalls)
        .map(([k, v]) => `${k.slice(4)} ${round(per(v), 3)}`)
        .join(', ')} per task)`
    : '';
  const sqsRequests = Object.entries(counts)
    .filter(([k]) => k.startsWith('sqs:'))
    .reduce((a, [, v]) => a + v, 0);
  const sqsChunks = Math.max(1, Math.ceil((options.payloadBytes + 600) / 65_536));

  const items = run.detail.records.map((r) => r.item);
  const wus = items.map(writeUnits);
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const wruPerTask = meanOf(wus.map((w) => w.create + w.claim + w.succeed));
  // The same records with the echo of the repeated-'x' payload instead, each stored as the store would.
  const repeatedWru = meanOf(
    items.map((item, i) => {
      const w = writeUnits(withStoredResult(item, { echo: PAYLOADS.repeated(i) }));
      return w.create + w.claim + w.succeed;
    }),
  );
  const reads = Object.entries(counts)
    .filter(([k]) => /dynamodb:(GetItem|Query|BatchGetItem)/.test(k))
    .reduce((a, [, v]) => a + v, 0);

  // The producer's and consumers' lines only: a scheduled function's logs are not a cost per task.
  const bytesOf = (ids: ReadonlySet<string>) =>
    run.detail.logLines
      .filter((l) => ids.has(l.source))
      .reduce((a, l) => a + Buffer.byteLength(l.line) + 1, 0);
  const producerLogBytes = bytesOf(options.producerIds);
  const consumerLogBytes = bytesOf(options.consumerIds);
  const counterLogBytes = bytesOf(options.counterIds);
  const handlerLogBytes = producerLogBytes + consumerLogBytes + counterLogBytes;
  const producerInvocations = n;
  // The counter's invocations, as the runtime timed them (wall ms): one a stream batch.
  const counterMs = run.detail.invocations
    ? invocationsOf({ invocations: run.detail.invocations }, options.counterIds)
    : [];
  const counterInvocations = counterMs.length;
  const platformBytes =
    (producerInvocations + consumerInvocations + counterInvocations) * options.platformLogBytesPerInvocation;
  // Priced as if all of its wall time were CPU, stretched by its share of a vCPU: an upper bound.
  const counterBilledMs = counterMs.reduce(
    (a, ms) => a + lambdaBilledMs({ cpuMs: ms, wallMs: ms, memoryMB: options.counterMemoryMB }),
    0,
  );
  const counterGbSecondsPerTask = per(counterBilledMs / 1000) * (options.counterMemoryMB / 1024);

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
      perTask: round(1 + per(consumerInvocations + counterInvocations), 4),
      usdPerMillion: million(
        1 + per(consumerInvocations + counterInvocations),
        PRICES_USD.lambdaRequestsPerMillion,
      ),
      basis: `1 producer invocation + ${consumerInvocations} consumer invocations (mean batch ${round(meanBatch, 2)}) + ${counterInvocations} of the accepted-tasks counter (mean batch ${round(n / Math.max(1, counterInvocations))}), for ${n} tasks`,
    },
    {
      item: 'Lambda GB-s',
      perTask: round(gbSecondsPerTask, 5),
      usdPerMillion: round(gbSecondsPerTask * 1e6 * PRICES_USD.lambdaArmGbSecond, 3),
      basis: `${options.memoryMB} MB; producer ${producerMs} ms (runtime enqueue p50 at c=1); consumer ${consumerMs} ms per batch (median batch time of the raw loop, which does the handler's calls). Local wall time on a whole core: at ${options.memoryMB} MB Lambda gives a function ${options.memoryMB} / 1769 of a vCPU, so its CPU-bound part takes longer there (BENCHMARKS.md, figure 5's note)`,
    },
    {
      item: 'Lambda GB-s (accepted-tasks counter)',
      perTask: round(counterGbSecondsPerTask, 6),
      usdPerMillion: round(counterGbSecondsPerTask * 1e6 * PRICES_USD.lambdaArmGbSecond, 4),
      basis: `${options.counterMemoryMB} MB; ${counterInvocations} invocations of ${round(median(counterMs.length ? counterMs : [0]))} ms median (local wall time), priced as if all CPU at ${round(options.counterMemoryMB / ONE_VCPU_MEMORY_MB, 3)} of a vCPU: an upper bound`,
    },
    {
      item: 'SQS',
      perTask: round(per(sqsRequests) * sqsChunks, 3),
      usdPerMillion: million(per(sqsRequests) * sqsChunks, PRICES_USD.sqsPerMillion),
      basis:
        Object.entries(perTask)
          .filter(([k]) => k.startsWith('sqs:'))
          .map(([k, v]) => `${k.slice(4)} ${v}`)
          .join(', ') + eventSourceNote,
    },
    {
      item: 'DynamoDB writes',
      perTask: round(wruPerTask, 3),
      usdPerMillion: million(wruPerTask, PRICES_USD.dynamodbWriteUnitsPerMillion),
      basis: `create ${round(meanOf(wus.map((w) => w.create)), 2)} + claim ${round(meanOf(wus.map((w) => w.claim)), 2)} + succeed ${round(meanOf(wus.map((w) => w.succeed)), 2)} WRU (final item ${Math.round(meanOf(items.map(dynamoItemBytes)))} B as stored, with the 1 KB echo result of the prose payload; ${resultForms(items)}). The repeated-'x' payload of earlier runs, stored the same way in the same records: ${round(repeatedWru, 3)} WRU a task`,
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
      usdPerMillion: round(logsUsdPerMillion(per(handlerLogBytes)), 3),
      basis: `bytes per task of the handlers’ log and EMF lines, captured: producer ${round(per(producerLogBytes))}, consumers ${round(per(consumerLogBytes))}, accepted-tasks counter ${round(per(counterLogBytes), 2)}`,
    },
    {
      item: 'CloudWatch Logs (Lambda platform, estimate)',
      perTask: round(per(platformBytes)),
      usdPerMillion: round(logsUsdPerMillion(per(platformBytes)), 3),
      basis: platformBasis(options.platformLogBytesPerInvocation),
    },
    {
      item: 'CloudWatch Logs (API access log, estimate)',
      perTask: options.accessLogBytesPerRequest,
      usdPerMillion: round(logsUsdPerMillion(options.accessLogBytesPerRequest, options.accessLogClass), 3),
      basis: `${options.accessLogBytesPerRequest} B: the stage's access log line for POST /tasks, its format with typical values (not written locally), in a log group of the ${logClassName(options.accessLogClass)} class`,
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
    memoryMB: { producer: options.memoryMB, consumer: options.consumerMemoryMB },
  };
}

/**
 * The memory size at which Lambda gives a function the equivalent of one vCPU; below it, CPU in proportion to
 * memory (Lambda developer guide, "Configure Lambda function memory").
 */
export const ONE_VCPU_MEMORY_MB = 1769;

/**
 * An invocation's billed ms on Lambda, from its CPU and wall time measured here on a whole core: the time spent
 * waiting on requests is the same there, and the CPU-bound part is stretched by the function's share of a vCPU.
 */
export function lambdaBilledMs(m: { cpuMs: number; wallMs: number; memoryMB: number }): number {
  const share = Math.min(1, m.memoryMB / ONE_VCPU_MEMORY_MB);
  return Math.ceil(Math.max(0, m.wallMs - m.cpuMs) + m.cpuMs / share);
}

/** One handler's sequential CPU and wall time per invocation (figure 9), for `atLambdaCpuShare`. */
export interface InvocationTime {
  readonly handler: 'producer' | 'consumer';
  readonly batchSize: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

/**
 * Figure 5 with its Lambda GB-s line priced as Lambda bills it: from figure 9's in-process CPU and wall time per
 * invocation (on the functions' Node), each stretched by `lambdaBilledMs`, instead of local wall time on a whole
 * core, which leaves out that a 256 MB function gets a seventh of a vCPU. The consumer's time at the run's mean
 * batch is interpolated between figure 9's batches of 1 and 10.
 */
export function atLambdaCpuShare(c: CostResult, times: readonly InvocationTime[]): CostResult {
  const timeOf = (handler: InvocationTime['handler'], batchSize: number) => {
    const t = times.find((x) => x.handler === handler && x.batchSize === batchSize);
    if (!t) throw new Error(`figure 9 has no ${handler} row with batches of ${batchSize}`);
    return t;
  };
  const billed = (t: InvocationTime, memoryMB: number) => lambdaBilledMs({ ...t, memoryMB });
  const producerMs = billed(timeOf('producer', 1), c.memoryMB.producer);
  const one = billed(timeOf('consumer', 1), c.memoryMB.consumer);
  const ten = billed(timeOf('consumer', 10), c.memoryMB.consumer);
  const batch = Math.min(10, Math.max(1, c.meanBatchSize));
  const consumerMs = one + ((ten - one) * (batch - 1)) / 9;
  const invocationsPerTask = c.consumerInvocations / c.tasks;
  const gbSecondsPerTask =
    ((producerMs / 1000) * c.memoryMB.producer) / 1024 +
    ((consumerMs / 1000) * c.memoryMB.consumer * invocationsPerTask) / 1024;
  const old = c.lines.find((l) => l.item === 'Lambda GB-s');
  const line: CostLine = {
    item: 'Lambda GB-s',
    perTask: round(gbSecondsPerTask, 5),
    usdPerMillion: round(gbSecondsPerTask * 1e6 * PRICES_USD.lambdaArmGbSecond, 3),
    basis: `at Lambda's CPU share (${c.memoryMB.producer} MB = ${round(c.memoryMB.producer / ONE_VCPU_MEMORY_MB, 3)} of a vCPU; figure 9's CPU ms × ${round(ONE_VCPU_MEMORY_MB / c.memoryMB.producer, 2)} + its waiting ms, per invocation): producer ${producerMs} ms; consumer ${round(consumerMs, 1)} ms per invocation of ${round(batch, 2)} tasks (${one} ms for 1, ${ten} ms for 10). Local wall time on a whole core gave $${old?.usdPerMillion ?? '?'}`,
  };
  const lines = c.lines.map((l) => (l.item === 'Lambda GB-s' ? line : l));
  const total = round(
    lines.reduce((a, l) => a + l.usdPerMillion, 0),
    3,
  );
  return {
    ...c,
    lines,
    totalUsdPerMillion: total,
    meetsTarget: total <= TARGET_USD_PER_MILLION,
    wallBasis: { gbSecondsUsdPerMillion: old?.usdPerMillion ?? 0, totalUsdPerMillion: c.totalUsdPerMillion },
  };
}

/** One line of a mode's cost per task, beyond what every task costs (figure 5). */
export interface ModeCostLine {
  readonly item: string;
  readonly perTask: number;
  readonly usdPerMillion: number;
  readonly basis: string;
}

export interface AgentModeCost {
  readonly agentSeconds: number;
  readonly heartbeatSeconds: number;
  /** Figure 5's total, for the rest of a task's life (the same in both modes), and where it comes from. */
  readonly base: { readonly usdPerMillion: number; readonly source: string } | undefined;
  readonly modes: ReadonlyArray<{
    readonly mode: 'sync' | 'async';
    readonly lines: ModeCostLine[];
    /** The lines' sum: what the mode adds to figure 5's task. */
    readonly extraUsdPerMillion: number;
    /** Base plus extra, when the base is known. */
    readonly totalUsdPerMillion?: number;
  }>;
  /** What one running async task costs per hour, heartbeating every `heartbeatSeconds`. */
  readonly asyncRunningTaskUsdPerHour: number;
  readonly perHeartbeatUsd: number;
  readonly assumptions: string[];
}

/**
 * US$ per million tasks of an `agentSeconds` agent in each mode, from figure 7's measurements: the consumer's
 * billed ms (sync: the agent's time plus the measured overhead; async: the measured hand-off, which does not grow
 * with the agent), and for async the callbacks: one HTTP API request, one callback invocation (its measured ms),
 * one strongly consistent GetItem and, for a heartbeat, one UpdateItem and one ChangeMessageVisibility. The
 * completion's UpdateItem and DeleteMessage take the place of the sync consumer's succeed write and
 * DeleteMessageBatch, which figure 5 already counts, so they are not added again.
 */
export function agentModeCost(
  m: AgentModesResult,
  options: {
    agentSeconds: number;
    heartbeatSeconds: number;
    base?: { usdPerMillion: number; source: string };
    /** Lambda's own records per invocation of these functions (`platformLogBytesPerInvocation`). */
    platformLogBytesPerInvocation: number;
  },
): AgentModeCost {
  const gbSecondUsd = PRICES_USD.lambdaArmGbSecond;
  const million = (units: number, price: number) => round(units * price, 3);
  const gbS = (ms: number, memoryMB: number) => (ms / 1000) * (memoryMB / 1024);
  const sync = m.cells.filter((c) => c.mode === 'sync');
  const async = m.cells.filter((c) => c.mode === 'async');
  const syncOverheadMs = median(sync.map((c) => c.consumerMsPerTask - c.agentSeconds * 1000));
  const asyncConsumerMs = median(async.map((c) => c.consumerMsPerTask));
  const syncMs = options.agentSeconds * 1000 + syncOverheadMs;
  const heartbeats = Math.floor(options.agentSeconds / options.heartbeatSeconds);
  const rru = Math.max(1, Math.ceil(m.itemBytes / 4096));
  const wru = Math.max(1, Math.ceil(m.itemBytes / 1024));
  const logBytes = m.callbackLogBytesPerInvocation + options.platformLogBytesPerInvocation;
  // Each callback is a request through the stage: one access-log line, in the access log group's class.
  const { accessLogBytesPerRequest: accessBytes, accessLogClass } = m.callbackAccessLog;
  const { heartbeat: heartbeatMs, complete: completeMs } = m.callbackMs;
  const callbacks = heartbeats + 1;

  /** US$ of one heartbeat: its request, invocation, read, write, visibility change and log lines. */
  const perHeartbeatUsd =
    (PRICES_USD.httpApiPerMillion +
      PRICES_USD.lambdaRequestsPerMillion +
      Math.ceil(heartbeatMs) * (m.callbackMemoryMB / 1024) * (gbSecondUsd * 1e3) +
      rru * PRICES_USD.dynamodbReadUnitsPerMillion +
      wru * PRICES_USD.dynamodbWriteUnitsPerMillion +
      PRICES_USD.sqsPerMillion +
      logsUsdPerMillion(logBytes) +
      logsUsdPerMillion(accessBytes, accessLogClass)) /
    1e6;
  const perHour = 3600 / options.heartbeatSeconds;

  const syncLines: ModeCostLine[] = [
    {
      item: 'consumer Lambda GB-s',
      perTask: round(gbS(syncMs, m.consumerMemoryMB), 4),
      usdPerMillion: round(gbS(syncMs, m.consumerMemoryMB) * 1e6 * gbSecondUsd, 2),
      basis: `${Math.round(syncMs)} ms (${options.agentSeconds} s agent + ${Math.round(syncOverheadMs)} ms measured overhead) at ${m.consumerMemoryMB} MB`,
    },
  ];
  const asyncLines: ModeCostLine[] = [
    {
      item: 'consumer Lambda GB-s',
      perTask: round(gbS(asyncConsumerMs, m.consumerMemoryMB), 4),
      usdPerMillion: round(gbS(asyncConsumerMs, m.consumerMemoryMB) * 1e6 * gbSecondUsd, 2),
      basis: `${Math.round(asyncConsumerMs)} ms (measured hand-off, median of the cells) at ${m.consumerMemoryMB} MB`,
    },
    {
      item: 'SQS ChangeMessageVisibility',
      perTask: 1 + heartbeats,
      usdPerMillion: million(1 + heartbeats, PRICES_USD.sqsPerMillion),
      basis: `1 at hand-off + 1 per heartbeat (${heartbeats})`,
    },
    {
      item: 'HTTP API (callbacks)',
      perTask: callbacks,
      usdPerMillion: million(callbacks, PRICES_USD.httpApiPerMillion),
      basis: `${heartbeats} heartbeat + 1 completion`,
    },
    {
      item: 'callback Lambda requests',
      perTask: callbacks,
      usdPerMillion: million(callbacks, PRICES_USD.lambdaRequestsPerMillion),
      basis: 'one invocation per callback',
    },
    {
      item: 'callback Lambda GB-s',
      perTask: round(gbS(heartbeats * Math.ceil(heartbeatMs) + Math.ceil(completeMs), m.callbackMemoryMB), 4),
      usdPerMillion: round(
        gbS(heartbeats * Math.ceil(heartbeatMs) + Math.ceil(completeMs), m.callbackMemoryMB) *
          1e6 *
          gbSecondUsd,
        2,
      ),
      basis: `heartbeat ${heartbeatMs} ms, completion ${completeMs} ms (measured means) at ${m.callbackMemoryMB} MB`,
    },
    {
      item: 'DynamoDB reads (callbacks)',
      perTask: callbacks * rru,
      usdPerMillion: million(callbacks * rru, PRICES_USD.dynamodbReadUnitsPerMillion),
      basis: `one strongly consistent GetItem per callback, ${rru} RRU (record ${m.itemBytes} B)`,
    },
    {
      item: 'DynamoDB writes (heartbeats)',
      perTask: heartbeats * wru,
      usdPerMillion: million(heartbeats * wru, PRICES_USD.dynamodbWriteUnitsPerMillion),
      basis: `one UpdateItem per heartbeat, ${wru} WRU; the completion's write replaces the sync succeed write`,
    },
    {
      item: 'CloudWatch Logs (callbacks)',
      perTask: round(callbacks * logBytes),
      usdPerMillion: round(logsUsdPerMillion(callbacks * logBytes), 3),
      basis: `${m.callbackLogBytesPerInvocation} B of handler lines (captured) + ${options.platformLogBytesPerInvocation} B platform lines per callback`,
    },
    {
      item: 'CloudWatch Logs (callbacks, API access log)',
      perTask: callbacks * accessBytes,
      usdPerMillion: round(logsUsdPerMillion(callbacks * accessBytes, accessLogClass), 3),
      basis: `${accessBytes} B: the stage's access log line per callback request, its format with typical values (not written locally), in a log group of the ${logClassName(accessLogClass)} class`,
    },
  ];
  const mode = (name: 'sync' | 'async', lines: ModeCostLine[]) => {
    const extra = round(
      lines.reduce((a, l) => a + l.usdPerMillion, 0),
      2,
    );
    return {
      mode: name,
      lines,
      extraUsdPerMillion: extra,
      ...(options.base && { totalUsdPerMillion: round(options.base.usdPerMillion + extra, 2) }),
    };
  };
  return {
    agentSeconds: options.agentSeconds,
    heartbeatSeconds: options.heartbeatSeconds,
    base: options.base,
    modes: [mode('sync', syncLines), mode('async', asyncLines)],
    asyncRunningTaskUsdPerHour: round(perHeartbeatUsd * perHour, 6),
    perHeartbeatUsd: round(perHeartbeatUsd, 9),
    assumptions: [
      `us-east-1 list prices, Lambda arm64 (PRICES_USD in bench/cost.ts); consumer ${m.consumerMemoryMB} MB, callback ${m.callbackMemoryMB} MB, as the template sets them`,
      'one task per consumer invocation (each task its own batch, as measured); a sync batch of k tasks that arrive together holds one invocation for its slowest agent, so sync would cost up to k times less',
      `a ${options.agentSeconds} s async agent heartbeating every ${options.heartbeatSeconds} s sends ${heartbeats} heartbeat${heartbeats === 1 ? '' : 's'} and one completion`,
      'the rest of a task (POST /tasks, producer, SendMessage, PutItem, claim, succeed write, receive and delete, their logs) is the same in both modes: figure 5',
      'DynamoDB units from the measured record size; a record over 1 KB (a larger payload or progress message) costs 2 WRU a heartbeat',
      'callback and hand-off durations are the local runtime’s, on a shared machine (DynamoDB Local and the emulators on the same 2 cores): likely above what Lambda would bill',
      'holding an SQS message in flight costs nothing; the in-flight ceiling (about 120,000 a queue) is a limit, not a cost',
    ],
  };
}

const sumOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
/** The invocations of some functions in a counted run. */
const invocationsOf = (run: { invocations: Record<string, number[]> }, ids: ReadonlySet<string>) =>
  Object.entries(run.invocations)
    .filter(([id]) => ids.has(id))
    .flatMap(([, ms]) => ms);
/** DynamoDB write units of writing `item` (1 KB each, rounded up, at least 1). */
const wruOf = (item: Record<string, unknown>) => Math.max(1, Math.ceil(dynamoItemBytes(item) / 1024));

export interface PublishedCostLine extends CostLine {
  /** The same item for two queued tasks (figure 5's line × 2). */
  readonly twoQueuedUsdPerMillion: number;
}

export interface PublishedCost {
  readonly tasks: number;
  readonly topic: string;
  readonly subscribers: readonly string[];
  readonly payloadBytes: number;
  readonly requestCounts: { readonly source: string; readonly perPublishedTask: Record<string, number> };
  /** The event sources' own SQS calls as counted (the lines use figure 5's rule, for a like-for-like difference). */
  readonly eventSourceCallsPerPublishedTask: Record<string, number>;
  readonly consumerInvocations: number;
  readonly meanMessagesPerConsumerInvocation: number;
  readonly itemBytes: { readonly published: number; readonly delivery: Record<string, number> };
  /** Writes the DynamoDB line assumes (1 create + claim and result per delivery) against the counted ones. */
  readonly writesModelledPerTask: number;
  readonly writesCountedPerTask: number;
  readonly lines: PublishedCostLine[];
  readonly totalUsdPerMillion: number;
  readonly twoQueuedUsdPerMillion: number;
  /** total − two queued tasks: negative when publishing once is cheaper than enqueuing twice. */
  readonly differenceUsdPerMillion: number;
}

/**
 * US$ per million published tasks of a topic with two subscribers, itemised as figure 5 and beside two queued
 * tasks of figure 5 (`queued`). Requests counted by the runtime's proxy; the event source's ReceiveMessage and
 * DeleteMessageBatch taken as one each per consumer invocation, as figure 5 takes them; DynamoDB units from the
 * records' sizes; consumer ms per invocation from figure 5 (the raw loop's batch), producer ms likewise.
 */
export function publishedCost(
  run: PublishedRun,
  options: {
    consumerIds: ReadonlySet<string>;
    producerIds: ReadonlySet<string>;
    memoryMB: number;
    producerMs: number;
    /** Figure 5's consumer ms per invocation. */
    consumerMs: number;
    payloadBytes: number;
    queued: CostResult;
    /** Lambda's own records per invocation of these functions (`platformLogBytesPerInvocation`). */
    platformLogBytesPerInvocation: number;
  },
): PublishedCost {
  const n = run.tasks;
  const per = (x: number) => x / n;
  const million = (units: number, price: number) => round(units * price, 3);
  const producerInvocations = invocationsOf(run, options.producerIds).length;
  const consumerInvocations = invocationsOf(run, options.consumerIds).length;
  const counts: Record<string, number> = {
    ...run.awsCalls,
    'sqs:ReceiveMessage': consumerInvocations,
    'sqs:DeleteMessageBatch': consumerInvocations,
  };
  const perPublishedTask = Object.fromEntries(
    Object.entries(counts)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => [k, round(per(v), 3)]),
  );
  const sqsRequests = sumOf(
    Object.entries(counts)
      .filter(([k]) => k.startsWith('sqs:'))
      .map(([, v]) => v),
  );
  // A SendMessageBatch of the deliveries carries every subscriber's copy: its chunks are of their sum.
  const sqsChunks = Math.max(
    1,
    Math.ceil(((options.payloadBytes + 600) * Math.max(1, run.subscribers.length)) / 65_536),
  );

  const published = run.publishedRecords.map((r) => r.item);
  const deliveries = run.deliveryRecords.map((r) => r.item);
  const meanOf = (xs: number[]) => (xs.length ? sumOf(xs) / xs.length : 0);
  const createWru = meanOf(published.map(wruOf));
  // A delivery's record is written by its claim (without the result), then by its result.
  const withoutResult = (item: Record<string, unknown>) => {
    const { result: _r, error: _e, finished_at: _f, ...rest } = item;
    return { ...rest, status: 'RUNNING' };
  };
  const claimWru = per(sumOf(deliveries.map((d) => wruOf(withoutResult(d)))));
  const resultWru = per(sumOf(deliveries.map(wruOf)));
  // The producer's PutItem of the published record; the fan-out reads the record first and creates it only when
  // the read finds nothing (its message can arrive before the producer's write), a create counted beside the
  // producer's PutItem.
  const fanOutCreates = Math.max(0, per(run.awsCalls['dynamodb:PutItem'] ?? 0) - 1);
  const writesModelled = 1 + fanOutCreates + 2 * run.subscribers.length;
  const wru = (1 + fanOutCreates) * createWru + claimWru + resultWru;
  const writesCounted = per(
    sumOf(
      Object.entries(run.awsCalls)
        .filter(([k]) =>
          /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(k),
        )
        .map(([, v]) => v),
    ),
  );
  const reads = sumOf(
    Object.entries(counts)
      .filter(([k]) => /dynamodb:(GetItem|Query|BatchGetItem)/.test(k))
      .map(([, v]) => v),
  );
  const deliveryBytes: Record<string, number> = {};
  for (const s of run.subscribers) {
    deliveryBytes[s] = Math.round(meanOf(deliveries.filter((d) => d.type === s).map(dynamoItemBytes)));
  }

  const handlerLogBytes = sumOf(
    run.logLines
      .filter((l) => options.producerIds.has(l.source) || options.consumerIds.has(l.source))
      .map((l) => Buffer.byteLength(l.line) + 1),
  );
  const platformBytes = (producerInvocations + consumerInvocations) * options.platformLogBytesPerInvocation;
  const gb = options.memoryMB / 1024;
  const producerMs = Math.ceil(options.producerMs);
  const consumerMs = Math.ceil(options.consumerMs);
  const gbSeconds =
    gb * ((producerMs * per(producerInvocations) + consumerMs * per(consumerInvocations)) / 1000);
  const queuedLine = (item: string) =>
    round(2 * (options.queued.lines.find((l) => l.item === item)?.usdPerMillion ?? 0), 3);
  const line = (item: string, perTask: number, usdPerMillion: number, basis: string): PublishedCostLine => ({
    item,
    perTask,
    usdPerMillion,
    basis,
    twoQueuedUsdPerMillion: queuedLine(item),
  });
  const lines: PublishedCostLine[] = [
    line('HTTP API', 1, million(1, PRICES_USD.httpApiPerMillion), '1 request per published task'),
    line(
      'Lambda requests',
      round(per(producerInvocations + consumerInvocations), 3),
      million(per(producerInvocations + consumerInvocations), PRICES_USD.lambdaRequestsPerMillion),
      `${producerInvocations} producer + ${consumerInvocations} consumer invocations / ${n} published tasks (${round((n * (1 + run.subscribers.length)) / consumerInvocations, 2)} messages per consumer invocation: the publish message and ${run.subscribers.length} deliveries)`,
    ),
    line(
      'Lambda GB-s',
      round(gbSeconds, 5),
      round(gbSeconds * 1e6 * PRICES_USD.lambdaArmGbSecond, 3),
      `${options.memoryMB} MB; producer ${producerMs} ms, consumer ${consumerMs} ms per invocation (figure 5's estimates)`,
    ),
    line(
      'SQS',
      round(per(sqsRequests) * sqsChunks, 3),
      million(per(sqsRequests) * sqsChunks, PRICES_USD.sqsPerMillion),
      Object.entries(perPublishedTask)
        .filter(([k]) => k.startsWith('sqs:'))
        .map(([k, v]) => `${k.slice(4)} ${v}`)
        .join(', '),
    ),
    line(
      'DynamoDB writes',
      round(wru, 3),
      million(wru, PRICES_USD.dynamodbWriteUnitsPerMillion),
      `published record ${round(createWru, 2)} (producer) + ${round(fanOutCreates * createWru, 2)} (the fan-out's creates, ${round(fanOutCreates, 3)} a task: when its read finds no record yet) + delivery claims ${round(claimWru, 2)} + delivery results ${round(resultWru, 2)} WRU (records: published ${Math.round(meanOf(published.map(dynamoItemBytes)))} B, ${Object.entries(
        deliveryBytes,
      )
        .map(([s, b]) => `${s} ${b} B`)
        .join(', ')})`,
    ),
    line(
      'DynamoDB reads',
      round(per(reads), 3),
      million(per(reads), PRICES_USD.dynamodbReadUnitsPerMillion),
      "the fan-out's strongly consistent GetItem of the published record, which it reads before creating it",
    ),
    line(
      'CloudWatch Logs (handlers)',
      round(per(handlerLogBytes)),
      round(logsUsdPerMillion(per(handlerLogBytes)), 3),
      'bytes per published task of the producer’s and consumers’ lines, captured',
    ),
    line(
      'CloudWatch Logs (Lambda platform, estimate)',
      round(per(platformBytes)),
      round(logsUsdPerMillion(per(platformBytes)), 3),
      platformBasis(options.platformLogBytesPerInvocation),
    ),
  ];
  // One POST /tasks, as for a queued task: the queued task's access log line, once.
  const accessLog = options.queued.lines.find((l) => l.item === 'CloudWatch Logs (API access log, estimate)');
  if (accessLog)
    lines.push(line(accessLog.item, accessLog.perTask, accessLog.usdPerMillion, accessLog.basis));
  const total = round(sumOf(lines.map((l) => l.usdPerMillion)), 3);
  const twoQueued = round(2 * options.queued.totalUsdPerMillion, 3);
  return {
    tasks: n,
    topic: run.topic,
    subscribers: run.subscribers,
    payloadBytes: options.payloadBytes,
    requestCounts: {
      source:
        'counted by the runtime AWS proxy; the event sources’ ReceiveMessage and DeleteMessageBatch taken as one each per consumer invocation, as in the table above',
      perPublishedTask,
    },
    eventSourceCallsPerPublishedTask: Object.fromEntries(
      Object.entries(run.eventSourceCalls).map(([k, v]) => [k, round(per(v), 3)]),
    ),
    consumerInvocations,
    meanMessagesPerConsumerInvocation: round((n * (1 + run.subscribers.length)) / consumerInvocations, 2),
    itemBytes: { published: Math.round(meanOf(published.map(dynamoItemBytes))), delivery: deliveryBytes },
    writesModelledPerTask: writesModelled,
    writesCountedPerTask: round(writesCounted, 3),
    lines,
    totalUsdPerMillion: total,
    twoQueuedUsdPerMillion: twoQueued,
    differenceUsdPerMillion: round(total - twoQueued, 3),
  };
}

export interface EventCostRun {
  readonly pacing: 'burst' | 'paced';
  /** Tasks published to this topic; echo tasks when absent. */
  readonly topic?: string;
  readonly tasks: number;
  readonly events: number;
  readonly eventsPerTask: number;
  readonly publisherInvocations: number;
  /** Events per publisher invocation: mean, and the sizes seen (size → invocations). */
  readonly meanEventsPerInvocation: number;
  readonly batchSizes: Record<string, number>;
  /** The publisher's SNS calls (`sns:PublishBatch`, `sns:Publish`) per event. */
  readonly snsRequestsPerEvent: Record<string, number>;
  readonly publisherMsMedian: number;
  /** Every other function's requests per task, which events must not change (compare figure 5). */
  readonly otherRequestsPerTask: Record<string, number>;
  readonly lines: CostLine[];
  readonly usdPerMillionEvents: number;
}

export interface EventCost {
  readonly memoryMB: number;
  readonly runs: EventCostRun[];
  /** One SQS subscriber's own receives per event, at 10 and at 1 message per receive, US$ per million events. */
  readonly sqsSubscriberUsdPerMillion: { readonly batchOf10: number; readonly oneByOne: number };
  /** Figure 5's default task with events on for the default transitions (one event per task that succeeds). */
  readonly perMillionTasks: {
    readonly defaultUsd: number;
    readonly busyUsd: number;
    readonly quietUsd: number;
  };
  readonly eventsPerPublishedTask?: number;
}

/** US$ per event of one events run: the publisher's invocations, ms and logs, and its SNS requests. */
export function eventCostRun(
  run: EventsRun,
  options: { memoryMB: number; publisherIds: ReadonlySet<string>; platformLogBytesPerInvocation: number },
): EventCostRun {
  const events = sumOf(run.batches.map((b) => b.published));
  const perEvent = (x: number) => x / events;
  const durations = invocationsOf(run, options.publisherIds);
  const invocations = durations.length;
  const cut = new Set([...options.publisherIds].map((id) => id.slice(0, 40)));
  const publisherCalls: Record<string, number> = {};
  const otherCalls: Record<string, number> = {};
  for (const [fn, calls] of Object.entries(run.awsCallsByFunction)) {
    const into = cut.has(fn.slice(0, 40)) ? publisherCalls : otherCalls;
    for (const [op, v] of Object.entries(calls)) into[op] = (into[op] ?? 0) + v;
  }
  const snsCalls = Object.fromEntries(Object.entries(publisherCalls).filter(([k]) => k.startsWith('sns:')));
  const snsRequests = sumOf(Object.values(snsCalls));
  const billedMs = sumOf(durations.map((ms) => Math.ceil(ms)));
  const gbSeconds = (billedMs / 1000) * (options.memoryMB / 1024);
  const logBytes = sumOf(
    run.logLines.filter((l) => options.publisherIds.has(l.source)).map((l) => Buffer.byteLength(l.line) + 1),
  );
  const platformBytes = invocations * options.platformLogBytesPerInvocation;
  const batchSizes: Record<string, number> = {};
  for (const b of run.batches) batchSizes[b.published] = (batchSizes[b.published] ?? 0) + 1;
  const sortedMs = [...durations].sort((a, b) => a - b);
  const lines: CostLine[] = [
    {
      item: 'Lambda requests (EventPublisher)',
      perTask: round(perEvent(invocations), 4),
      usdPerMillion: round(perEvent(invocations) * PRICES_USD.lambdaRequestsPerMillion, 3),
      basis: `${invocations} invocations for ${events} events (mean ${round(events / invocations, 2)} a batch)`,
    },
    {
      item: 'Lambda GB-s (EventPublisher)',
      perTask: round(perEvent(gbSeconds), 6),
      usdPerMillion: round(perEvent(gbSeconds) * 1e6 * PRICES_USD.lambdaArmGbSecond, 3),
      basis: `${options.memoryMB} MB; measured local durations, median ${round(median(sortedMs), 1)} ms an invocation, rounded up to 1 ms each`,
    },
    {
      item: 'SNS publish requests',
      perTask: round(perEvent(snsRequests), 4),
      usdPerMillion: round(perEvent(snsRequests) * PRICES_USD.snsPublishPerMillion, 3),
      basis: `${Object.entries(snsCalls)
        .map(([k, v]) => `${k.slice(4)} ${v}`)
        .join(', ')} for ${events} events; one 64 KB chunk each (10 events are well under 64 KB)`,
    },
    {
      item: 'DynamoDB stream reads',
      perTask: 0,
      usdPerMillion: 0,
      basis: 'GetRecords by a Lambda event source mapping are free',
    },
    {
      item: 'CloudWatch Logs (EventPublisher)',
      perTask: round(perEvent(logBytes)),
      usdPerMillion: round(logsUsdPerMillion(perEvent(logBytes)), 3),
      basis: 'bytes per event of its `stream batch` line and EMF metrics, captured',
    },
    {
      item: 'CloudWatch Logs (Lambda platform, estimate)',
      perTask: round(perEvent(platformBytes)),
      usdPerMillion: round(logsUsdPerMillion(perEvent(platformBytes)), 3),
      basis: platformBasis(options.platformLogBytesPerInvocation),
    },
    {
      item: 'SNS delivery to SQS or Lambda subscribers',
      perTask: 0,
      usdPerMillion: 0,
      basis: 'free; the subscriber pays its own receives or invocations',
    },
  ];
  return {
    pacing: run.pacing,
    ...(run.topic && { topic: run.topic }),
    tasks: run.tasks,
    events,
    eventsPerTask: round(events / run.tasks, 3),
    publisherInvocations: invocations,
    meanEventsPerInvocation: round(events / invocations, 2),
    batchSizes,
    snsRequestsPerEvent: Object.fromEntries(
      Object.entries(snsCalls).map(([k, v]) => [k, round(perEvent(v), 4)]),
    ),
    publisherMsMedian: round(median(sortedMs), 1),
    otherRequestsPerTask: Object.fromEntries(
      Object.entries(otherCalls).map(([k, v]) => [k, round(v / run.tasks, 3)]),
    ),
    lines,
    usdPerMillionEvents: round(sumOf(lines.map((l) => l.usdPerMillion)), 3),
  };
}

/** Figure 5 with events: per event (busy and quiet), per million default tasks, and a subscriber queue's receives. */
export function eventCost(
  runs: EventsRun[],
  options: {
    memoryMB: number;
    publisherIds: ReadonlySet<string>;
    queued: CostResult;
    /** Lambda's own records per invocation of these functions (`platformLogBytesPerInvocation`). */
    platformLogBytesPerInvocation: number;
  },
): EventCost {
  const costed = runs.map((r) => eventCostRun(r, options));
  const echo = costed.filter((r) => r.topic === undefined);
  const busy = echo.find((r) => r.pacing === 'burst') ?? echo[0] ?? costed[0]!;
  const quiet = echo.find((r) => r.pacing === 'paced') ?? busy;
  const publishedRun = costed.find((r) => r.topic !== undefined);
  const base = options.queued.totalUsdPerMillion;
  return {
    memoryMB: options.memoryMB,
    runs: costed,
    sqsSubscriberUsdPerMillion: {
      // ReceiveMessage of up to 10 and one DeleteMessageBatch per 10 events; or one of each per event.
      batchOf10: round((2 / 10) * PRICES_USD.sqsPerMillion, 3),
      oneByOne: round(2 * PRICES_USD.sqsPerMillion, 3),
    },
    perMillionTasks: {
      defaultUsd: base,
      busyUsd: round(base + busy.eventsPerTask * busy.usdPerMillionEvents, 3),
      quietUsd: round(base + quiet.eventsPerTask * quiet.usdPerMillionEvents, 3),
    },
    ...(publishedRun && { eventsPerPublishedTask: publishedRun.eventsPerTask }),
  };
}
