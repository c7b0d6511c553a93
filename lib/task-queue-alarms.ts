import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { TaskEvents } from './task-events';
import type { TaskTier } from './task-tier';

/** Alarm thresholds. */
export interface AlarmThresholds {
  /** Visible messages in a tier queue. @default 1000 */
  readonly queueDepth?: number;
  /**
   * Messages in flight in a tier queue (`ApproximateNumberOfMessagesNotVisible`), alarming at or above it. Each
   * running async task holds one for its whole run; SQS's ceiling is about 120,000 per standard queue, and near
   * it receives fail and the whole tier stalls, short tasks included. So about 100,000 running async tasks per
   * tier is the documented ceiling.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
   * @default 100000
   */
  readonly inFlightMessages?: number;
  /**
   * Tenants (SQS message groups, from `tenant_id`) that the tier's fair queue treats as noisy
   * (`ApproximateNumberOfNoisyGroups`), alarming at or above it for `noisyGroupsFor`. SQS flags a tenant that
   * holds more than about 10% of the queue's in-flight messages (and at least 30 of its own), or of the
   * consumers' recent processing time, then serves the quiet tenants first; the flag clears once the tenant's
   * backlog drains or it sends nothing for 5 minutes. A short flag is fair queues doing their job; one that
   * lasts means a tenant's backlog has outrun the tier's consumers for that long.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html
   * @default 1
   */
  readonly noisyGroups?: number;
  /**
   * How long the noisy-groups count must stay at or above `noisyGroups` before the alarm fires, rounded up to
   * whole alarm periods; at most one day (CloudWatch's limit on an alarm's evaluation window).
   * @default Duration.minutes(15)
   */
  readonly noisyGroupsFor?: Duration;
  /** Age of the oldest message in a tier queue. @default Duration.minutes(5) */
  readonly oldestMessageAge?: Duration;
  /** Messages in a DLQ; any is worth a look. @default 0 (alarm on more than 0) */
  readonly deadLetterMessages?: number;
  /** Consumer invocation errors per period. The consumer handles failures per message, so any is a bug or an outage. @default 0 */
  readonly consumerErrors?: number;
  /** Consumer throttles per period. @default 0 */
  readonly consumerThrottles?: number;
  /** Percentage of API requests answered with a 5xx. @default 1 */
  readonly apiServerErrorPercent?: number;
  /** Percentage of agent attempts that failed (transient or permanent), per tier. @default 25 */
  readonly agentFailurePercent?: number;
}

export interface TaskQueueAlarmsProps {
  /** The tiers to alarm on. */
  readonly tiers: readonly TaskTier[];
  /** The task API, for its 5xx rate. */
  readonly httpApi: apigw.HttpApi;
  /** @default - the defaults of AlarmThresholds */
  readonly thresholds?: AlarmThresholds;
  /** @default - a new topic */
  readonly topic?: sns.ITopic;
  /** Encrypts the new topic. @default - SNS is not encrypted at rest beyond the service default */
  readonly encryptionKey?: kms.IKey;
  /** An address that gets every alarm by email. @default - no subscription */
  readonly alarmEmail?: string;
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
  /** The task events, for the unpublished-events queue. @default - no events alarm */
  readonly events?: TaskEvents;
}

/** Alarm at this many in-flight messages per tier queue, well before SQS's ~120,000 (see `inFlightMessages`). */
export const DEFAULT_IN_FLIGHT_ALARM = 100_000;

/** Alarm as soon as SQS fair queues treat one tenant of a tier as noisy (for `noisyGroupsFor`). */
export const DEFAULT_NOISY_GROUPS_ALARM = 1;

/** CloudWatch's limit on an alarm's evaluation window (periods × period) for periods of a minute or more. */
const ONE_DAY_SECONDS = 86_400;

/**
 * The alarms an on-call engineer needs, all notifying one SNS topic: per tier, queue depth, in-flight messages,
 * noisy tenants (fair queues), oldest message age, dead letters, consumer errors and throttles, and agent failure rate; for the API, the 5xx
 * rate; for task events, any event waiting in the unpublished-events queue.
 */
export class TaskQueueAlarms extends Construct {
  public readonly topic: sns.ITopic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: cloudwatch.IAlarmAction;

