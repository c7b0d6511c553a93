import { type Duration, Lazy, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULTS, type TopicDefinitions, topicErrors } from '../lambda/contract';
import type { LimitReason } from '../lambda/core/limits';
import { LARGEST_MAX_BODY_BYTES } from '../lambda/core/payload-storage';
import { PRIORITIES, type Priority } from '../lambda/core/task';
import { eventTransitionErrors } from '../lambda/core/task-events';
import { AcceptedTasksCounter } from './accepted-tasks-counter';
import { type AgentRegistry, TASK_TYPE_PATTERN } from './agents';
import { DeadLetterSweeper } from './dead-letter-sweeper';
import { grantKeyUse, type HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';
import {
  destinationAgentErrors,
  hasDestinationAgents,
  LambdaAgentCompletion,
} from './lambda-agent-completion';
import { LimitTable } from './limit-table';
import type { SettleOptions } from './settle-function';
import { TaskApi, type TaskApiAuth, type TaskApiThrottle } from './task-api';
import { type TaskEventFilter, TaskEvents, type TaskEventsOptions } from './task-events';
import { agentSlotsInUseMetric, limitDeferralsMetric } from './task-metrics';
import { type AlarmThresholds, TaskQueueAlarms } from './task-queue-alarms';
import { TaskQueueDashboard } from './task-queue-dashboard';
import { TaskResults } from './task-results';
import { TaskTable } from './task-table';
import {
  checkedTierProps,
  DEFAULT_TASK_RETENTION,
  TaskTier,
  type TierOptions,
  tierErrors,
} from './task-tier';

export interface TaskQueueProps {
  /** Task types and the agents that run them. At least one. */
  readonly agents: AgentRegistry;
  /**
   * Topics: a task submitted with a topic as its `type` is published, and runs once per subscriber, each delivery
   * with its own status, attempts, retries, limits and DLQ path (README, "Routing: queues and topics"). A topic
   * name follows the task type pattern and is not an agent type; its subscribers (1 to 20) are agent types.
   * @example { 'document.uploaded': { subscribers: ['summarize', 'index'] } }
   * @default - no topics
   */
  readonly topics?: TopicDefinitions;
  /** @default - the defaults of TierOptions, with maxConcurrency 50 for high and 10 for low */
  readonly tiers?: Partial<Record<Priority, TierOptions>>;
  /**
   * Deliveries of a message before SQS moves it to the tier's DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(14) */
  readonly deadLetterRetention?: Duration;
  /**
   * How long a task stays in the table after it ends (TTL on `expires_at`). Must be at least the queue
   * retention (4 days) + the longest delay (900 s) + `deadLetterRetention`: a message can arrive that late
   * (redriven from the DLQ), and it would create a removed task's record again and run the task.
   * @default Duration.days(30)
   */
  readonly taskRetention?: Duration;
  /** The task table's and the results bucket's. @default RemovalPolicy.RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** @default { kind: 'iam' } */
  readonly auth?: TaskApiAuth;
  /** The API's throttle, for every route but the callback routes. @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttle?: TaskApiThrottle;
  /**
   * The throttle of the callback routes (`POST /tasks/{id}/heartbeat` and `/complete`), apart from `throttle`, so
   * that submissions and heartbeats never crowd each other out. Each running async task sends about one request
   * per heartbeat window; agents retry a 429 with backoff.
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly callbackThrottle?: TaskApiThrottle;
  /**
   * Largest POST /tasks body, in bytes. At most `LARGEST_MAX_BODY_BYTES` (3,112,960; lambda/core/payload-storage.ts:
   * half of Lambda's 6 MB request, which carries the body escaped inside API Gateway's event). A payload whose
   * message would be over 7 SQS billing chunks (458,752 bytes) is put in the task bucket and read back by the
   * consumer, which costs less and lifts SQS's 1 MiB message limit.
   * @default 262144
   */
  readonly maxBodyBytes?: number;
  /**
   * Largest agent result stored on a task, in bytes of JSON; a larger one fails the task with ResultTooLarge.
   * A result that would make its record cost more than an S3 PUT is kept in the results bucket (TaskResults), so
   * DynamoDB's item limit does not bound it; `GET /tasks/{id}` answers it inline, within Lambda's 6 MB response:
   * at most `LARGEST_MAX_RESULT_BYTES` (lambda/core/record-size.ts).
   * @default 262144
   */
  readonly maxResultBytes?: number;
  /**
   * Upper bound of the first retry delay; it doubles per attempt, with full jitter.
   * @default Duration.seconds(2)
   */
  readonly backoffBase?: Duration;
  /** @default Duration.minutes(5) */
  readonly backoffCap?: Duration;
  /** @default - see AlarmThresholds */
  readonly alarmThresholds?: AlarmThresholds;
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
  /**
   * The log class of the HTTP API's access log group (TaskApi `accessLogClass`): Infrequent Access halves its
   * ingestion price and keeps the lines queryable in Logs Insights, without metric filters, subscription filters or
   * Live Tail. Set `logs.LogGroupClass.STANDARD` to stream the access logs elsewhere.
   * @default logs.LogGroupClass.INFREQUENT_ACCESS
   */
  readonly accessLogClass?: logs.LogGroupClass;
  /**
   * A customer managed KMS key for the queues, DLQs, task table and alarm topic. Its key policy gets what the
   * services need (CloudWatch publishing to the encrypted topic), and every function gets encrypt/decrypt on it.
   * @default - AWS owned or SQS-managed keys: encrypted at rest, with no key to manage
   */
  readonly encryptionKey?: kms.IKey;
  /** An email address subscribed to the alarm topic. @default - no subscription */
  readonly alarmEmail?: string;
  /** Build the CloudWatch dashboard. @default true */
  readonly dashboard?: boolean;
  /** Active X-Ray tracing on every function. @default false */
  readonly tracing?: boolean;
  /**
   * The most tasks of one tenant (`tenant_id` on `POST /tasks`) running at once, across all agents and both
   * tiers: an integer from 1 to 1000 (`MAX_LIMIT`). Tasks without a tenant are not capped.
   * @default - no cap
   */
  readonly tenantMaxConcurrency?: number;
  /**
   * A task waiting for a limit asks again after 1 s, 2 s, 4 s, … up to this (jittered down by up to half): the
   * longest it waits after a slot frees (plus its tier's `maxBatchingWindow`, which the event source may wait
   * out before it invokes a consumer), and how long a waiting high task holds back low tasks of its type.
   * From 1 to 900 seconds (SQS's longest message delay).
   * @default Duration.seconds(5)
   */
  readonly limitWakeUp?: Duration;
  /**
   * How often the dead-letter sweep runs; it bounds how long a task whose consumer died on its last delivery
   * can show a non-terminal status.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Task lifecycle events on the `events` topic: which transitions make one, and whether to publish them without
   * a subscriber of the app. Publishing turns on by itself with `addEventSubscription`.
   * @default - SUCCEEDED, FAILED and CANCELLED, published once the app subscribes
   */
  readonly events?: TaskEventsOptions;
}

/**
 * A serverless task queue for agents: an HTTP API that accepts tasks, a high and a low priority tier
 * (queue, DLQ, consumer), a task table for idempotency and status, and alarms.
 */
export class TaskQueue extends Construct {
  /** The task table: one item per task, the idempotency and status record. */
  public readonly table: dynamodb.Table;
  /** The limiter's table: one counter item per limited agent type and per tenant (LimitTable). */
  public readonly limitsTable: dynamodb.Table;
  /** The results bucket: results too large to store in their task record cheaply (TaskResults). */
  public readonly results: TaskResults;
  public readonly tiers: Readonly<Record<Priority, TaskTier>>;
  public readonly api: TaskApi;
  public readonly alarms: TaskQueueAlarms;
  public readonly dashboard?: TaskQueueDashboard;
  public readonly sweeper: DeadLetterSweeper;
  /**
   * The completion of async Lambda agents of the app through Lambda destinations; only when the registry has
   * one (an agent of `mode: 'async'` whose function is a `lambda.Function` of this stack).
   */
  public readonly lambdaAgentCompletion?: LambdaAgentCompletion;
  /**
   * The task events topic: one event per task transition of `events.transitions`, once publishing is on.
   * Subscribe with `addEventSubscription`.
   */
  public readonly events: sns.Topic;
  /** The events topic, the unpublished-events queue and the publisher (TaskEvents). */
  public readonly taskEvents: TaskEvents;
  /** Counts the tasks accepted (`TasksAccepted`) from the task table's stream. */
  public readonly acceptedTasks: AcceptedTasksCounter;

  public constructor(scope: Construct, id: string, props: TaskQueueProps) {
    super(scope, id);
    validateQueueProps(props, Stack.of(this));
    const taskRetention = props.taskRetention ?? DEFAULT_TASK_RETENTION;

    this.table = new TaskTable(this, 'Tasks', {
      removalPolicy: props.tableRemovalPolicy,
      encryptionKey: props.encryptionKey,
    }).table;
    // Always built: a queue without limits leaves it empty, at no cost but the table's existence.
    this.limitsTable = new LimitTable(this, 'Limits', { encryptionKey: props.encryptionKey }).table;
    this.results = new TaskResults(this, 'Results', {
      taskRetention,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.tableRemovalPolicy,
    });
    const tier = (priority: Priority) =>
      new TaskTier(
        this,
        priority === 'high' ? 'High' : 'Low',
        checkedTierProps({
          priority,
          ...props.tiers?.[priority],
          table: this.table,
          limitsTable: this.limitsTable,
          results: this.results,
          agents: props.agents,
          // The API is built after the tiers (its producer sends to their queues); its endpoint depends on nothing.
          callbackBaseUrl: Lazy.string({ produce: () => this.api.callbackBaseUrl }),
          maxReceiveCount: props.maxReceiveCount,
          deadLetterRetention: props.deadLetterRetention,
          encryptionKey: props.encryptionKey,
          backoffBase: props.backoffBase,
          backoffCap: props.backoffCap,
          maxResultBytes: props.maxResultBytes,
          taskRetention,
          tenantMaxConcurrency: props.tenantMaxConcurrency,
          limitWakeUp: props.limitWakeUp,
          logLevel: props.logLevel,
          systemLogLevel: props.systemLogLevel,
          logRetention: props.logRetention,
          tracing: props.tracing,
        }),
      );
    this.tiers = { high: tier('high'), low: tier('low') };

    // What settles an async attempt outside the consumer: the callback routes and the Lambda destinations.
    const settle: SettleOptions = {
      table: this.table,
      limitsTable: this.limitsTable,
      results: this.results,
      queues: { high: this.tiers.high.queue, low: this.tiers.low.queue },
      maxReceiveCount: props.maxReceiveCount,
      backoffBase: props.backoffBase,
      backoffCap: props.backoffCap,
      maxResultBytes: props.maxResultBytes,
      taskRetention,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
    };
    this.api = new TaskApi(this, 'Api', {
      ...settle,
      taskTypes: Object.keys(props.agents),
      topics: props.topics,
      auth: props.auth,
      throttle: props.throttle,
      callbackThrottle: props.callbackThrottle,
      maxBodyBytes: props.maxBodyBytes,
      accessLogClass: props.accessLogClass,
    });

    if (hasDestinationAgents(props.agents)) {
      this.lambdaAgentCompletion = new LambdaAgentCompletion(this, 'LambdaAgentCompletion', {
        ...settle,
        agents: props.agents,
      });
    }

    this.sweeper = new DeadLetterSweeper(this, 'Sweeper', {
      table: this.table,
      deadLetterQueues: PRIORITIES.map((p) => this.tiers[p].deadLetterQueue),
      interval: props.sweepInterval,
      taskRetention,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
    });

    this.acceptedTasks = new AcceptedTasksCounter(this, 'AcceptedTasks', {
      table: this.table,
      encryptionKey: props.encryptionKey,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
    });

    this.taskEvents = new TaskEvents(this, 'Events', {
      table: this.table,
      transitions: props.events?.transitions,
      encryptionKey: props.encryptionKey,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
    });
    this.events = this.taskEvents.topic;
    if (props.events?.publish) this.taskEvents.enablePublishing();

    if (props.encryptionKey) {
      // Table grants cover the table only; the key is granted on its own. (The event publisher, built when
      // publishing turns on, gets it from TaskEvents.)
      const functions = [
        this.api.producerFunction,
        this.api.statusFunction,
        this.api.callbackFunction,
        ...(this.lambdaAgentCompletion ? [this.lambdaAgentCompletion.completionFunction] : []),
        this.sweeper.sweeperFunction,
        ...this.consumers(),
      ];
      for (const fn of functions) grantKeyUse(props.encryptionKey, fn);
      // CloudWatch alarms publish to the encrypted topic.
      props.encryptionKey.grant(
        new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
        'kms:Decrypt',
        'kms:GenerateDataKey*',
      );
    }

    const tiers = PRIORITIES.map((p) => this.tiers[p]);
    this.alarms = new TaskQueueAlarms(this, 'Alarms', {
      tiers,
      httpApi: this.api.httpApi,
      thresholds: props.alarmThresholds,
      encryptionKey: props.encryptionKey,
      alarmEmail: props.alarmEmail,
      events: this.taskEvents,
    });
    if (props.dashboard ?? true) {
      this.dashboard = new TaskQueueDashboard(this, 'Dashboard', {
        tiers,
        httpApi: this.api.httpApi,
        events: this.taskEvents,
        agents: props.agents,
        tenantMaxConcurrency: props.tenantMaxConcurrency,
      });
    }
  }

  /** Both tiers' consumer functions. */
  public consumers(): HandlerFunction[] {
    return PRIORITIES.map((p) => this.tiers[p].consumerFunction);
  }

  /**
   * Subscribes to the task events (`events`): an SQS queue, a Lambda function, an HTTPS endpoint or a Firehose
   * stream (aws-sns-subscriptions), receiving only what `filter` selects. Turns publishing on. See docs/events.md.
   */
  public addEventSubscription(
    subscription: sns.ITopicSubscription,
    filter?: TaskEventFilter,
  ): sns.Subscription {
    return this.taskEvents.addSubscription(subscription, filter);
  }

  /**
   * Lets `grantee` submit tasks: `execute-api:Invoke` on `POST /tasks`. For an API with IAM auth (the default);
   * with JWT auth, callers are authorized by their token instead.
   */
  public grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.api.grantSubmit(grantee);
  }

  /** Lets `grantee` read tasks: `execute-api:Invoke` on `GET /tasks/*`. For an API with IAM auth (the default). */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.api.grantRead(grantee);
  }

  /** Tasks waiting in a tier queue. @default - maximum over 5 minutes */
  public metricQueueDepth(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricQueueDepth(props);
  }

  /** Seconds the oldest task of a tier queue has waited. @default - maximum over 5 minutes */
  public metricAgeOfOldestMessage(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricAgeOfOldestMessage(props);
  }

  /** Messages in a tier's dead-letter queue. @default - maximum over 5 minutes */
  public metricDeadLetterDepth(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricDeadLetterDepth(props);
  }

  /** Tasks of a tier accepted by POST /tasks. @default - sum over 5 minutes */
  public metricTasksAccepted(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricTasksAccepted(props);
  }

  /** Tasks of a tier that succeeded. @default - sum over 5 minutes */
  public metricTasksSucceeded(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricTasksSucceeded(props);
  }

  /** Tasks of a tier that failed for good. @default - sum over 5 minutes */
  public metricTasksFailed(priority: Priority, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.tiers[priority].metricTasksFailed(props);
  }

  /**
   * Asks of an agent type's tasks that a limit refused: for one reason, or for all without `reason`. Both tiers
   * together (an agent's limits are shared by them).
   * @default - sum over 5 minutes
   */
  public metricLimitDeferrals(
    type: string,
    reason?: LimitReason,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return limitDeferralsMetric(type, reason, props);
  }

  /**
   * An agent type's slots in use, after each grant and release; chart or alarm on its Maximum against the
   * agent's `maxConcurrency`. Only agents with a concurrency limit report it.
   * @default - maximum over 5 minutes
   */
  public metricAgentSlotsInUse(type: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return agentSlotsInUseMetric(type, props);
  }
}

