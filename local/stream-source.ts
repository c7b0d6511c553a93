/**
 * Emulates a Lambda event source mapping on a DynamoDB table's stream, as the Lambda service runs one, against
 * DynamoDB Local's own stream (same port as DynamoDB): each shard is read in order (parents before children),
 * one batch at a time (a ParallelizationFactor of 1), from `StartingPosition`; records that no filter of
 * `FilterCriteria` accepts are dropped; batches of up to `BatchSize` go to the function in Lambda's event shape.
 *
 * Failures follow Lambda's rules for stream sources, which block the shard until the batch is through:
 * - a throw or a time-out retries the batch; with `BisectBatchOnFunctionError` the batch is split in two first
 *   (a split is not a retry), down to single records;
 * - with `ReportBatchItemFailures`, the function's `batchItemFailures` name sequence numbers: the records before
 *   the lowest one are done, and the batch is retried from it (a malformed answer fails the whole batch);
 * - after `MaximumRetryAttempts` retries (-1, the default, is no limit), or once a record is older than
 *   `MaximumRecordAgeInSeconds`, the batch is skipped and Lambda's on-failure record (the batch's shard and
 *   sequence range, not its records) goes to `DestinationConfig.OnFailure`'s queue. A send to that queue that
 *   fails is retried: the shard moves on only once the record is sent.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type _Record as StreamApiRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { compileFilterCriteria, type RecordFilter } from './event-filter';
import type { FunctionLookup } from './functions';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import type { InvokeResult } from './lambda-pool';
import { resourcesOfType } from './template';

export interface StreamSourceSettings {
  readonly logicalId: string;
  readonly tableName: string;
  readonly functionArn: string;
  readonly region: string;
  /** @default 100 (Lambda's default for a stream) */
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly filter: RecordFilter;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: no limit. */
  readonly maximumRetryAttempts: number;
  /** -1: no limit. */
  readonly maximumRecordAgeSeconds: number;
  /** The on-failure destination's queue URL. @default - failed batches are dropped, as on AWS */
  readonly onFailureQueueUrl?: string;
  /** Where the shards' positions are kept across restarts. @default - in memory: read again from StartingPosition */
  readonly checkpointFile?: string;
  readonly enabled: boolean;
  /** How often an idle shard is polled when nothing wakes the source. @default IDLE_POLL_MS (2 s) */
  readonly idlePollMs?: number;
}

export interface StreamSourceStats {
  /** Invocations of the function. */
  invocations: number;
  /** Records handed to the function and done (not counting retries). */
  delivered: number;
  /** Records the filters dropped. */
  filteredOut: number;
  /** Batches that ran out of retries (or age) and were sent to the on-failure destination, or dropped. */
  failedBatches: number;
  getRecordsCalls: number;
}

/** What a batch's invocation decided. */
export type BatchVerdict =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed' }
  | { readonly kind: 'partial'; readonly from: number };

/** DynamoDB Streams' sequence numbers are decimal strings of up to 40 digits. */
const bySequence = (a: string, b: string) => {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * What Lambda makes of an invocation's outcome for a stream batch. Without ReportBatchItemFailures any answer is
 * success. With it: no `batchItemFailures` (or an empty list) is success; otherwise the batch restarts at the
 * lowest sequence number named, and an entry that names no record of the batch fails the whole batch.
 */
export function streamBatchVerdict(
  records: readonly Pick<DynamoDBRecord, 'dynamodb'>[],
  outcome: InvokeResult,
  reportItemFailures: boolean,
): BatchVerdict {
  if (!outcome.ok) return { kind: 'failed' };
  if (!reportItemFailures) return { kind: 'done' };
  const failures = (outcome.result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'done' };
  if (!Array.isArray(failures)) return { kind: 'failed' };
  if (failures.length === 0) return { kind: 'done' };
  const sequences = records.map((r) => r.dynamodb?.SequenceNumber ?? '');
  let from = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' ? sequences.indexOf(id) : -1;
    if (index < 0) return { kind: 'failed' };
    from = Math.min(from, index);
  }
  return { kind: 'partial', from };
}