  public constructor(scope: Construct, id: string, props: TaskQueueAlarmsProps) {
    super(scope, id);
    this.topic =
      props.topic ??
      new sns.Topic(this, 'Topic', {
        displayName: 'agent-task-queue alarms',
        enforceSSL: true,
        masterKey: props.encryptionKey,
      });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.action = new actions.SnsAction(this.topic);
    const t = props.thresholds ?? {};
    const period = props.period ?? Duration.minutes(1);
    const noisyFor = t.noisyGroupsFor ?? Duration.minutes(15);
    const noisyPeriods = Math.max(1, Math.ceil(noisyFor.toSeconds() / period.toSeconds()));
    if (noisyPeriods * period.toSeconds() > ONE_DAY_SECONDS) {
      throw new Error(
        `Invalid TaskQueueAlarms props (${this.node.path}): noisyGroupsFor must be at most one day, but ` +
          `${noisyFor.toHumanString()} was provided`,
      );
    }

    for (const tier of props.tiers) {
      const name = tier.node.id;
      this.add(`${name}Depth`, tier.metricQueueDepth({ period }), {
        threshold: t.queueDepth ?? 1000,
        alarmDescription: `${name} tier: more tasks waiting than the consumers keep up with`,
      });
      this.add(`${name}InFlightMessages`, tier.metricMessagesInFlight({ period }), {
        threshold: t.inFlightMessages ?? DEFAULT_IN_FLIGHT_ALARM,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription:
          `${name} tier: in-flight messages near SQS's ~120,000 limit per queue (each running async task holds one); ` +
          'past it receives fail and the tier stalls',
      });
      this.add(`${name}NoisyGroups`, tier.metricNoisyGroups({ period }), {
        threshold: t.noisyGroups ?? DEFAULT_NOISY_GROUPS_ALARM,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: noisyPeriods,
        alarmDescription:
          `${name} tier: SQS fair queues have treated a tenant as noisy for ${noisyFor.toHumanString()}: its ` +
          "backlog outruns the tier's consumers (quiet tenants are served first)",
      });
      this.add(`${name}OldestMessageAge`, tier.metricAgeOfOldestMessage({ period }), {
        threshold: (t.oldestMessageAge ?? Duration.minutes(5)).toSeconds(),
        alarmDescription: `${name} tier: the oldest task has waited too long to start`,
      });
      this.add(`${name}DeadLetters`, tier.metricDeadLetterDepth({ period }), {
        threshold: t.deadLetterMessages ?? 0,
        alarmDescription: `${name} tier: tasks were dead-lettered; inspect them with taskq dlq list`,
      });
      this.add(`${name}ConsumerErrors`, tier.consumerFunction.metricErrors({ period }), {
        threshold: t.consumerErrors ?? 0,
        alarmDescription: `${name} tier: the consumer function failed; its messages will be retried`,
      });
      this.add(`${name}ConsumerThrottles`, tier.consumerFunction.metricThrottles({ period }), {
        threshold: t.consumerThrottles ?? 0,
        alarmDescription: `${name} tier: the consumer was throttled; check the account's concurrency`,
      });
      this.add(
        `${name}AgentFailureRate`,
        new cloudwatch.MathExpression({
          expression: '100 * (failed + retried) / MAX([succeeded + failed + retried, 1])',
          usingMetrics: {
            succeeded: tier.metricTasksSucceeded({ period }),
            failed: tier.metricTasksFailed({ period }),
            retried: tier.metricTasksRetried({ period }),
          },
          period,
          label: 'agent failure %',
        }),
        {
          threshold: t.agentFailurePercent ?? 25,
          evaluationPeriods: 5,
          alarmDescription: `${name} tier: too many agent attempts fail`,
        },
      );
    }

    this.add(
      'ApiServerErrorRate',
      new cloudwatch.MathExpression({
        expression: '100 * errors / MAX([requests, 1])',
        usingMetrics: {
          errors: props.httpApi.metricServerError({ period, statistic: 'Sum' }),
          requests: props.httpApi.metricCount({ period, statistic: 'Sum' }),
        },
        period,
        label: 'API 5xx %',
      }),
      {
        threshold: t.apiServerErrorPercent ?? 1,
        evaluationPeriods: 3,
        alarmDescription: 'The task API answers 5xx: SQS, DynamoDB or a handler is failing',
      },
    );
    if (props.events) this.addEventAlarms(props.events, period);
  }

  private addEventAlarms(events: TaskEvents, period: Duration): void {
    this.add('UnpublishedEvents', events.metricUnpublishedEvents({ period }), {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        'Task events could not be published and wait in the unpublished-events queue (kept 14 days); ' +
        'publish them with taskq events replay',
    });
  }

  private add(
    id: string,
    metric: cloudwatch.IMetric,
    props: {
      threshold: number;
      alarmDescription: string;
      evaluationPeriods?: number;
      comparisonOperator?: cloudwatch.ComparisonOperator;
    },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }
}
