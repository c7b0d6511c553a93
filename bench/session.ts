/**
 * One local runtime for the whole benchmark, with its function logs captured (for the log-bytes figure) and the
 * helpers the figures share: submitting tasks over HTTP, reading task records, waiting for queues to drain.
 */
import * as path from 'node:path';
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  ApiError,
  type KeepAliveFetch,
  keepAliveFetch,
  type SubmitTaskInput,
  TaskQueueClient,
} from '../cli/api-client';
import { PRIORITIES } from '../lambda/core/task';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../local/runtime';
import { runConcurrent, waitFor } from './load';
import { RawPath } from './raw-path';

export interface CapturedLine {
  /** The function's logical id, or the runtime part that logged the line. */
  readonly source: string;
  readonly line: string;
}

/** Optional request counting that the AWS proxy adds to the runtime; absent in runtimes without it. */
interface AwsCallCounting {
  awsCalls(): Record<string, number>;
  resetAwsCalls(): void;
}

export interface TaskRecordTimes {
  readonly task_id: string;
  readonly status: string;
  readonly created_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  /** The whole item, for the item-size figure. */
  readonly item: Record<string, unknown>;
}

export class BenchSession {
  public readonly api: TaskQueueClient;
  /** The API client's transport: keep-alive sockets, so that the load generator costs little. */
  private readonly transport: KeepAliveFetch = keepAliveFetch();
  public readonly raw: RawPath;
  /** Logical ids of the template's functions, by role. */
  public readonly functions: {
    producer: string[];
    consumer: string[];
    status: string[];
    callback: string[];
    /** The events publisher on the table's stream, when events are on. */
    publisher: string[];
    /** The accepted-tasks counter (AcceptedTasksCounter), on the task table stream. */
    counter: string[];
    all: Set<string>;
  };
  private readonly memoryByFunction = new Map<string, number>();
  private capturing = false;
  private captured: CapturedLine[] = [];
  /** Durations (ms) of the invocations that ended while capturing, by function logical id. */
  private capturedInvocations = new Map<string, number[]>();
  public readonly runtimeMessages: string[] = [];

  private constructor(
    public readonly runtime: LocalRuntime,
    private readonly startMs: number,
    logs: BenchSessionLogs,
    invocations: BenchSessionInvocations,
  ) {
    this.api = new TaskQueueClient({ endpoint: runtime.apiUrl, fetch: this.transport });
    this.raw = new RawPath({
      aws: runtime.awsEndpoint,
      dynamodb: runtime.dynamodbEndpoint,
      tableName: this.tableName,
      agentsUrl: runtime.agentsUrl!,
    });
    // The template the runtime runs.
    const { template } = runtime;
    const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    for (const [id, r] of fns) this.memoryByFunction.set(id, Number(r.Properties?.MemorySize ?? 128));
    const byPath = (suffix: string) =>
      fns.filter(([, r]) => String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(suffix)).map(([id]) => id);
    this.functions = {
      producer: byPath('/Producer/Resource'),
      consumer: byPath('/Consumer/Resource'),
      status: byPath('/Status/Resource'),
      callback: byPath('/Callback/Resource'),
      publisher: byPath('/EventPublisher/Resource'),
      counter: byPath('/AcceptedTasks/Function/Resource'),
      all: new Set(fns.map(([id]) => id)),
    };
    logs.sink = (line) => this.onLog(line);
    invocations.sink = (logicalId, durationMs) => {
      if (!this.capturing) return;
      const list = this.capturedInvocations.get(logicalId) ?? [];
      list.push(durationMs);
      this.capturedInvocations.set(logicalId, list);
    };
  }

