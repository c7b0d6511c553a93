import { Duration, Token } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Priority } from '../lambda/core/task';
import { HandlerFunction } from './handler-function';

/** Options for one priority tier. */
export interface TierOptions {
  /**
   * Messages per consumer invocation. Above 10, `maxBatchingWindow` must be set (an SQS rule).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the event source gathers messages before it invokes the consumer.
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most consumer invocations of this tier at once (2 to 1000).
   * @default 50 for `high`, 10 for `low`
   */
  readonly maxConcurrency?: number;
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

export const TIER_DEFAULTS: Readonly<Record<Priority, { maxConcurrency: number }>> = {
  // Low can never take the whole account's concurrency, so high always has room to run.
  high: { maxConcurrency: 50 },
  low: { maxConcurrency: 10 },
};

export const DEFAULT_CONSUMER_TIMEOUT = Duration.seconds(120);
/** How long a tier queue keeps a message: SQS's default. */
export const DEFAULT_QUEUE_RETENTION = Duration.days(4);
export const DEFAULT_DEAD_LETTER_RETENTION = Duration.days(14);

export interface TaskTierProps extends TierOptions {
  readonly priority: Priority;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(14) */
  readonly deadLetterRetention?: Duration;
  /** @default Duration.days(4) */
  readonly retentionPeriod?: Duration;
  /** @default - SSE with SQS-owned keys */
  readonly encryptionKey?: kms.IKey;
  /** Environment shared by both tiers' consumers (table, agents, retry policy). */
  readonly consumerEnvironment: Record<string, string>;
  /** Seconds a claim holds a task; derived from the consumer timeout when left out. */
  readonly leaseSeconds?: number;
  readonly logLevel?: string;
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

/** Resolved numbers of a tier, validated. Exposed for tests and for the alarms. */
export interface TierSettings {
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly maxConcurrency: number;
  readonly consumerTimeout: Duration;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly leaseSeconds: number;
}

const known = (n: number | undefined): n is number => n !== undefined && !Token.isUnresolved(n);

/** Checks every rule, collects the violations, and throws once with all of them. */
export function resolveTierSettings(props: TaskTierProps): TierSettings {
  const { settings, errors } = checkTierSettings(props);
  if (errors.length > 0) throw new Error(`Invalid TaskQueue props:\n- ${errors.join('\n- ')}`);
  return settings;
}

/**
 * Resolves a tier's settings and lists every rule they break, without throwing, so that TaskQueue can report
 * the problems of both tiers and of its own props in one error.
 */
export function checkTierSettings(props: TaskTierProps): { settings: TierSettings; errors: string[] } {
  const errors: string[] = [];
  const batchSize = props.batchSize ?? 10;
  const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(0);
  const maxConcurrency = props.maxConcurrency ?? TIER_DEFAULTS[props.priority].maxConcurrency;
  const consumerTimeout = props.consumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT;
  const maxReceiveCount = props.maxReceiveCount ?? 5;
  const minimumVisibility = consumerTimeout.toSeconds() * 6 + maxBatchingWindow.toSeconds();
  const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(minimumVisibility);
  const tier = `${props.priority} tier:`;

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
  if (known(maxReceiveCount) && maxReceiveCount < 1) {
    errors.push(`maxReceiveCount must be 1 or more, but ${maxReceiveCount} was provided`);
  }
  if (consumerTimeout.toSeconds() < 1 || consumerTimeout.toSeconds() > 900) {
    errors.push(
      `${tier} consumerTimeout must be between 1 and 900 seconds, but ${consumerTimeout.toSeconds()} was provided`,
    );
  }
  if (visibilityTimeout.toSeconds() < minimumVisibility) {
    errors.push(
      `${tier} visibilityTimeout must be at least 6 × consumerTimeout + maxBatchingWindow = ${minimumVisibility} seconds, ` +
        `but ${visibilityTimeout.toSeconds()} was provided`,
    );
  }
  if (visibilityTimeout.toSeconds() > 43_200) {
    errors.push(
      `${tier} visibilityTimeout must be at most 43200 seconds, but ${visibilityTimeout.toSeconds()} was provided`,
    );
  }

  // A claim outlives the invocation that made it, and is over before the message can be seen again.
  // Twice the timeout: longer than any live invocation, and at most a third of the visibility timeout, so a
  // redelivered message always finds the claim of a dead consumer expired.
  const leaseSeconds = props.leaseSeconds ?? consumerTimeout.toSeconds() * 2;
  return {
    settings: {
      batchSize,
      maxBatchingWindow,
      maxConcurrency,
      consumerTimeout,
      visibilityTimeout,
      maxReceiveCount,
      leaseSeconds,
    },
    errors,
  };
}

/**
 * One priority tier: its queue, the queue's dead-letter queue, and the consumer Lambda that drains it.
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
      memorySize: props.consumerMemorySize,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        ...props.consumerEnvironment,
        QUEUE_URL: this.queue.queueUrl,
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(this.settings.maxReceiveCount),
        LEASE_SECONDS: String(this.settings.leaseSeconds),
      },
    });
    this.consumerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: this.settings.batchSize,
        maxBatchingWindow:
          this.settings.maxBatchingWindow.toSeconds() > 0 ? this.settings.maxBatchingWindow : undefined,
        maxConcurrency: this.settings.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // The event source grants receive and delete; the consumer also changes visibility (backoff).
    this.queue.grant(this.consumerFunction, 'sqs:ChangeMessageVisibility');
    this.deadLetterQueue.grantSendMessages(this.consumerFunction);
  }
}