/** A DynamoDB attribute value as JSON, as Lambda writes it in the event (binary as base64). */
function wireValue(value: AttributeValue): unknown {
  const v = value as unknown as Record<string, unknown>;
  if (v.B instanceof Uint8Array) return { B: Buffer.from(v.B).toString('base64') };
  if (Array.isArray(v.BS))
    return { BS: (v.BS as Uint8Array[]).map((b) => Buffer.from(b).toString('base64')) };
  if (v.M) return { M: wireImage(v.M as Record<string, AttributeValue>) };
  if (Array.isArray(v.L)) return { L: (v.L as AttributeValue[]).map(wireValue) };
  const [key] = Object.keys(v).filter((k) => k !== '$unknown' && v[k] !== undefined);
  return key ? { [key]: v[key] } : {};
}

function wireImage(image: Record<string, AttributeValue> | undefined) {
  if (!image) return undefined;
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, wireValue(v)]));
}

/** One stream record in Lambda's event shape. */
export function toLambdaRecord(record: StreamApiRecord, streamArn: string, region: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  const keys = wireImage(d.Keys);
  const newImage = wireImage(d.NewImage);
  const oldImage = wireImage(d.OldImage);
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ...(created && { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) }),
      ...(keys && { Keys: keys }),
      ...(newImage && { NewImage: newImage }),
      ...(oldImage && { OldImage: oldImage }),
      SequenceNumber: d.SequenceNumber,
      ...(d.SizeBytes !== undefined && { SizeBytes: d.SizeBytes }),
      ...(d.StreamViewType && { StreamViewType: d.StreamViewType }),
    },
    eventSourceARN: streamArn,
    ...(record.userIdentity && { userIdentity: record.userIdentity }),
  } as DynamoDBRecord;
}

/** The condition of Lambda's on-failure record. */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/**
 * Lambda's on-failure record for a stream batch: where the batch is in the stream (shard, first and last sequence
 * numbers), not its records; a reader takes them from the stream while it keeps them (24 hours).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-dynamodb-errors
 */
export function onFailureRecord(options: {
  readonly records: readonly DynamoDBRecord[];
  readonly shardId: string;
  readonly streamArn: string;
  readonly functionArn: string;
  readonly condition: FailureCondition;
  readonly invokeCount: number;
  readonly lastOutcome: InvokeResult | undefined;
  readonly now: Date;
}) {
  const { records } = options;
  const arrival = (r: DynamoDBRecord | undefined) =>
    new Date((r?.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: options.functionArn,
      condition: options.condition,
      approximateInvokeCount: options.invokeCount,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(options.lastOutcome && !options.lastOutcome.ok && { functionError: 'Unhandled' }),
    },
    version: '1.0',
    timestamp: options.now.toISOString(),
    DDBStreamBatchInfo: {
      shardId: options.shardId,
      startSequenceNumber: records[0]?.dynamodb?.SequenceNumber ?? '',
      endSequenceNumber: records[records.length - 1]?.dynamodb?.SequenceNumber ?? '',
      approximateArrivalOfFirstRecord: arrival(records[0]),
      approximateArrivalOfLastRecord: arrival(records[records.length - 1]),
      batchSize: records.length,
      streamArn: options.streamArn,
    },
  };
}

/** Lambda polls a shard about four times a second. */
const POLL_MS = 250;
/**
 * Empty polls at POLL_MS before a shard counts as idle: a second after its last records, or after the last write
 * the runtime relayed (`wake`).
 */
const BUSY_POLLS = 4;
/**
 * How often an idle shard is polled. A write relayed by the runtime's AWS proxy wakes the source at once, so this
 * bounds only the delay of writes that bypass the proxy (a client on DynamoDB Local's own port). Four polls a
 * second of every stream source of every runtime cost about 7 % of a core per runtime, Node and JVM together
 * (measured on an idle `taskq local --demo-agents`, 2026-12-03).
 */
const IDLE_POLL_MS = 2000;
/** How often new shards are looked for (a shard of DynamoDB Streams closes after a few hours). */
const SHARD_REFRESH_MS = 5000;
/** DynamoDB Streams' most records per GetRecords. */
const MAX_GET_RECORDS = 1000;

/**
 * Waits `ms`, or less when `signal` aborts or a function of `wakers` is called (it is in that set until then).
 * Whichever comes first removes the others, so that a long-running source leaves no listener behind.
 */
