/**
 * Emulates a Lambda event source mapping on an SQS queue, as the Lambda service does:
 * long polling; batches of `BatchSize` gathered for at most `MaximumBatchingWindowInSeconds`; at most
 * `ScalingConfig.MaximumConcurrency` invocations at once; and deletion of the handled messages only.
 * With `ReportBatchItemFailures` the messages the function reports stay on the queue; a throw or a
 * timeout deletes nothing. Messages left on the queue come back after their visibility timeout, and the
 * queue's own redrive policy moves them to its DLQ, as on AWS.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { FunctionLookup } from './functions';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import type { InvokeResult } from './lambda-pool';
import { streamTables } from './stream-source';
import { resourcesOfType } from './template';

export interface EventSourceSettings {
  readonly logicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  /** @default 10 */
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly reportBatchItemFailures: boolean;
  readonly enabled: boolean;
}

/** A second delivery of a message: its new receipt handle and receive count, or nothing. */
export type DuplicateDelivery = { readonly receiptHandle: string; readonly receiveCount: number } | undefined;

export interface EventSourceStats {
  /** Invocations running now. */
  inFlight: number;
  /** Records deleted after their invocation handled them. */
  succeeded: number;
  /** Records left on the queue by a failed invocation or a reported item failure. */
  failed: number;
  /** SQS calls the mapping made (on AWS, Lambda's pollers make them and SQS bills them to the queue's owner). */
  receiveCalls: number;
  /** Of those, the ReceiveMessage calls that returned no message (long polls that ran out). */
  emptyReceiveCalls: number;
  deleteBatchCalls: number;
}

/** SQS's limit per ReceiveMessage call, and per DeleteMessageBatch call (more is TooManyEntriesInBatchRequest). */
const MAX_RECEIVE = 10;
const MAX_BATCH_ENTRIES = 10;
/** SQS's longest long poll. */
const LONG_POLL_SECONDS = 20;
/** Between two receives that do not wait, in the last second of a batching window. */
const SHORT_POLL_PAUSE_MS = 50;

function toRecord(message: Message, settings: EventSourceSettings): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.MessageGroupId && { MessageGroupId: a.MessageGroupId }),
      ...(a.MessageDeduplicationId && { MessageDeduplicationId: a.MessageDeduplicationId }),
      ...(a.SequenceNumber && { SequenceNumber: a.SequenceNumber }),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, v]) => [
        name,
        {
          dataType: v.DataType ?? 'String',
          ...(v.StringValue !== undefined && { stringValue: v.StringValue }),
          ...(v.BinaryValue !== undefined && { binaryValue: Buffer.from(v.BinaryValue).toString('base64') }),
          stringListValues: v.StringListValues ?? [],
          binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: settings.queueArn,
    awsRegion: settings.region,
  };
}

/**
 * The records to delete after an invocation. A malformed batch-item-failure response fails the whole
 * batch, as Lambda does.
 */
export function recordsToDelete(
  records: readonly SQSRecord[],
  outcome: InvokeResult,
  reportItemFailures: boolean,
) {
  if (!outcome.ok) return [];
  if (!reportItemFailures) return [...records];
  const failures = (outcome.result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return [...records];
  if (!Array.isArray(failures)) return [];
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return [];
    failed.add(id);
  }
  return records.filter((r) => !failed.has(r.messageId));
}

export class SqsEventSource {
  public readonly stats: EventSourceStats = {
    inFlight: 0,
    succeeded: 0,
    failed: 0,
    receiveCalls: 0,
    emptyReceiveCalls: 0,
    deleteBatchCalls: 0,
  };
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;

  public constructor(
    public readonly settings: EventSourceSettings,
    private readonly sqs: SQSClient,
    private readonly invoke: (event: { Records: SQSRecord[] }) => Promise<InvokeResult>,
    private readonly log: (line: string) => void,
    /**
     * Fault injection: a second delivery of a received message, in its own invocation, as SQS makes one: the
     * emulator gives the message a new receipt handle and a receive count one higher. Nothing delivers it once.
     */
    private readonly duplicate: (message: Message) => DuplicateDelivery | Promise<DuplicateDelivery> = () =>
      undefined,
  ) {}

  public start(): void {
    if (this.settings.enabled) this.loop = this.poll();
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    this.stats.receiveCalls++;
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.settings.queueUrl,
        MaxNumberOfMessages: Math.min(max, MAX_RECEIVE),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    if (!out.Messages?.length) this.stats.emptyReceiveCalls++;
    return out.Messages ?? [];
  }

