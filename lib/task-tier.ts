import { Duration, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, FunctionRole, functionEnvironment } from '../lambda/contract';
import {
  asyncAgentLimitErrors,
  consumerTimeoutError,
  leaseSeconds,
  limitWakeUpError,
  maxReceiveCountError,
  minimumVisibilitySeconds,
  tenantMaxConcurrencyError,
} from '../lambda/contract/settings-rules';
import {
  consumerMarginSeconds,
  functionTimeoutFits,
  maxAgentTimeoutSeconds,
} from '../lambda/core/agent-timeout';
import { MetricName } from '../lambda/core/metric-names';
import { SQS_MAX_DELAY_SECONDS } from '../lambda/core/queue-message';
import { LAMBDA_SYNC_PAYLOAD_BYTES, LARGEST_MAX_RESULT_BYTES } from '../lambda/core/record-size';
import { MAX_VISIBILITY_SECONDS } from '../lambda/core/retry-policy';
import type { Priority } from '../lambda/core/task';
import {
  type AgentRegistry,
  agentFunctionTimeout,
  agentLimitErrors,
  agentTargetsJson,
  agentTimeout,
  asyncAgentLimits,
  grantInvokeAgents,
  unusedAgentClients,
} from './agents';
import { HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';
import { grantLimitCounters } from './limit-table';
import { tierMetric } from './task-metrics';
import type { TaskResults } from './task-results';

/**
 * Provisioned mode of a tier's SQS event source: event pollers kept ready, and scaled between the two bounds.
 * On AWS each SQS event poller is one event poller unit (EPU), billed per second while it exists: US$ 0.00925 per
 * EPU-hour in us-east-1 (https://aws.amazon.com/lambda/pricing/, "Provisioned Mode for Event Source Mapping"), so the
 * minimum is an always-on cost of about US$ 6.75 a month per poller (US$ 13.50 for the 2 that SQS requires at least).
 */
export interface ProvisionedPollers {
  /** Event pollers kept at all times, whether messages arrive or not: 2 to 200 (SQS's bounds). */
  readonly minimum: number;
  /**
   * Most event pollers under load: 2 to 2000, at least `minimum`. With provisioned pollers it is what bounds the tier's
   * consumer concurrency, instead of `maxConcurrency`.
   * @default 200 (the event source mapping's own default)
   */
  readonly maximum?: number;
}

/** Options for one priority tier. */
export interface TierOptions {
  /**
   * Messages per consumer invocation. Above 10, `maxBatchingWindow` must be set (an SQS rule).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the event source gathers messages before it invokes the consumer (up to `batchSize`). A longer
   * window makes fuller batches when messages arrive slower than the consumers drain them: fewer ReceiveMessage
   * and DeleteMessageBatch requests and consumer invocations per task. Its price is up to that much more queue
   * wait for the first message of a batch. The low tier's second costs nothing its tasks notice, and took the bench's
   * batches from 2.3 to 9.1 messages: $0.33 less per million tasks in SQS requests and consumer invocations; the high tier invokes at once.
   * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html
   * @default Duration.seconds(1) for `low`, Duration.seconds(0) for `high`
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most consumer invocations of this tier at once (2 to 1000). Not with `provisionedPollers`, which replaces it.
   * @default 50 for `high`, 10 for `low`; none with `provisionedPollers`
   */
  readonly maxConcurrency?: number;
  /**
   * The event source's provisioned mode, for a tier that must start work at once under bursts (the `high` tier): the
   * minimum pollers wait on the queue at all times, and Lambda scales them up about three times faster than the
   * default polling. It pays off when a burst's wait for the default pollers to scale up costs more than the minimum
   * pollers' always-on price (see ProvisionedPollers, and docs/operating.md); for steady or light traffic the default
   * polling costs nothing extra. Mutually exclusive with `maxConcurrency` (an SQS rule): `maximum` bounds the tier then.
   * @default - the default (on-demand) polling, bounded by `maxConcurrency`
   */
  readonly provisionedPollers?: ProvisionedPollers;
  /**
   * Consumer Lambda timeout. Must exceed the slowest agent timeout of the registry by max(5 s, 10 %
   * of the consumer timeout), the room the claim and completion writes need.
   * @default Duration.seconds(120)
   */
  readonly consumerTimeout?: Duration;
  /** @default 256 */
  readonly consumerMemorySize?: number;
  /**
   * Visibility timeout of the tier queue. AWS asks for at least 6 × the consumer timeout plus the batching window.
   * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
   * @default 6 × consumerTimeout + maxBatchingWindow
   */
  readonly visibilityTimeout?: Duration;
}

export const DEFAULT_CONSUMER_TIMEOUT = Duration.seconds(DEFAULTS.consumerTimeoutSeconds);
/** How long a tier queue keeps a message: SQS's default. */
export const DEFAULT_QUEUE_RETENTION = Duration.days(DEFAULTS.retentionPeriodDays);
export const DEFAULT_DEAD_LETTER_RETENTION = Duration.days(DEFAULTS.deadLetterRetentionDays);
export const DEFAULT_TASK_RETENTION = Duration.seconds(DEFAULTS.taskRetentionSeconds);
export interface TaskTierProps extends TierOptions {
  readonly priority: Priority;
  /** The task table the consumer records attempts and outcomes in. */
  readonly table: dynamodb.ITable;
  /**
   * The limiter's table (LimitTable), shared by both tiers' consumers and the functions that settle async
   * attempts, so that every limit holds across all of them.
   */
  readonly limitsTable: dynamodb.ITable;
  /** The results bucket (TaskResults): the consumer stores a result there when its record would cost more. */
  readonly results: TaskResults;
  /** Task types and the agents that run them; the consumer may invoke only these. */
  readonly agents: AgentRegistry;
  /**
   * The base URL of the HTTP API that async agents report back to, without a trailing slash (TaskApi's
   * `callbackBaseUrl`): the consumer sends an async agent `<base>/tasks/<id>` as its callback URL.
   */
  readonly callbackBaseUrl: string;
  /**
   * Deliveries of a message before SQS moves it to the DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(14) */
  readonly deadLetterRetention?: Duration;
  /** @default Duration.days(4) */
  readonly retentionPeriod?: Duration;
  /** @default - SSE with SQS-owned keys */
  readonly encryptionKey?: kms.IKey;
  /**
   * Upper bound of the first retry delay; it doubles per attempt, with full jitter.
   * @default Duration.seconds(2)
   */
  readonly backoffBase?: Duration;
  /** @default Duration.minutes(5) */
  readonly backoffCap?: Duration;
  /**
   * Largest agent result stored on a task, in bytes of JSON; a larger one fails the task with ResultTooLarge.
   * A large result is kept in the results bucket, and `GET /tasks/{id}` answers it within Lambda's 6 MB
   * response, so at most `LARGEST_MAX_RESULT_BYTES` (lambda/core/record-size.ts).
   * @default 262144
   */
  readonly maxResultBytes?: number;
  /**
   * How long a task stays in the table after it ends (TTL on `expires_at`). Must be at least `retentionPeriod`
   * + the longest delay (900 s) + `deadLetterRetention`: a message can arrive that late (redriven from the DLQ).
   * @default Duration.days(30)
   */
  readonly taskRetention?: Duration;
  /**
   * The most tasks of one tenant (`tenant_id`) running at once, across all agents and both tiers: an integer
   * from 1 to `MAX_LIMIT` (1000). Tasks without a tenant are not capped.
   * @default - no cap
   */
  readonly tenantMaxConcurrency?: number;
  /**
   * A task waiting for a limit asks again after 1 s, 2 s, 4 s, … up to this (jittered down by up to half): the
   * longest it waits after a slot frees (plus its tier's `maxBatchingWindow`, which the event source may wait
   * out before it invokes a consumer), and how long a waiting high task holds back low tasks of its type.
   * From 1 second to 900 seconds (SQS's longest message delay: the waiting message is re-sent with it).
   * @default Duration.seconds(5)
   */
  readonly limitWakeUp?: Duration;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /**
   * Lambda's own start, end and report records of every invocation of the functions (HandlerFunction's
   * `systemLogLevel`): `INFO` writes them, `WARN` none.
   * @default 'WARN'
   */
  readonly systemLogLevel?: SystemLogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

/** Resolved settings of a tier. */
export interface TierSettings {
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  /** Undefined in provisioned mode, where the pollers' maximum bounds the tier instead. */
  readonly maxConcurrency: number | undefined;
  /** The event source's provisioned mode; undefined for the default polling. */
  readonly provisionedPollers: ProvisionedPollers | undefined;
  readonly consumerTimeout: Duration;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;
  /** How long a claim holds a task. */
  readonly lease: Duration;
}

/** The props of a tier that its settings are resolved from. */
type TierSettingsInput = TierOptions & { readonly priority: Priority; readonly maxReceiveCount?: number };

const known = (n: number | undefined): n is number => n !== undefined && !Token.isUnresolved(n);

/** Fills in the defaults of a tier's settings. Pure: checking them is `tierSettingsErrors`. */
function resolveTierSettings(props: TierSettingsInput): TierSettings {
  const maxBatchingWindow =
    props.maxBatchingWindow ?? Duration.seconds(DEFAULTS.maxBatchingWindowSeconds[props.priority]);
  const consumerTimeout = props.consumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT;
  const minimumVisibility = minimumVisibilitySeconds(
    consumerTimeout.toSeconds(),
    maxBatchingWindow.toSeconds(),
  );
  return {
    batchSize: props.batchSize ?? DEFAULTS.batchSize,
    maxBatchingWindow,
    maxConcurrency: props.provisionedPollers
      ? props.maxConcurrency
      : (props.maxConcurrency ?? DEFAULTS.maxConcurrency[props.priority]),
    provisionedPollers: props.provisionedPollers,
    consumerTimeout,
    visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(minimumVisibility),
    maxReceiveCount: props.maxReceiveCount ?? DEFAULTS.maxReceiveCount,
    // Longer than any live invocation, over before the message can be seen again (settings-rules.ts).
    lease: Duration.seconds(leaseSeconds(consumerTimeout.toSeconds())),
  };
}

/** Lists every rule a tier's settings break, worded as the CDK does; empty when they are valid. */
function tierSettingsErrors(priority: Priority, settings: TierSettings): string[] {
  const errors: string[] = [];
  const {
    batchSize,
    maxBatchingWindow,
    maxConcurrency,
    consumerTimeout,
    visibilityTimeout,
    maxReceiveCount,
  } = settings;
  const minimumVisibility = minimumVisibilitySeconds(
    consumerTimeout.toSeconds(),
    maxBatchingWindow.toSeconds(),
  );
  const tier = `${priority} tier:`;

  if (known(batchSize) && (batchSize < 1 || batchSize > 10_000)) {
    errors.push(`${tier} batchSize must be between 1 and 10000, but ${batchSize} was provided`);
  }
  if (known(batchSize) && batchSize > 10 && maxBatchingWindow.toSeconds() === 0) {
    errors.push(`${tier} batchSize above 10 needs a maxBatchingWindow, but none was provided`);
  }
  if (maxBatchingWindow.toSeconds() > 300) {
    errors.push(
      `${tier} maxBatchingWindow must be at most 300 seconds, but ${maxBatchingWindow.toSeconds()} was provided`,
    );
  }
  if (known(maxConcurrency) && (maxConcurrency < 2 || maxConcurrency > 1000)) {
    errors.push(`${tier} maxConcurrency must be between 2 and 1000, but ${maxConcurrency} was provided`);
  }
  const receiveCountError = known(maxReceiveCount) ? maxReceiveCountError(maxReceiveCount) : undefined;
  if (receiveCountError) errors.push(receiveCountError);
  const timeoutError = consumerTimeoutError(tier, consumerTimeout.toSeconds());
  if (timeoutError) errors.push(timeoutError);
  if (visibilityTimeout.toSeconds() < minimumVisibility) {
    errors.push(
      `${tier} visibilityTimeout must be at least 6 × consumerTimeout + maxBatchingWindow = ${minimumVisibility} seconds, ` +
        `but ${visibilityTimeout.toSeconds()} was provided`,
    );
  }
  if (visibilityTimeout.toSeconds() > MAX_VISIBILITY_SECONDS) {
    errors.push(
      `${tier} visibilityTimeout must be at most ${MAX_VISIBILITY_SECONDS} seconds, but ${visibilityTimeout.toSeconds()} was provided`,
    );
  }
  return errors;
}

/** SQS's bounds of provisioned pollers (https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html). */
const SQS_POLLERS = { minimum: [2, 200], maximum: [2, 2000] } as const;

/** The rules of provisioned mode: its bounds, and no `maxConcurrency` beside it. */
function provisionedPollerErrors(props: TierSettingsInput): string[] {
  const pollers = props.provisionedPollers;
  if (!pollers) return [];
  const tier = `${props.priority} tier:`;
  const errors: string[] = [];
  if (props.maxConcurrency !== undefined) {
    errors.push(
      `${tier} provisionedPollers and maxConcurrency are mutually exclusive (an SQS rule): in provisioned mode provisionedPollers.maximum bounds the tier, so leave maxConcurrency out`,
    );
  }
  const { minimum, maximum } = pollers;
  const outside = (n: number, [lo, hi]: readonly [number, number]) =>
    !Number.isInteger(n) || n < lo || n > hi;
  if (known(minimum) && outside(minimum, SQS_POLLERS.minimum)) {
    errors.push(
      `${tier} provisionedPollers.minimum must be an integer between ${SQS_POLLERS.minimum[0]} and ${SQS_POLLERS.minimum[1]}, but ${minimum} was provided`,
    );
  }
  if (known(maximum) && outside(maximum, SQS_POLLERS.maximum)) {
    errors.push(
      `${tier} provisionedPollers.maximum must be an integer between ${SQS_POLLERS.maximum[0]} and ${SQS_POLLERS.maximum[1]}, but ${maximum} was provided`,
    );
  }
  if (known(minimum) && known(maximum) && minimum > maximum) {
    errors.push(
      `${tier} provisionedPollers.minimum (${minimum}) must be at most provisionedPollers.maximum (${maximum})`,
    );
  }
  return errors;
}

/** The props of a tier that its rules span: its settings, its agents and its retention and size limits. */
export type TierRulesInput = TierSettingsInput &
  Pick<
    TaskTierProps,
    | 'agents'
    | 'maxResultBytes'
    | 'taskRetention'
    | 'retentionPeriod'
    | 'deadLetterRetention'
    | 'tenantMaxConcurrency'
    | 'limitWakeUp'
  >;

/**
 * Lists every rule a tier's props break: its settings' own rules (`tierSettingsErrors`) and the rules that span
 * its props. The one home of these checks: a TaskTier on its own runs them, and TaskQueue runs them for each of
 * its tiers. Messages of rules that do not depend on the tier name no tier, so that TaskQueue can report them once.
 */
export function tierErrors(props: TierRulesInput): string[] {
  const settings = resolveTierSettings(props);
  return [
    ...tierSettingsErrors(props.priority, settings),
    ...provisionedPollerErrors(props),
    ...agentTimeoutErrors(props.priority, settings.consumerTimeout, props.agents),
    ...agentFunctionTimeoutErrors(props.agents),
    ...asyncAgentErrors(props.priority, settings.consumerTimeout, props.agents),
    ...maxResultBytesErrors(props.maxResultBytes ?? DEFAULTS.maxResultBytes),
    ...taskRetentionErrors(props),
    ...agentLimitErrors(props.agents),
    ...queueLimitErrors(props),
  ];
}

/**
 * The queue-wide limits: the tenant cap bounds a counter item as an agent's `maxConcurrency` does, and the
 * wake-up interval is a message delay, which SQS holds to 900 seconds.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
 */
function queueLimitErrors(props: TierRulesInput): string[] {
  const errors: string[] = [];
  const cap = props.tenantMaxConcurrency;
  const capError = known(cap) ? tenantMaxConcurrencyError(cap) : undefined;
  if (capError) errors.push(capError);
  if (props.limitWakeUp) {
    const ms = props.limitWakeUp.toMilliseconds();
    const wakeUpError = Token.isUnresolved(ms) ? undefined : limitWakeUpError(ms / 1000);
    if (wakeUpError) errors.push(wakeUpError);
  }
  return errors;
}

/**
 * Room for the agent-timeout rule (lambda/core/agent-timeout.ts): the consumer outlives the agent's deadline
 * by the time the claim, throttled writes, a cold secret read and the completion write need.
 */
function agentTimeoutErrors(priority: Priority, consumerTimeout: Duration, agents: AgentRegistry): string[] {
  const timeout = consumerTimeout.toSeconds();
  if (Token.isUnresolved(timeout)) return [];
  const errors: string[] = [];
  for (const [type, agent] of Object.entries(agents)) {
    const seconds = agentTimeout(agent).toSeconds();
    if (!Token.isUnresolved(seconds) && seconds > maxAgentTimeoutSeconds(timeout)) {
      errors.push(
        `agent '${type}' timeout must be at most the ${priority} tier's consumerTimeout − max(5 s, 10 % of consumerTimeout) = ` +
          `${timeout} − ${consumerMarginSeconds(timeout)} = ${maxAgentTimeoutSeconds(timeout)} seconds ` +
          `(room for the claim, throttled writes, a cold secret read and the completion write), but ${seconds} was provided`,
      );
    }
  }
  return errors;
}

/**
 * A sync Lambda agent in the app stops by its agent timeout: the consumer stops waiting then. (An async one
 * runs past it by design; lib/lambda-agent-completion.ts bounds its function timeout by its heartbeat window.)
 */
function agentFunctionTimeoutErrors(agents: AgentRegistry): string[] {
  const errors: string[] = [];
  for (const [type, agent] of Object.entries(agents)) {
    if (agent.mode === 'async') continue;
    const functionTimeout = agentFunctionTimeout(agent)?.toSeconds();
    const seconds = agentTimeout(agent).toSeconds();
    if (
      functionTimeout !== undefined &&
      !Token.isUnresolved(seconds) &&
      !functionTimeoutFits(functionTimeout, seconds)
    ) {
      errors.push(
        `agent '${type}' function timeout must be at most its agent timeout (${seconds} seconds), but ${functionTimeout} was provided: ` +
          'the consumer stops waiting at the agent timeout, and a function still running would overlap the next attempt',
      );
    }
  }
  return errors;
}

/**
 * The limits of async agents: set only in async mode; a heartbeat window within the run time; and a run time
 * within SQS's in-flight limit. An async attempt keeps its message in flight, and SQS holds a received message
 * in flight for at most 12 hours counted from the receive, however often its visibility is extended; the
 * receive comes before the consumer's invocation, which hands off within the consumer timeout
 * (lambda/contract/agent-target.ts `maxRunTimeLimitSeconds`).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
function asyncAgentErrors(priority: Priority, consumerTimeout: Duration, agents: AgentRegistry): string[] {
  const errors: string[] = [];
  for (const [type, agent] of Object.entries(agents)) {
    const limits = asyncAgentLimits(agent);
    if (!limits) {
      const set = (['heartbeatTimeout', 'maxRunTime'] as const).filter((name) => agent[name] !== undefined);
      if (set.length > 0) {
        errors.push(
          `agent '${type}' ${set.join(' and ')} apply to mode 'async' only, but mode is '${agent.mode ?? 'sync'}'`,
        );
      }
      continue;
    }
    const heartbeat = limits.heartbeatTimeout.toSeconds();
    const maxRunTime = limits.maxRunTime.toSeconds();
    if (!known(heartbeat) || !known(maxRunTime)) continue;
    const timeout = consumerTimeout.toSeconds();
    errors.push(
      ...asyncAgentLimitErrors(
        type,
        { heartbeatTimeoutSeconds: heartbeat, maxRunTimeSeconds: maxRunTime },
        known(timeout) ? timeout : undefined,
        `the ${priority} tier's consumerTimeout`,
      ),
    );
  }
  return errors;
}

/**
 * A result must fit the answer of `GET /tasks/{id}`: Lambda's 6 MB response, where the result's text may be
 * escaped twice over (lambda/core/record-size.ts `LARGEST_MAX_RESULT_BYTES`). A large one is kept in the results
 * bucket, so DynamoDB's item limit does not bound it.
 */
function maxResultBytesErrors(maxResult: number): string[] {
  if (Token.isUnresolved(maxResult) || (maxResult >= 1 && maxResult <= LARGEST_MAX_RESULT_BYTES)) return [];
  return [
    `maxResultBytes must be between 1 and ${LARGEST_MAX_RESULT_BYTES} (Lambda's ${LAMBDA_SYNC_PAYLOAD_BYTES}-byte response ` +
      'limit, in which GET /tasks/{id} answers the result, escaped up to twice its size), ' +
      `but ${maxResult} was provided`,
  ];
}

/**
 * A task record must outlive every message of its task. A message can arrive up to the queue's retention
 * after it was sent (a delay counts within it), then wait in the DLQ (a standard queue's DLQ keeps the
 * original enqueue time), and `taskq dlq redrive` sends it back as a new message with a fresh retention. If
 * the record of an ended task (a CANCELLED one, say) is removed by TTL before such a message arrives, the
 * claim creates the record again from the envelope and runs the task.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
 */
function taskRetentionErrors(props: TierRulesInput): string[] {
  const taskRetention = (props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds();
  const queueRetention = (props.retentionPeriod ?? DEFAULT_QUEUE_RETENTION).toSeconds();
  const deadLetterRetention = (props.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION).toSeconds();
  if ([taskRetention, queueRetention, deadLetterRetention].some((n) => Token.isUnresolved(n))) return [];
  const latestArrival = queueRetention + SQS_MAX_DELAY_SECONDS + deadLetterRetention;
  if (taskRetention >= latestArrival) return [];
  return [
    `taskRetention must be at least the queue retention (${queueRetention} s) + the longest delay (${SQS_MAX_DELAY_SECONDS} s) + ` +
      `deadLetterRetention (${deadLetterRetention} s) = ${latestArrival} s, but ${taskRetention} was provided: ` +
      'a message redriven from the DLQ can arrive that late, and would create a removed task again and run it',
  ];
}

/**
 * Tier props that TaskQueue has already checked, together with its own and the other tier's, in one error.
 * A TaskTier built from them does not check them again.
 */
const checkedByQueue = new WeakSet<TaskTierProps>();

/** @internal TaskQueue's promise that it has validated these props; not part of the public API. */
export function checkedTierProps(props: TaskTierProps): TaskTierProps {
  checkedByQueue.add(props);
  return props;
}

/**
 * One priority tier: its queue, the queue's dead-letter queue, and the consumer Lambda that drains it and
 * calls the agents.
 */
export class TaskTier extends Construct {
  public readonly priority: Priority;
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly consumerFunction: HandlerFunction;
  public readonly settings: TierSettings;

  public constructor(scope: Construct, id: string, props: TaskTierProps) {
    super(scope, id);
    this.priority = props.priority;
    this.settings = resolveTierSettings(props);
    if (!checkedByQueue.has(props)) {
      const errors = tierErrors(props);
      if (errors.length > 0) {
        throw new Error(`Invalid TaskTier props (${this.node.path}):\n- ${errors.join('\n- ')}`);
      }
    }
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: props.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION,
      enforceSSL: true,
      ...encryption,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: this.settings.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? DEFAULT_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.settings.maxReceiveCount },
      enforceSSL: true,
      ...encryption,
    });

    this.consumerFunction = new HandlerFunction(this, 'Consumer', {
      handler: 'consumer',
      description: `Runs ${props.priority}-priority tasks`,
      timeout: this.settings.consumerTimeout,
      memorySize: props.consumerMemorySize ?? DEFAULTS.consumerMemorySize,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      // The clients of agent kinds this tier has not are left out: less to compile at each cold start.
      omit: unusedAgentClients(props.agents),
      environment: functionEnvironment(FunctionRole.Consumer, {
        TASK_TABLE_NAME: props.table.tableName,
        AGENTS: agentTargetsJson(Stack.of(this), props.agents),
        BACKOFF_BASE_SECONDS: String(props.backoffBase?.toSeconds() ?? DEFAULTS.backoffBaseSeconds),
        BACKOFF_CAP_SECONDS: String(props.backoffCap?.toSeconds() ?? DEFAULTS.backoffCapSeconds),
        MAX_RESULT_BYTES: String(props.maxResultBytes ?? DEFAULTS.maxResultBytes),
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
        QUEUE_URL: this.queue.queueUrl,
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(this.settings.maxReceiveCount),
        LEASE_SECONDS: String(this.settings.lease.toSeconds()),
        CALLBACK_BASE_URL: props.callbackBaseUrl,
        LIMITS_TABLE_NAME: props.limitsTable.tableName,
        TENANT_MAX_CONCURRENCY: String(props.tenantMaxConcurrency ?? 0),
        LIMIT_WAKE_UP_SECONDS: String(props.limitWakeUp?.toSeconds() ?? DEFAULTS.limitWakeUpSeconds),
        RESULT_BUCKET_NAME: props.results.bucket.bucketName,
      }),
    });
    this.consumerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: this.settings.batchSize,
        maxBatchingWindow:
          this.settings.maxBatchingWindow.toSeconds() > 0 ? this.settings.maxBatchingWindow : undefined,
        maxConcurrency: this.settings.maxConcurrency,
        ...(this.settings.provisionedPollers && {
          provisionedPollerConfig: {
            minimumPollers: this.settings.provisionedPollers.minimum,
            ...(this.settings.provisionedPollers.maximum !== undefined && {
              maximumPollers: this.settings.provisionedPollers.maximum,
            }),
          },
        }),
        reportBatchItemFailures: true,
      }),
    );
    // The event source grants receive and delete; the consumer also changes visibility (backoff), and re-sends
    // the message of a task waiting for a limit, with a delay, to its own queue.
    // (With a KMS key, the DLQ's grant below covers encrypting with it.)
    this.queue.grant(this.consumerFunction, 'sqs:ChangeMessageVisibility', 'sqs:SendMessage');
    this.deadLetterQueue.grantSendMessages(this.consumerFunction);
    // GetItem: a task whose agent or tenant has limits is read before the limiter is asked for its slots.
    // PutItem: a publish message creates its published record when the producer's write failed (topics.ts).
    props.table.grant(this.consumerFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    grantLimitCounters(props.limitsTable, this.consumerFunction);
    grantInvokeAgents(props.agents, this.consumerFunction);
    props.results.grantWrite(this.consumerFunction);
    props.results.grantPayloadRead(this.consumerFunction);
  }

  /**
   * Tasks waiting in the tier queue (visible messages).
   * @default - maximum over 5 minutes
   */
  public metricQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /**
   * Messages in flight in the tier queue: received and not yet deleted. Each running async task holds one for
   * its whole run, and a standard queue holds at most about 120,000; near that limit receives fail and the
   * whole tier stalls.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
   * @default - maximum over 5 minutes
   */
  public metricMessagesInFlight(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', ...props });
  }

  /**
   * Message groups (tenants, by `tenant_id`) that SQS fair queues currently treat as noisy in the tier queue:
   * a noisy tenant holds a disproportionate share of the in-flight messages or of the consumers' processing
   * time, and SQS delivers the quiet tenants' messages ahead of its backlog. Zero when no task has a tenant.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html
   * @default - maximum over 5 minutes
   */
  public metricNoisyGroups(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metric('ApproximateNumberOfNoisyGroups', { statistic: 'Maximum', ...props });
  }

  /**
   * Seconds the oldest task of the tier queue has waited.
   * @default - maximum over 5 minutes
   */
  public metricAgeOfOldestMessage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', ...props });
  }

  /**
   * Messages in the tier's dead-letter queue.
   * @default - maximum over 5 minutes
   */
  public metricDeadLetterDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Tasks accepted by POST /tasks for this tier. @default - sum over 5 minutes */
  public metricTasksAccepted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.TasksAccepted, props);
  }

  /** Tasks that succeeded. @default - sum over 5 minutes */
  public metricTasksSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.TasksSucceeded, props);
  }

  /** Tasks that failed for good. @default - sum over 5 minutes */
  public metricTasksFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.TasksFailed, props);
  }

  /** Agent attempts that failed transiently and will be retried. @default - sum over 5 minutes */
  public metricTasksRetried(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.TasksRetried, props);
  }

  /** Tasks cancelled by DELETE /tasks/{id}. @default - sum over 5 minutes */
  public metricTasksCancelled(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.TasksCancelled, props);
  }

  /** Milliseconds from enqueue to the first attempt's start. @default - p99 over 5 minutes */
  public metricQueueWait(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.QueueWait, { statistic: 'p99', ...props });
  }

  /** Milliseconds the agent took to answer, per attempt. @default - p99 over 5 minutes */
  public metricAgentLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.AgentLatency, { statistic: 'p99', ...props });
  }

  /** Milliseconds from enqueue to the task's terminal state. @default - p99 over 5 minutes */
  public metricEndToEndLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return tierMetric(this.priority, MetricName.EndToEndLatency, { statistic: 'p99', ...props });
  }
}