  /**
   * Starts a runtime on free ports. A session with its own configuration (timeouts, agents) should have its own
   * `outdir`, so that it and the default session keep their synth caches across runs.
   */
  public static async start(
    options: Pick<
      LocalRuntimeOptions,
      | 'maxWorkersPerFunction'
      | 'outdir'
      | 'timeouts'
      | 'heartbeatTimeoutSeconds'
      | 'agentsUrl'
      | 'onInvocation'
      | 'tenantMaxConcurrency'
      | 'limitWakeUpSeconds'
      | 'events'
    >,
  ): Promise<BenchSession> {
    const logs = new BenchSessionLogs();
    const invocations = new BenchSessionInvocations();
    const t0 = Date.now();
    const outdir = options.outdir ?? path.join(__dirname, '..', 'cdk.local.out');
    const runtime = await startLocalRuntime({
      ...options,
      demoAgents: true,
      // The demo publishes events; a benchmark measures without them unless it asks (figure 5 does).
      events: options.events ?? false,
      port: 0,
      awsPort: 0,
      dynamodbPort: 0,
      outdir,
      log: (line) => logs.write(line),
      onInvocation: (invocation) => {
        invocations.sink?.(invocation.logicalId, invocation.durationMs);
        options.onInvocation?.(invocation);
      },
    });
    return new BenchSession(runtime, Date.now() - t0, logs, invocations);
  }

  /** The function's configured memory, from the template. */
  public memoryMB(logicalId: string): number {
    return this.memoryByFunction.get(logicalId) ?? 128;
  }

  public get startupMs(): number {
    return this.startMs;
  }

  public get tableName(): string {
    return this.runtime.outputs.TaskTableName!;
  }

  public queueUrl(priority: 'high' | 'low'): string {
    return this.runtime.outputs[priority === 'high' ? 'HighQueueUrl' : 'LowQueueUrl']!;
  }