const sleep = (ms: number, signal: AbortSignal, wakers?: Set<() => void>) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      wakers?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    wakers?.add(done);
  });

class Stopped extends Error {}

export class StreamEventSource {
  public readonly stats: StreamSourceStats = {
    invocations: 0,
    delivered: 0,
    filteredOut: 0,
    failedBatches: 0,
    getRecordsCalls: 0,
  };
  private readonly abort = new AbortController();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly finished = new Set<string>();
  private readonly checkpoints: Map<string, string>;
  private loop: Promise<void> | undefined;
  private streamArn = '';
  /** Empty polls in a row since the last records or wake-up; from BUSY_POLLS on, the source is idle. */
  private emptyPolls = 0;
  /** Ends the idle waits now under way (`wake`). */
  private readonly idleWaits = new Set<() => void>();

  public constructor(
    public readonly settings: StreamSourceSettings,
    private readonly clients: {
      readonly dynamodb: DynamoDBClient;
      readonly streams: DynamoDBStreamsClient;
      readonly sqs: SQSClient;
    },
    private readonly invoke: (event: { Records: DynamoDBRecord[] }) => Promise<InvokeResult>,
    private readonly log: (line: string) => void,
  ) {
    this.checkpoints = new Map();
  }

  /**
   * Tells the source that its table was written: an idle shard is read now, and at POLL_MS for a second after.
   * A read already under way when the write landed is followed by another within POLL_MS.
   */
  public wake(): void {
    this.emptyPolls = 0;
    for (const end of [...this.idleWaits]) end();
  }

  /** The wait after a read that found nothing: POLL_MS while busy, then IDLE_POLL_MS or until `wake`. */
  private afterEmptyRead(): Promise<void> {
    if (this.emptyPolls++ < BUSY_POLLS) return sleep(POLL_MS, this.abort.signal);
    return sleep(this.settings.idlePollMs ?? IDLE_POLL_MS, this.abort.signal, this.idleWaits);
  }

  public start(): void {
    if (this.settings.enabled) this.loop = this.run().catch((error: unknown) => this.stopped(error));
  }

  private stopped(error: unknown): void {
    if (!(error instanceof Stopped) && !this.stopping)
      this.log(`[${this.settings.logicalId}] stream source stopped: ${(error as Error).message}`);
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private check(): void {
    if (this.stopping) throw new Stopped();
  }

  /** The table's stream as DynamoDB names it (the template's `StreamArn` is a local stand-in). */
  private async latestStreamArn(): Promise<string> {
    for (;;) {
      this.check();
      const table = await this.clients.dynamodb.send(
        new DescribeTableCommand({ TableName: this.settings.tableName }),
      );
      const arn = table.Table?.LatestStreamArn;
      if (arn && table.Table?.StreamSpecification?.StreamEnabled !== false) return arn;
      await sleep(POLL_MS, this.abort.signal);
    }
  }

  private loadCheckpoints(): void {
    const file = this.settings.checkpointFile;
    if (!file) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as {
        streamArn?: string;
        shards?: Record<string, string>;
        finished?: string[];
      };
      // A table made anew has a new stream: positions in another stream mean nothing there.
      if (saved.streamArn !== this.streamArn) return;
      for (const [shard, sequence] of Object.entries(saved.shards ?? {}))
        this.checkpoints.set(shard, sequence);
      for (const shard of saved.finished ?? []) this.finished.add(shard);
    } catch {
      // no checkpoint yet
    }
  }

  private saveCheckpoints(): void {
    const file = this.settings.checkpointFile;
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    const text = JSON.stringify({
      streamArn: this.streamArn,
      shards: Object.fromEntries(this.checkpoints),
      finished: [...this.finished],
    });
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  }