/**
 * Checks the props that span tiers, and each tier's own, before anything is built. Collects every problem,
 * then throws once.
 */
function validateQueueProps(props: TaskQueueProps, stack: Stack): void {
  const errors: string[] = [];
  const types = Object.keys(props.agents);
  if (types.length === 0) errors.push('agents must register at least one task type, but none was provided');
  for (const type of types) {
    if (!TASK_TYPE_PATTERN.test(type)) {
      errors.push(`agent type '${type}' must match ${TASK_TYPE_PATTERN} (the task contract's type pattern)`);
    }
  }
  errors.push(...topicErrors(props.topics, types, TASK_TYPE_PATTERN));
  const maxBody = props.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  if (maxBody < 1 || maxBody > LARGEST_MAX_BODY_BYTES) {
    errors.push(
      `maxBodyBytes must be between 1 and ${LARGEST_MAX_BODY_BYTES} (half of Lambda's 6 MB request, which carries the body escaped), but ${maxBody} was provided`,
    );
  }
  for (const priority of PRIORITIES) {
    errors.push(
      ...tierErrors({
        priority,
        ...props.tiers?.[priority],
        agents: props.agents,
        maxReceiveCount: props.maxReceiveCount,
        maxResultBytes: props.maxResultBytes,
        taskRetention: props.taskRetention,
        deadLetterRetention: props.deadLetterRetention,
        tenantMaxConcurrency: props.tenantMaxConcurrency,
        limitWakeUp: props.limitWakeUp,
      }),
    );
  }
  errors.push(...destinationAgentErrors(props.agents, stack));
  if (props.events?.transitions) errors.push(...eventTransitionErrors(props.events.transitions));
  // A problem of a prop both tiers share (maxReceiveCount, maxResultBytes, an agent's function timeout or limits,
  // taskRetention, tenantMaxConcurrency, limitWakeUp) is reported once.
  const problems = [...new Set(errors)];
  if (problems.length > 0) throw new Error(`Invalid TaskQueue props:\n- ${problems.join('\n- ')}`);
}