  private onLog(line: string): void {
    const match = /^\[([^\]]+)\] ?(.*)$/.exec(line);
    const source = match?.[1] ?? 'runtime';
    if (!this.functions?.all.has(source)) {
      if (this.runtimeMessages.length < 200) this.runtimeMessages.push(line);
      return;
    }
    if (this.capturing) this.captured.push({ source, line: match![2]! });
  }

  /** Starts keeping the functions' log lines, forgetting earlier ones. */
  public startCapture(): void {
    this.captured = [];
    this.capturedInvocations = new Map();
    this.capturing = true;
  }

  /** The lines captured so far, without stopping. */
  public peekCaptured(): readonly CapturedLine[] {
    return this.captured;
  }

  /** The invocations since `startCapture`: their durations (ms) by function logical id. */
  public invocationsSinceCapture(): Record<string, number[]> {
    return Object.fromEntries([...this.capturedInvocations].map(([id, ms]) => [id, [...ms]]));
  }

  public stopCapture(): CapturedLine[] {
    this.capturing = false;
    const lines = this.captured;
    this.captured = [];
    return lines;
  }

  /** The proxy's request counts, when the runtime has them. */
  public get awsCounting(): AwsCallCounting | undefined {
    const r = this.runtime as unknown as Partial<AwsCallCounting>;
    return typeof r.awsCalls === 'function' && typeof r.resetAwsCalls === 'function'
      ? (r as AwsCallCounting)
      : undefined;
  }

  public succeeded(): number {
    return this.runtime.status().succeeded;
  }

  /**
   * Answers of 200 to a request without an idempotency key: the task's consumer claimed it (creating its record
   * from the message) before the producer's PutItem, so the producer took its own task for a replay. The task
   * was accepted and runs once, so the benchmark counts it as accepted and reports how often it happened.
   */
  public ownTaskReplays = 0;

  /** POST /tasks; returns the task id, or throws unless the task was accepted. */
  public async submit(task: SubmitTaskInput): Promise<string> {
    let answer: Awaited<ReturnType<TaskQueueClient['submit']>>;
    try {
      answer = await this.api.submit(task);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      throw new Error(`POST /tasks answered ${error.status} ${error.code}: ${error.message}`, {
        cause: error,
      });
    }
    const { task: accepted, replayed } = answer;
    if (replayed) this.ownTaskReplays++;
    return accepted.task_id;
  }

  /** Submits `count` tasks at `concurrency`; returns their ids in order. */
  public async submitMany(count: number, concurrency: number, body: (i: number) => SubmitTaskInput) {
    const out = await runConcurrent(count, concurrency, (i) => this.submit(body(i)));
    if (out.errors > 0)
      throw new Error(`${out.errors} of ${count} submissions failed; first: ${out.firstError}`);
    return out;
  }

  /**
   * Brings every function to its full pool of warm execution environments (the runtime warms one each), so that
   * no figure pays worker start-ups that it does not mean to measure.
   */
  public async warmUp(timeoutMs: number): Promise<void> {
    const before = this.succeeded();
    const n = 120;
    await this.submitMany(n, 32, (i) => ({
      type: 'echo',
      priority: i % 2 ? 'high' : 'low',
      payload: { warm: i },
    }));
    await this.waitSucceeded(before, n, timeoutMs);
    await this.waitIdle(timeoutMs);
  }

  /**
   * Waits until the event sources have deleted `count` more messages than `before`. Gives up early, saying why,
   * when deliveries keep failing (a broken run should not hold the benchmark for the whole timeout).
   */
  public async waitSucceeded(before: number, count: number, timeoutMs: number): Promise<void> {
    const failedBefore = this.runtime.status().failed;
    await waitFor(
      `${count} tasks to succeed`,
      () => {
        const failed = this.runtime.status().failed - failedBefore;
        if (failed > Math.max(50, count * 0.05)) {
          throw new Error(
            `${failed} deliveries failed while waiting for ${count} tasks (${this.describeStatus(before)}); ` +
              `retry reasons in the captured logs: ${this.retryReasons()}`,
          );
        }
        return this.succeeded() - before >= count;
      },
      timeoutMs,
      50,
      () => this.describeStatus(before),
    );
  }

  /** The most frequent `detail` of "task retrying"/"task failed" lines captured so far. */
  private retryReasons(): string {
    const reasons = new Map<string, number>();
    for (const { line } of this.captured) {
      if (!line.includes('"task retrying"') && !line.includes('"task failed"')) continue;
      const detail = (JSON.parse(line) as { detail?: string }).detail ?? 'unknown';
      reasons.set(detail, (reasons.get(detail) ?? 0) + 1);
    }
    return (
      [...reasons]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ') || 'none captured'
    );
  }

  /** Waits until both tier queues hold nothing, ready or in flight. */
  public async waitIdle(timeoutMs: number): Promise<void> {
    await waitFor(
      'the tier queues to drain',
      () => {
        const s = this.runtime.status();
        return (
          s.inFlight === 0 &&
          s.queues.every((q) => q.label.endsWith('DeadLetterQueue') || q.depth + q.inFlight === 0)
        );
      },
      timeoutMs,
      200,
      () => this.describeStatus(),
    );
  }

  /** Queue depths and counters, for progress lines and timeout messages. */
  public describeStatus(succeededBefore = 0): string {
    const s = this.runtime.status();
    const queues = s.queues.map((q) => `${q.label} ${q.depth}+${q.inFlight}`).join(', ');
    return `${queues}; in flight ${s.inFlight}, succeeded ${s.succeeded - succeededBefore}, failed ${s.failed}`;
  }

  /** Empties both tier queues (of delayed messages too). */
  public async purgeTiers(): Promise<void> {
    for (const priority of PRIORITIES) {
      await this.raw.sqs.send(new PurgeQueueCommand({ QueueUrl: this.queueUrl(priority) }));
    }
  }

  /** Reads task records straight from DynamoDB Local (not through the API, which would add load). */
  public async records(ids: readonly string[]): Promise<TaskRecordTimes[]> {
    const out: TaskRecordTimes[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let keys = ids.slice(i, i + 100).map((id) => ({ task_id: { S: id } }));
      while (keys.length > 0) {
        const res = await this.raw.dynamodb.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) {
          const record = unmarshall(item) as Record<string, unknown>;
          out.push({
            task_id: String(record.task_id),
            status: String(record.status),
            created_at: String(record.created_at),
            ...(record.started_at !== undefined && { started_at: String(record.started_at) }),
            ...(record.finished_at !== undefined && { finished_at: String(record.finished_at) }),
            item: record,
          });
        }
        keys = (res.UnprocessedKeys?.[this.tableName]?.Keys as typeof keys | undefined) ?? [];
      }
    }
    return out;
  }

  public async stop(): Promise<void> {
    this.transport.close();
    this.raw.destroy();
    await this.runtime.stop();
  }
}

/** Holds log lines until the session exists to take them (the runtime logs while it starts). */
class BenchSessionLogs {
  public sink?: (line: string) => void;
  private readonly early: string[] = [];
  public write(line: string): void {
    if (this.sink) this.sink(line);
    else this.early.push(line);
  }
}

/** Passes the runtime's invocations to the session once it exists (none end before it does: no task runs). */
class BenchSessionInvocations {
  public sink?: (logicalId: string, durationMs: number) => void;
}