  private async shards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await this.clients.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ...(start && { ExclusiveStartShardId: start }),
        }),
        { abortSignal: this.abort.signal },
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  private async run(): Promise<void> {
    this.streamArn = await this.latestStreamArn();
    this.loadCheckpoints();
    const initial = new Set<string>();
    let first = true;
    while (!this.stopping) {
      let shards: Shard[];
      try {
        shards = await this.shards();
      } catch (error) {
        if (this.stopping) return;
        this.log(`[${this.settings.logicalId}] DescribeStream failed: ${(error as Error).message}; retrying`);
        await sleep(1000, this.abort.signal);
        continue;
      }
      const known = new Set(shards.map((s) => s.ShardId!));
      for (const shard of shards) {
        const id = shard.ShardId!;
        if (first) initial.add(id);
        if (this.workers.has(id) || this.finished.has(id)) continue;
        // A parent still in the stream is read to its end first, so that a key's changes stay in order.
        const parent =
          shard.ParentShardId && known.has(shard.ParentShardId) ? shard.ParentShardId : undefined;
        const worker = this.readShard(id, parent, initial.has(id)).catch((error: unknown) =>
          this.stopped(error),
        );
        this.workers.set(id, worker);
      }
      first = false;
      await sleep(SHARD_REFRESH_MS, this.abort.signal);
    }
  }

  private async waitFor(parent: string | undefined): Promise<void> {
    while (parent && !this.finished.has(parent)) {
      this.check();
      await sleep(POLL_MS, this.abort.signal);
    }
  }

  private async iterator(shardId: string, initial: boolean): Promise<string | undefined> {
    const after = this.checkpoints.get(shardId);
    // A shard that opened while the mapping ran is read from its start, whatever the starting position.
    const type: ShardIteratorType = after
      ? 'AFTER_SEQUENCE_NUMBER'
      : initial
        ? this.settings.startingPosition
        : 'TRIM_HORIZON';
    try {
      const out = await this.clients.streams.send(
        new GetShardIteratorCommand({
          StreamArn: this.streamArn,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(after && { SequenceNumber: after }),
        }),
        { abortSignal: this.abort.signal },
      );
      return out.ShardIterator;
    } catch (error) {
      if (!(error instanceof TrimmedDataAccessException)) throw error;
      // The position was trimmed (older than 24 hours): Lambda goes on from the oldest record still there.
      this.log(
        `[${this.settings.logicalId}] ${shardId}: position ${after} was trimmed; reading on from the oldest`,
      );
      this.checkpoints.delete(shardId);
      const out = await this.clients.streams.send(
        new GetShardIteratorCommand({
          StreamArn: this.streamArn,
          ShardId: shardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
        { abortSignal: this.abort.signal },
      );
      return out.ShardIterator;
    }
  }

  private async readShard(shardId: string, parent: string | undefined, initial: boolean): Promise<void> {
    await this.waitFor(parent);
    const { batchSize, maxBatchingWindowSeconds, filter } = this.settings;
    let iterator: string | undefined;
    let pending: DynamoDBRecord[] = [];
    let windowStart = 0;
    while (!this.stopping) {
      try {
        iterator ??= await this.iterator(shardId, initial);
        if (iterator === undefined) break;
        this.stats.getRecordsCalls++;
        const out = await this.clients.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: MAX_GET_RECORDS }),
          { abortSignal: this.abort.signal },
        );
        iterator = out.NextShardIterator;
        if ((out.Records ?? []).length > 0) this.emptyPolls = 0;
        for (const record of out.Records ?? []) {
          const lambdaRecord = toLambdaRecord(record, this.streamArn, this.settings.region);
          if (filter.accepts(lambdaRecord)) pending.push(lambdaRecord);
          else {
            this.stats.filteredOut++;
            // A dropped record is done: the position moves past it, as it does for a delivered one.
            if (pending.length === 0) this.checkpoints.set(shardId, record.dynamodb!.SequenceNumber!);
          }
        }
        if (pending.length > 0 && windowStart === 0) windowStart = Date.now();
        const windowOpen =
          iterator !== undefined && Date.now() - windowStart < maxBatchingWindowSeconds * 1000;
        if (pending.length > 0 && (pending.length >= batchSize || !windowOpen)) {
          while (pending.length > 0) {
            const batch = pending.slice(0, batchSize);
            await this.deliver(shardId, batch);
            pending = pending.slice(batch.length);
          }
          windowStart = 0;
          this.saveCheckpoints();
        } else if ((out.Records ?? []).length === 0) {
          // Records held for the batching window: read again soon, idle or not.
          await (pending.length > 0 ? sleep(POLL_MS, this.abort.signal) : this.afterEmptyRead());
        }
        if (iterator === undefined) {
          // The shard is closed and read to its end: its children may start.
          this.finished.add(shardId);
          this.saveCheckpoints();
          return;
        }
      } catch (error) {
        if (this.stopping || error instanceof Stopped) return;
        // An expired iterator (15 minutes), or a failed call: read again after the last record done.
        if (!(error instanceof ExpiredIteratorException))
          this.log(`[${this.settings.logicalId}] ${shardId}: ${(error as Error).message}; reading again`);
        iterator = undefined;
        pending = [];
        windowStart = 0;
        await sleep(1000, this.abort.signal);
      }
    }
  }

  private tooOld(records: readonly DynamoDBRecord[]): boolean {
    const max = this.settings.maximumRecordAgeSeconds;
    const oldest = records[0]?.dynamodb?.ApproximateCreationDateTime;
    return max >= 0 && oldest !== undefined && Date.now() / 1000 - oldest > max;
  }

  /** Hands one batch to the function until it is done or given up; the shard waits meanwhile. */
  private async deliver(shardId: string, batch: DynamoDBRecord[]): Promise<void> {
    const { maximumRetryAttempts, bisectBatchOnFunctionError, reportBatchItemFailures } = this.settings;
    const work: Array<{ records: DynamoDBRecord[]; retries: number }> = [{ records: batch, retries: 0 }];
    while (work.length > 0) {
      const piece = work.shift()!;
      let invokes = 0;
      let outcome: InvokeResult | undefined;
      for (;;) {
        this.check();
        if (this.tooOld(piece.records)) {
          await this.giveUp(shardId, piece.records, 'RecordAgeExceeded', invokes, outcome);
          break;
        }
        this.stats.invocations++;
        invokes++;
        outcome = await this.invoke({ Records: piece.records });
        this.check();
        const verdict = streamBatchVerdict(piece.records, outcome, reportBatchItemFailures);
        if (verdict.kind === 'done') {
          this.done(shardId, piece.records);
          break;
        }
        if (verdict.kind === 'partial') {
          this.done(shardId, piece.records.slice(0, verdict.from));
          piece.records = piece.records.slice(verdict.from);
        } else {
          this.log(
            `[${this.settings.logicalId}] ${shardId}: batch of ${piece.records.length} failed` +
              (outcome.ok
                ? ' (invalid batchItemFailures)'
                : ` (${outcome.error.errorType}: ${outcome.error.errorMessage})`),
          );
          if (!outcome.ok && bisectBatchOnFunctionError && piece.records.length > 1) {
            // Bisecting is not a retry: each half keeps the count of the whole.
            const half = Math.ceil(piece.records.length / 2);
            work.unshift(
              { records: piece.records.slice(0, half), retries: piece.retries },
              { records: piece.records.slice(half), retries: piece.retries },
            );
            break;
          }
        }
        piece.retries++;
        if (maximumRetryAttempts >= 0 && piece.retries > maximumRetryAttempts) {
          await this.giveUp(shardId, piece.records, 'RetryAttemptsExhausted', invokes, outcome);
          break;
        }
        await sleep(Math.min(200 * 2 ** Math.min(piece.retries, 5), 5000), this.abort.signal);
      }
    }
  }

  private done(shardId: string, records: readonly DynamoDBRecord[]): void {
    const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
    if (!last) return;
    this.stats.delivered += records.length;
    const current = this.checkpoints.get(shardId);
    if (!current || bySequence(last, current) > 0) this.checkpoints.set(shardId, last);
  }

  private async giveUp(
    shardId: string,
    records: DynamoDBRecord[],
    condition: FailureCondition,
    invokeCount: number,
    lastOutcome: InvokeResult | undefined,
  ): Promise<void> {
    this.stats.failedBatches++;
    const { onFailureQueueUrl, logicalId } = this.settings;
    const record = onFailureRecord({
      records,
      shardId,
      streamArn: this.streamArn,
      functionArn: this.settings.functionArn,
      condition,
      invokeCount,
      lastOutcome,
      now: new Date(),
    });
    const range = `${record.DDBStreamBatchInfo.startSequenceNumber}..${record.DDBStreamBatchInfo.endSequenceNumber}`;
    if (!onFailureQueueUrl) {
      this.log(
        `[${logicalId}] ${shardId}: ${condition}; ${records.length} record(s) ${range} skipped (no on-failure destination)`,
      );
    } else {
      for (let tries = 1; ; tries++) {
        this.check();
        try {
          await this.clients.sqs.send(
            new SendMessageCommand({ QueueUrl: onFailureQueueUrl, MessageBody: JSON.stringify(record) }),
          );
          break;
        } catch (error) {
          this.log(`[${logicalId}] on-failure send failed (${(error as Error).message}); retrying`);
          await sleep(Math.min(1000 * tries, 10_000), this.abort.signal);
        }
      }
      this.log(
        `[${logicalId}] ${shardId}: ${condition}; ${records.length} record(s) ${range} sent to the on-failure destination`,
      );
    }
    const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
    if (last) this.checkpoints.set(shardId, last);
  }

  /** Stops reading; a batch being handled is abandoned and read again from the last position on the next start. */
  public async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all(this.workers.values());
  }
}

