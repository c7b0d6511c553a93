/**
 * The contract between the constructs (lib/) and the handlers: which environment variables each function gets,
 * and the defaults the construct fills them with. lib/ writes the environment from these types; handlers read it
 * through lambda/adapters/env.ts, which throws when a variable is missing. A handler has no defaults of its own:
 * the construct decides, the handler requires.
 *
 * No imports: this module is bundled into every handler and loaded by the CDK app, so it must pull in neither
 * aws-cdk-lib nor the AWS SDK.
 */

/** Every environment variable a handler reads, by what it points to. */
export const EnvName = {
  /** Which of our functions this is; the local runtime tells functions apart by it. */
  FunctionRole: 'TASKQ_FUNCTION_ROLE',
  /** Every function: the level it logs at (the construct's `logLevel`), read by lambda/adapters/logger.ts. */
  LogLevel: 'LOG_LEVEL',
  TaskTableName: 'TASK_TABLE_NAME',
  /** Producer: the queue of each tier. */
  HighQueueUrl: 'HIGH_QUEUE_URL',
  LowQueueUrl: 'LOW_QUEUE_URL',
  /** Producer: the registered task types, comma-separated. */
  TaskTypes: 'TASK_TYPES',
  /** Producer: the topics and their subscribers, as JSON (contract/topics.ts `encodeTopics`). */
  Topics: 'TOPICS',
  MaxBodyBytes: 'MAX_BODY_BYTES',
  MaxJsonDepth: 'MAX_JSON_DEPTH',
  /** Seconds a finished or cancelled task stays in the table. */
  TaskRetentionSeconds: 'TASK_RETENTION_SECONDS',
  /**
   * The results bucket: a result too large to store in its record cheaply is kept there (result-storage.ts).
   * Written by what records results (consumer, callback, completion), read by what answers them (producer, status).
   */
  ResultBucketName: 'RESULT_BUCKET_NAME',
  /** Consumer: its tier's queue and DLQ. */
  QueueUrl: 'QUEUE_URL',
  DeadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Consumer: the agent targets as JSON (see agent-target.ts). */
  Agents: 'AGENTS',
  MaxReceiveCount: 'MAX_RECEIVE_COUNT',
  LeaseSeconds: 'LEASE_SECONDS',
  BackoffBaseSeconds: 'BACKOFF_BASE_SECONDS',
  BackoffCapSeconds: 'BACKOFF_CAP_SECONDS',
  MaxResultBytes: 'MAX_RESULT_BYTES',
  /**
   * Consumer: the HTTP API's base URL (no trailing slash); an async agent's callback base is
   * `<base>/tasks/<id>`.
   */
  CallbackBaseUrl: 'CALLBACK_BASE_URL',
  /** Consumer, callback, completion: the limiter's counters (lambda/core/limits.ts). */
  LimitsTableName: 'LIMITS_TABLE_NAME',
  /** Consumer: the most tasks of one tenant running at once; `0`, no cap. */
  TenantMaxConcurrency: 'TENANT_MAX_CONCURRENCY',
  /** Consumer: the longest a task waiting for a limit goes between two asks, in seconds. */
  LimitWakeUpSeconds: 'LIMIT_WAKE_UP_SECONDS',
  /** Sweeper: every tier's DLQ, comma-separated. */
  DeadLetterQueueUrls: 'DEAD_LETTER_QUEUE_URLS',
  RedriveGraceSeconds: 'REDRIVE_GRACE_SECONDS',
  SweepMaxMessages: 'SWEEP_MAX_MESSAGES',
  /** Event publisher: the events topic it publishes to. */
  EventsTopicArn: 'EVENTS_TOPIC_ARN',
  /** Event publisher: where events the topic refused are kept for replay. */
  UnpublishedEventsQueueUrl: 'UNPUBLISHED_EVENTS_QUEUE_URL',
  /** Event publisher: the statuses whose transitions make an event, comma-separated. */
  EventTransitions: 'EVENT_TRANSITIONS',
} as const;
export type EnvName = (typeof EnvName)[keyof typeof EnvName];

/** The value of `TASKQ_FUNCTION_ROLE`, one per kind of function the construct builds. */
export const FunctionRole = {
  Producer: 'producer',
  Status: 'status',
  Consumer: 'consumer',
  Sweeper: 'sweeper',
  /** POST /tasks/{id}/heartbeat and /complete: an async agent reports back. */
  Callback: 'callback',
  /** The destination of async Lambda agents of the app: their invocation records complete the attempt. */
  Completion: 'completion',
  Agent: 'agent',
  /** Reads the task table's stream and publishes task lifecycle events. */
  EventPublisher: 'event-publisher',
  /** Reads the task table's stream and counts the tasks accepted (the `TasksAccepted` metric). */
  AcceptedTasks: 'accepted-tasks',
} as const;
export type FunctionRole = (typeof FunctionRole)[keyof typeof FunctionRole];

/** What settles an async attempt from outside the consumer: the table, both tiers' queues, the outcome rules. */
const SETTLE_ENV = [
  EnvName.TaskTableName,
  EnvName.HighQueueUrl,
  EnvName.LowQueueUrl,
  EnvName.MaxReceiveCount,
  EnvName.BackoffBaseSeconds,
  EnvName.BackoffCapSeconds,
  EnvName.MaxResultBytes,
  EnvName.TaskRetentionSeconds,
  EnvName.LimitsTableName,
  EnvName.ResultBucketName,
] as const;

