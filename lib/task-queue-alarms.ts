import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TaskTier } from './task-tier';

/** Alarm thresholds. */
export interface AlarmThresholds {
  /** Visible messages in a tier queue. @default 1000 */
  readonly queueDepth?: number;
  /** Age of the oldest message in a tier queue, in seconds. @default 300 */
  readonly oldestMessageAgeSeconds?: number;
  /** Messages in a DLQ; any is worth a look. @default 0 (alarm on more than 0) */
  readonly deadLetterMessages?: number;
}

export interface TaskQueueAlarmsProps {
  readonly tiers: readonly TaskTier[];
  readonly thresholds?: AlarmThresholds;
  /** @default - a new topic */
  readonly topic?: sns.ITopic;
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
}

/** Depth, age and dead-letter alarms for every tier, all notifying one SNS topic. */
export class TaskQueueAlarms extends Construct {
  public readonly topic: sns.ITopic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  public constructor(scope: Construct, id: string, props: TaskQueueAlarmsProps) {
    super(scope, id);
    this.topic =
      props.topic ??
      new sns.Topic(this, 'Topic', { displayName: 'agent-task-queue alarms', enforceSSL: true });
    const t = props.thresholds ?? {};
    const action = new actions.SnsAction(this.topic);
    const period = props.period;

    for (const tier of props.tiers) {
      const name = tier.node.id;
      this.add(
        `${name}Depth`,
        {
          metric: tier.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
          threshold: t.queueDepth ?? 1000,
          alarmDescription: `${name} tier: more tasks waiting than the consumers keep up with`,
        },
        action,
      );
      this.add(
        `${name}OldestMessageAge`,
        {
          metric: tier.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
          threshold: t.oldestMessageAgeSeconds ?? 300,
          alarmDescription: `${name} tier: the oldest task has waited too long to start`,
        },
        action,
      );
      this.add(
        `${name}DeadLetters`,
        {
          metric: tier.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period,
            statistic: 'Maximum',
          }),
          threshold: t.deadLetterMessages ?? 0,
          alarmDescription: `${name} tier: tasks were dead-lettered; inspect with taskq dlq list`,
        },
        action,
      );
    }
  }

  private add(
    id: string,
    props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>,
    action: cloudwatch.IAlarmAction,
  ) {
    const alarm = new cloudwatch.Alarm(this, id, {
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(action);
    this.alarms.push(alarm);
  }
}
