import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FunctionRole, functionEnvironment } from '../lambda/contract';
import { METRIC_NAMESPACE, MetricName } from '../lambda/core/metric-names';
import { PRIORITIES, type Priority, type TaskStatus } from '../lambda/core/task';
import {
  DEFAULT_EVENT_TRANSITIONS,
  eventName,
  eventTransitionErrors,
  type TaskEventName,
} from '../lambda/core/task-events';
import { TASK_TYPE_PATTERN } from './agents';
import { grantKeyUse, HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';

/** What a TaskQueue publishes as events (`TaskQueueProps.events`). */
export interface TaskEventsOptions {
  /**
   * The statuses whose transitions make an event: one event each time a task reaches one of them.
   * @default [SUCCEEDED, FAILED, CANCELLED]
   */
  readonly transitions?: readonly TaskStatus[];
  /**
   * Publish events even when nothing of the app subscribes (subscribers outside the stack, or added at run time
   * such as `taskq events tail`). `addEventSubscription` turns publishing on by itself.
   * @default false
   */
  readonly publish?: boolean;
}

/**
 * Which events a subscription receives: an SNS filter policy on the events' message attributes. Each field
 * left out matches every value; the fields given must all match.
 */
export interface TaskEventFilter {
  /** Task types (for published tasks and their deliveries: the topic). @default - every type */
  readonly type?: readonly string[];
  /** @default - both priorities */
  readonly priority?: readonly Priority[];
  /** @default - every status of the configured transitions */
  readonly status?: readonly TaskStatus[];
  /** Event names, such as `task.failed`. @default - every event */
  readonly event?: readonly TaskEventName[];
}

export interface TaskEventsProps {
  /** The task table. It must have a stream of new and old images (TaskTable always has one). */
  readonly table: dynamodb.ITable;
  /** @default [SUCCEEDED, FAILED, CANCELLED] */
  readonly transitions?: readonly TaskStatus[];
  /**
   * Encrypts the topic and the unpublished-events queue.
   * @default - the topic with the AWS managed key `alias/aws/sns`, the queue with SQS-managed SSE
   */
  readonly encryptionKey?: kms.IKey;
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

/**
 * How the publisher reads the stream. Records it cannot publish go to the unpublished-events queue after
 * `STREAM_RETRY_ATTEMPTS` retries or once `STREAM_MAX_RECORD_AGE` old, whichever comes first: early enough in the
 * stream's 24-hour retention that `taskq events replay` can still read the range the failure record names.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html (24-hour retention)
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
export const STREAM_BATCH_SIZE = 100;
export const STREAM_BATCHING_WINDOW = Duration.seconds(1);
export const STREAM_RETRY_ATTEMPTS = 10;
export const STREAM_MAX_RECORD_AGE = Duration.hours(6);

/** How long the unpublished-events queue keeps an event: SQS's longest retention. */
export const UNPUBLISHED_EVENTS_RETENTION = Duration.days(14);

/**
 * Task lifecycle events: the `Events` SNS topic, the `UnpublishedEvents` queue where events that could not be
 * published are kept for replay, and, once publishing is on, the `EventPublisher` function that reads the task
 * table's stream (lambda/handlers/event-publisher.ts).
 *
 * Events are derived from committed writes (the stream), so a committed transition always has its event
 * (lambda/core/task-events.ts). Without subscribers nothing reads the stream: a stream costs nothing until read,
 * so a queue whose events nobody wants pays only for the topic's and queue's existence, which is free.
 */
export class TaskEvents extends Construct {
  /** The events topic. Subscribe with `addSubscription`, so that publishing turns on. */
  public readonly topic: sns.Topic;
  /** Events the topic refused, and the stream's failure records; `taskq events replay` publishes them again. */
  public readonly unpublishedEvents: sqs.Queue;
  public readonly transitions: readonly TaskStatus[];
  private readonly props: TaskEventsProps;
  private publisher?: HandlerFunction;

  public constructor(scope: Construct, id: string, props: TaskEventsProps) {
    super(scope, id);
    const errors = eventTransitionErrors(props.transitions ?? DEFAULT_EVENT_TRANSITIONS);
    if (errors.length > 0)
      throw new Error(`Invalid TaskEvents props (${this.node.path}):\n- ${errors.join('\n- ')}`);
    if (!props.table.tableStreamArn) {
      throw new Error(`Invalid TaskEvents props (${this.node.path}): the task table must have a stream`);
    }
    this.props = props;
    this.transitions = props.transitions ?? DEFAULT_EVENT_TRANSITIONS;

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'agent-task-queue task events',
      enforceSSL: true,
      // cdk-nag (SNS2) wants the topic encrypted; without a key of the app, SNS's AWS managed key does it at no key cost.
      masterKey: props.encryptionKey ?? kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
    });
    this.unpublishedEvents = new sqs.Queue(this, 'UnpublishedEvents', {
      retentionPeriod: UNPUBLISHED_EVENTS_RETENTION,
      enforceSSL: true,
      ...(props.encryptionKey
        ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
        : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
    });
    Validations.of(this.unpublishedEvents).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter destination of the event stream (its on-failure destination) and of events the topic refused; nothing consumes it but taskq events replay, and its depth alarms at 1. A DLQ behind it would only hide events.',
    });
  }

  /** The publisher, when publishing is on. */
  public get publisherFunction(): HandlerFunction | undefined {
    return this.publisher;
  }

  /**
   * Turns publishing on: builds the publisher and its event source mapping on the table's stream, once. Called
   * by `addSubscription`; call it directly for subscribers outside the app.
   */
  public enablePublishing(): HandlerFunction {
    if (this.publisher) return this.publisher;
    const props = this.props;
    const fn = new HandlerFunction(this, 'EventPublisher', {
      handler: 'event-publisher',
      description: 'Publishes task lifecycle events from the task table stream',
      timeout: Duration.seconds(60),
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.EventPublisher, {
        EVENTS_TOPIC_ARN: this.topic.topicArn,
        UNPUBLISHED_EVENTS_QUEUE_URL: this.unpublishedEvents.queueUrl,
        EVENT_TRANSITIONS: this.transitions.join(','),
      }),
    });
    if (props.encryptionKey) grantKeyUse(props.encryptionKey, fn);
    this.topic.grantPublish(fn);
    this.unpublishedEvents.grantSendMessages(fn);
    // The four stream actions on this table's stream only (rather than ListStreams on `*`).
    props.table.grantStream(
      fn,
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    );
    new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: fn,
      eventSourceArn: props.table.tableStreamArn as string,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: STREAM_BATCH_SIZE,
      maxBatchingWindow: STREAM_BATCHING_WINDOW,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: STREAM_RETRY_ATTEMPTS,
      maxRecordAge: STREAM_MAX_RECORD_AGE,
      onFailure: new SqsDlq(this.unpublishedEvents),
      // Only writes that can be a transition of the set reach the function (the rest cost no invocation); the
      // function still checks that the status changed (lambda/core/task-events.ts).
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: { NewImage: { status: { S: lambda.FilterRule.or(...this.transitions) } } },
        }),
      ],
    });
    this.publisher = fn;
    return fn;
  }

  /**
   * Subscribes to the events (an SQS queue, a Lambda function, an HTTPS endpoint, a Firehose stream…), with an
   * optional filter, and turns publishing on.
   */
  public addSubscription(subscription: sns.ITopicSubscription, filter?: TaskEventFilter): sns.Subscription {
    const policy = filter && eventFilterPolicy(filter, this.transitions);
    this.enablePublishing();
    return this.topic.addSubscription(policy ? new FilteredSubscription(subscription, policy) : subscription);
  }

  /** Events kept in the unpublished-events queue, waiting for `taskq events replay`. @default - maximum over 5 minutes */
  public metricUnpublishedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.unpublishedEvents.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      ...props,
    });
  }

  /** Events of one name (`task.failed`, …) published. @default - sum over 5 minutes */
  public metricEventsPublished(event: TaskEventName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return eventMetric(MetricName.EventsPublished, event, props);
  }

  /** Events of one name that the topic refused and the queue kept. @default - sum over 5 minutes */
  public metricEventsUnpublished(event: TaskEventName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return eventMetric(MetricName.EventsUnpublished, event, props);
  }
}