/** The variables each function reads, besides its role. */
export const FUNCTION_ENV = {
  producer: [
    EnvName.TaskTableName,
    EnvName.HighQueueUrl,
    EnvName.LowQueueUrl,
    EnvName.TaskTypes,
    EnvName.Topics,
    EnvName.MaxBodyBytes,
    EnvName.MaxJsonDepth,
    EnvName.TaskRetentionSeconds,
    EnvName.ResultBucketName,
  ],
  status: [EnvName.TaskTableName, EnvName.TaskRetentionSeconds, EnvName.ResultBucketName],
  consumer: [
    EnvName.TaskTableName,
    EnvName.QueueUrl,
    EnvName.DeadLetterQueueUrl,
    EnvName.Agents,
    EnvName.MaxReceiveCount,
    EnvName.LeaseSeconds,
    EnvName.BackoffBaseSeconds,
    EnvName.BackoffCapSeconds,
    EnvName.MaxResultBytes,
    EnvName.TaskRetentionSeconds,
    EnvName.CallbackBaseUrl,
    EnvName.LimitsTableName,
    EnvName.TenantMaxConcurrency,
    EnvName.LimitWakeUpSeconds,
    EnvName.ResultBucketName,
  ],
  callback: SETTLE_ENV,
  completion: SETTLE_ENV,
  sweeper: [
    EnvName.TaskTableName,
    EnvName.DeadLetterQueueUrls,
    EnvName.TaskRetentionSeconds,
    EnvName.RedriveGraceSeconds,
    EnvName.SweepMaxMessages,
  ],
  /** The built-in echo agent reads nothing. */
  agent: [],
  'event-publisher': [EnvName.EventsTopicArn, EnvName.UnpublishedEventsQueueUrl, EnvName.EventTransitions],
  /** It reads only its stream event. */
  'accepted-tasks': [],
} as const satisfies Record<FunctionRole, readonly EnvName[]>;

/** The environment of one function: every variable it reads, as the strings Lambda passes. */
export type FunctionEnvironment<R extends FunctionRole> = {
  readonly [K in (typeof FUNCTION_ENV)[R][number]]: string;
};

/**
 * The full environment of a function of role `role`, with its role marker. lib/ builds every function's
 * environment with this, so that the compiler checks it sets every variable the handler reads.
 */
export function functionEnvironment<R extends FunctionRole>(
  role: R,
  variables: FunctionEnvironment<R>,
): Record<string, string> {
  return { [EnvName.FunctionRole]: role, ...variables };
}

/**
 * The construct's defaults, in one place. lib/ documents and applies them (`@default`); handlers never fall
 * back to them, they read what the construct set.
 */
export const DEFAULTS = {
  /** Consumer Lambda timeout. */
  consumerTimeoutSeconds: 120,
  /** How long a consumer waits for an agent (for an async agent: for its hand-off answer). */
  agentTimeoutSeconds: 60,
  /** Async agents: the longest silence between hand-off, heartbeats and completion. */
  heartbeatTimeoutSeconds: 300,
  /** Async agents: the longest one attempt may run. */
  maxRunTimeSeconds: 3600,
  /** The API stage's throttle: every route but the callback routes. */
  throttle: { rateLimit: 100, burstLimit: 200 },
  /** POST /tasks/{id}/heartbeat and /complete: their own throttle, apart from POST /tasks. */
  callbackThrottle: { rateLimit: 500, burstLimit: 1000 },
  /** Deliveries of a message before SQS moves it to the DLQ. */
  maxReceiveCount: 5,
  /** Upper bound of the first retry delay; it doubles per attempt, with full jitter. */
  backoffBaseSeconds: 2,
  backoffCapSeconds: 300,
  /** Largest POST /tasks body. */
  maxBodyBytes: 262_144,
  /** Deepest nesting of a POST /tasks body. */
  maxJsonDepth: 32,
  /** Largest agent result stored on a task, in bytes of JSON. */
  maxResultBytes: 262_144,
  /** How long a task stays in the table after it ends (TTL on `expires_at`). */
  taskRetentionSeconds: 30 * 86_400,
  /** A task redriven less than this long ago is left alone by the dead-letter sweep, whatever its status. */
  redriveGraceSeconds: 900,
  /** Most dead letters one sweep reads per DLQ. */
  sweepMaxMessages: 10_000,
  /** How often the dead-letter sweep runs. */
  sweepIntervalSeconds: 300,
  /** Dead-letter queue retention. */
  deadLetterRetentionDays: 14,
  /** Tier queue retention. */
  retentionPeriodDays: 4,
  /**
   * A task waiting for a limit asks again after 1 s, 2 s, 4 s, … up to this (jittered): its longest wait after a
   * slot frees, and how long a waiting high task holds low ones back.
   */
  limitWakeUpSeconds: 5,
  /** Messages per consumer invocation. */
  batchSize: 10,
  /**
   * How long a tier's event source gathers messages before it invokes the consumer. Low waits up to a second for a
   * fuller batch (fewer receives, deletes and invocations per task); high invokes at once.
   */
  maxBatchingWindowSeconds: { high: 0, low: 1 },
  /** Most consumer invocations at once, per tier: low can never take the account's whole concurrency. */
  maxConcurrency: { high: 50, low: 10 },
  consumerMemorySize: 256,
} as const;