export interface StreamSourceOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  readonly functions: FunctionLookup;
  readonly log: (line: string) => void;
  /** Keep each mapping's shard positions in this folder. @default - in memory */
  readonly checkpointDir?: string;
}

/** The table whose stream an event source ARN names, by the template's `StreamArn`; undefined for any other. */
export function streamTables(ctx: IntrinsicContext): ReadonlyMap<string, string> {
  const tables = new Map<string, string>();
  for (const [id] of resourcesOfType(ctx.template, 'AWS::DynamoDB::Table')) {
    const local = ctx.resources.get(id)!;
    if (local.attributes.StreamArn) tables.set(local.attributes.StreamArn, local.ref);
  }
  return tables;
}

const numberOr = (value: unknown, fallback: number) =>
  value === undefined || value === null ? fallback : Number(value);

/** The template's AWS::Lambda::EventSourceMapping resources on a table's stream, not yet started. */
export function streamEventSources(ctx: IntrinsicContext, options: StreamSourceOptions): StreamEventSource[] {
  const tables = streamTables(ctx);
  const queueUrlByArn = new Map(
    resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => [
      ctx.resources.get(id)!.attributes.Arn!,
      ctx.resources.get(id)!.ref,
    ]),
  );
  const sources: StreamEventSource[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Lambda::EventSourceMapping')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as Record<string, unknown>;
    const tableName = tables.get(String(props.EventSourceArn));
    if (!tableName) continue;
    const functionName = String(props.FunctionName);
    const fn = options.functions(functionName, id);
    const destination = (props.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)
      ?.OnFailure?.Destination;
    const onFailureQueueUrl = destination ? queueUrlByArn.get(destination) : undefined;
    if (destination && !onFailureQueueUrl)
      throw new Error(`${id}: the on-failure destination ${destination} is not a queue of the template`);
    const functionArn = functionName.startsWith('arn:')
      ? functionName
      : `arn:aws:lambda:${ctx.region}:${ctx.accountId}:function:${functionName}`;
    sources.push(
      new StreamEventSource(
        {
          logicalId: id,
          tableName,
          functionArn,
          region: ctx.region,
          batchSize: numberOr(props.BatchSize, 100),
          maxBatchingWindowSeconds: numberOr(props.MaximumBatchingWindowInSeconds, 0),
          startingPosition: props.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
          filter: compileFilterCriteria(props.FilterCriteria, `${id}.FilterCriteria`),
          reportBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          bisectBatchOnFunctionError: String(props.BisectBatchOnFunctionError) === 'true',
          maximumRetryAttempts: numberOr(props.MaximumRetryAttempts, -1),
          maximumRecordAgeSeconds: numberOr(props.MaximumRecordAgeInSeconds, -1),
          ...(onFailureQueueUrl && { onFailureQueueUrl }),
          ...(options.checkpointDir && { checkpointFile: path.join(options.checkpointDir, `${id}.json`) }),
          enabled: props.Enabled !== false && props.Enabled !== 'false',
        },
        { dynamodb: options.dynamodb, streams: options.streams, sqs: options.sqs },
        (event) => fn.invoke(event),
        options.log,
      ),
    );
  }
  return sources;
}