  /**
   * One batch: long-poll for the first message, then gather up to BatchSize within the batching window.
   * ReceiveMessage waits in whole seconds, so the window's last fraction of a second (all of a 1 s window, once
   * the first receive has taken a few milliseconds) is gathered by receives that do not wait, a short pause apart.
   */
  private async batch(): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.settings;
    const messages = await this.receive(batchSize, LONG_POLL_SECONDS);
    if (messages.length === 0 || maxBatchingWindowSeconds <= 0) return messages;
    const windowEnd = Date.now() + maxBatchingWindowSeconds * 1000;
    while (messages.length < batchSize && !this.stopping) {
      const leftMs = windowEnd - Date.now();
      if (leftMs <= 0) break;
      const waitSeconds = Math.min(Math.floor(leftMs / 1000), LONG_POLL_SECONDS);
      const got = await this.receive(batchSize - messages.length, waitSeconds);
      messages.push(...got);
      if (got.length === 0 && waitSeconds === 0) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(leftMs, SHORT_POLL_PAUSE_MS)));
      }
    }
    return messages;
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      if (this.running.size >= this.settings.maxConcurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.batch();
      } catch (error) {
        if (this.stopping) return;
        this.log(`[${this.settings.logicalId}] receive failed: ${(error as Error).message}; retrying in 1 s`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      const records = messages.map((m) => toRecord(m, this.settings));
      const twice: SQSRecord[] = [];
      for (const message of messages) {
        const again = await this.duplicate(message);
        if (!again) continue;
        const copy = toRecord(message, this.settings);
        twice.push({
          ...copy,
          receiptHandle: again.receiptHandle,
          attributes: { ...copy.attributes, ApproximateReceiveCount: String(again.receiveCount) },
        });
      }
      for (const batch of twice.length > 0 ? [records, twice] : [records]) {
        const run = this.handle(batch).finally(() => {
          this.running.delete(run);
          this.slotFreed?.();
        });
        this.running.add(run);
      }
    }
  }

  private async handle(records: SQSRecord[]): Promise<void> {
    this.stats.inFlight += records.length;
    let outcome: InvokeResult;
    try {
      outcome = await this.invoke({ Records: records });
    } finally {
      this.stats.inFlight -= records.length;
    }
    if (!outcome.ok) {
      this.log(
        `[${this.settings.logicalId}] invocation failed (${outcome.error.errorType}: ${outcome.error.errorMessage}); ` +
          `its ${records.length} message(s) stay on the queue`,
      );
    }
    const done = recordsToDelete(records, outcome, this.settings.reportBatchItemFailures);
    this.stats.failed += records.length - done.length;
    if (done.length === 0 || this.stopping) return;
    // A batch can hold up to BatchSize (10,000) records; SQS deletes at most 10 per call.
    for (let start = 0; start < done.length; start += MAX_BATCH_ENTRIES) {
      await this.deleteBatch(done.slice(start, start + MAX_BATCH_ENTRIES));
    }
  }

  private async deleteBatch(records: readonly SQSRecord[]): Promise<void> {
    this.stats.deleteBatchCalls++;
    try {
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.settings.queueUrl,
          Entries: records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
      this.stats.succeeded += out.Successful?.length ?? 0;
      for (const f of out.Failed ?? []) {
        this.log(`[${this.settings.logicalId}] delete failed: ${f.Code} ${f.Message ?? ''}`);
      }
    } catch (error) {
      this.log(`[${this.settings.logicalId}] delete failed: ${(error as Error).message}`);
    }
  }

  /** Stops polling; invocations still running are abandoned and their messages come back after their visibility timeout. */
  public async stop(): Promise<void> {
    this.abort.abort();
    this.slotFreed?.();
    await this.loop?.catch(() => {});
  }
}

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly functions: FunctionLookup;
  /** Most execution environments per function: no mapping invokes more at once. */
  readonly maxWorkers: number;
  readonly log: (line: string) => void;
  /** Fault injection: a second delivery of a message received from the queue named `queueName`. */
  readonly duplicate?: (
    queueName: string,
    message: Message,
  ) => DuplicateDelivery | Promise<DuplicateDelivery>;
}

/**
 * The template's AWS::Lambda::EventSourceMapping resources on its own SQS queues, not yet started. Those on its
 * tables' streams are stream-source.ts's; any other event source is reported as not emulated.
 */
export function sqsEventSources(
  ctx: IntrinsicContext,
  options: EventSourceOptions,
): { readonly sources: SqsEventSource[]; readonly notEmulated: string[] } {
  const queueByArn = new Map(
    resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => [
      ctx.resources.get(id)!.attributes.Arn!,
      ctx.resources.get(id)!,
    ]),
  );
  const streams = streamTables(ctx);
  const sources: SqsEventSource[] = [];
  const notEmulated: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Lambda::EventSourceMapping')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as Record<string, unknown>;
    if (streams.has(String(props.EventSourceArn))) continue;
    const queue = queueByArn.get(String(props.EventSourceArn));
    if (!queue) {
      notEmulated.push(`${id} (event source ${String(props.EventSourceArn)})`);
      continue;
    }
    const fn = options.functions(String(props.FunctionName), id);
    // Filters run on table streams (stream-source.ts), not here: the mapping runs, and the banner says so.
    if (props.FilterCriteria !== undefined)
      notEmulated.push(
        `${id} (FilterCriteria of an SQS event source: not applied, every message reaches the function)`,
      );
    const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    const queueName = queue.attributes.QueueName!;
    const duplicate = options.duplicate;
    sources.push(
      new SqsEventSource(
        {
          logicalId: id,
          queueUrl: queue.ref,
          queueArn: queue.attributes.Arn!,
          region: ctx.region,
          batchSize: Number(props.BatchSize ?? 10),
          maxBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
          // No more invocations than the function has environments: a received message waits for none.
          maxConcurrency: Math.min(Number(scaling?.MaximumConcurrency ?? 1000), options.maxWorkers),
          reportBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          enabled: props.Enabled !== false && props.Enabled !== 'false',
        },
        options.sqs,
        (event) => fn.invoke(event),
        options.log,
        duplicate && ((message) => duplicate(queueName, message)),
      ),
    );
  }
  return { sources, notEmulated };
}