function eventMetric(
  name: MetricName,
  event: string,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: 'Sum',
    period: Duration.minutes(5),
    label: `${name} ${event}`,
    ...options,
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { Event: event },
  });
}

/**
 * The SNS filter policy of a TaskEventFilter, on the events' message attributes. Throws one error listing every
 * value that no event can carry (a typo would otherwise filter out everything, silently).
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
 */
export function eventFilterPolicy(
  filter: TaskEventFilter,
  transitions: readonly TaskStatus[],
): Record<string, sns.SubscriptionFilter> | undefined {
  const errors: string[] = [];
  const check = (
    field: string,
    values: readonly string[] | undefined,
    ok: (v: string) => boolean,
    what: string,
  ) => {
    if (values === undefined) return;
    if (values.length === 0)
      errors.push(`filter.${field} must list at least one value, but none was provided`);
    for (const v of values) {
      if (!Token.isUnresolved(v) && !ok(v))
        errors.push(`filter.${field} must be ${what}, but '${v}' was provided`);
    }
  };
  const events = transitions.map(eventName);
  check('type', filter.type, (v) => TASK_TYPE_PATTERN.test(v), `task types matching ${TASK_TYPE_PATTERN}`);
  check(
    'priority',
    filter.priority,
    (v) => (PRIORITIES as readonly string[]).includes(v),
    PRIORITIES.join(' or '),
  );
  check(
    'status',
    filter.status,
    (v) => (transitions as readonly string[]).includes(v),
    `statuses of the published transitions (${transitions.join(', ')})`,
  );
  check(
    'event',
    filter.event,
    (v) => (events as readonly string[]).includes(v),
    `events of the published transitions (${events.join(', ')})`,
  );
  if (errors.length > 0) throw new Error(`Invalid TaskEventFilter:\n- ${errors.join('\n- ')}`);
  const policy: Record<string, sns.SubscriptionFilter> = {};
  for (const field of ['type', 'priority', 'status', 'event'] as const) {
    const values = filter[field];
    if (values !== undefined) policy[field] = sns.SubscriptionFilter.stringFilter({ allowlist: [...values] });
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}

/** A subscription whose filter policy comes from a TaskEventFilter. */
class FilteredSubscription implements sns.ITopicSubscription {
  public constructor(
    private readonly inner: sns.ITopicSubscription,
    private readonly policy: Record<string, sns.SubscriptionFilter>,
  ) {}

  public bind(topic: sns.ITopic): sns.TopicSubscriptionConfig {
    const config = this.inner.bind(topic);
    if (config.filterPolicy !== undefined || config.filterPolicyWithMessageBody !== undefined) {
      throw new Error(
        'a task event subscription takes its filter from addEventSubscription or from the subscription, not both',
      );
    }
    return { ...config, filterPolicy: this.policy };
  }
}
