/**
 * The alarms: one per signal an on-call engineer acts on, each on the one alarm topic. The topic's TLS policy
 * and encryption are in test/infra/security.test.ts; the dashboard and logs in test/infra/observability.test.ts.
 */
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { METRIC_NAMESPACE, MetricName } from '../../lambda/core/metric-names';
import { PRIORITIES } from '../../lambda/core/task';
import type { TaskQueue } from '../../lib/task-queue';
import { defaultQueue, logicalId, queueStack } from './synth';

const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
const getAtt = (construct: IConstruct, attribute: string) => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});

interface Dimension {
  readonly Name: string;
  readonly Value: unknown;
}

interface AlarmProperties {
  readonly AlarmActions?: unknown[];
  readonly Threshold: number;
  readonly ComparisonOperator?: string;
  readonly Period?: number;
  readonly EvaluationPeriods?: number;
  readonly Namespace?: string;
  readonly MetricName?: string;
  readonly Dimensions?: { Name: string; Value: unknown }[];
  readonly Metrics?: {
    Id: string;
    Expression?: string;
    MetricStat?: {
      Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
    };
  }[];
}

function alarmsOf(template: Template): AlarmProperties[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (r) => r.Properties as AlarmProperties,
  );
}

/** A metric's dimensions are exactly `dimension`. */
const onlyDimension = (dimensions: unknown, dimension: Dimension) =>
  JSON.stringify(dimensions) === JSON.stringify([dimension]);

/** The single-metric alarm on `namespace`/`metricName` whose one dimension is `dimension`. */
function metricAlarm(template: Template, namespace: string, metricName: string, dimension: Dimension) {
  return alarmsOf(template).find(
    (a) => a.Namespace === namespace && a.MetricName === metricName && onlyDimension(a.Dimensions, dimension),
  );
}

/** The math alarm whose expression reads `metricName` with the given dimension. */
function mathAlarm(template: Template, metricName: string, dimension: Dimension) {
  const readsMetric = (m: NonNullable<AlarmProperties['Metrics']>[number]) =>
    m.MetricStat?.Metric.MetricName === metricName &&
    onlyDimension(m.MetricStat.Metric.Dimensions, dimension);
  return alarmsOf(template).find(
    (a) => a.Metrics?.some((m) => m.Expression !== undefined) && a.Metrics.some(readsMetric),
  );
}

const queueName = (queue: IConstruct) => ({ Name: 'QueueName', Value: getAtt(queue, 'QueueName') });
const functionName = (fn: IConstruct) => ({ Name: 'FunctionName', Value: ref(fn) });
const tierDimension = (tier: string) => ({ Name: 'Tier', Value: tier });

/** Every alarm of a tier, found by what it measures. */
function tierAlarms(template: Template, taskQueue: TaskQueue, priority: (typeof PRIORITIES)[number]) {
  const tier = taskQueue.tiers[priority];
  return {
    depth: metricAlarm(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', queueName(tier.queue)),
    inFlight: metricAlarm(
      template,
      'AWS/SQS',
      'ApproximateNumberOfMessagesNotVisible',
      queueName(tier.queue),
    ),
    noisyGroups: metricAlarm(template, 'AWS/SQS', 'ApproximateNumberOfNoisyGroups', queueName(tier.queue)),
    oldestAge: metricAlarm(template, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', queueName(tier.queue)),
    deadLetters: metricAlarm(
      template,
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      queueName(tier.deadLetterQueue),
    ),
    consumerErrors: metricAlarm(template, 'AWS/Lambda', 'Errors', functionName(tier.consumerFunction)),
    consumerThrottles: metricAlarm(template, 'AWS/Lambda', 'Throttles', functionName(tier.consumerFunction)),
    agentFailureRate: mathAlarm(template, MetricName.TasksFailed, tierDimension(priority)),
  };
}

/** The threshold of each alarm, by what it measures (undefined where the alarm is missing). */
function thresholds(alarms: Record<string, AlarmProperties | undefined>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(alarms).map(([name, alarm]) => [name, alarm?.Threshold]));
}

describe('TaskQueue alarms', () => {
  test.each(PRIORITIES)(
    'the %s tier has depth, in-flight, noisy-tenant, age, DLQ, consumer error and throttle, and agent failure alarms',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();

      // WHEN
      const alarms = tierAlarms(template, taskQueue, priority);

      // THEN
      expect(thresholds(alarms)).toEqual({
        depth: 1000,
        inFlight: 100_000,
        noisyGroups: 1,
        oldestAge: 300,
        deadLetters: 0,
        consumerErrors: 0,
        consumerThrottles: 0,
        agentFailureRate: 25,
      });
      for (const queueAlarm of [alarms.depth, alarms.oldestAge, alarms.deadLetters]) {
        expect(queueAlarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Period: 60 });
      }
      expect(alarms.deadLetters?.EvaluationPeriods).toBe(1);
    },
  );

  test.each(PRIORITIES)(
    'the %s in-flight alarm fires at 100,000 messages, below SQS in-flight limit of about 120,000 per queue',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();

      // WHEN
      const alarm = tierAlarms(template, taskQueue, priority).inFlight;

      // THEN
      expect(alarm).toMatchObject({
        Threshold: 100_000,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 60,
        EvaluationPeriods: 1,
      });
      expect(alarm).toHaveProperty('Statistic', 'Maximum');
    },
  );

  test.each(PRIORITIES)(
    'the %s noisy-tenant alarm fires once SQS fair queues have treated a tenant as noisy for 15 minutes',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();

      // WHEN
      const alarm = tierAlarms(template, taskQueue, priority).noisyGroups;

      // THEN
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 60,
        EvaluationPeriods: 15,
        Statistic: 'Maximum',
        TreatMissingData: 'notBreaching',
      });
    },
  );

  test('noisyGroupsFor sets how long the noisy-tenant alarm waits, in whole minutes rounded up', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ alarmThresholds: { noisyGroupsFor: Duration.seconds(150) } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const priority of PRIORITIES) {
      expect(tierAlarms(template, taskQueue, priority).noisyGroups?.EvaluationPeriods).toBe(3);
    }
  });

  test('noisyGroupsFor beyond one day, past the longest window CloudWatch evaluates, throws', () => {
    // WHEN / THEN
    expect(() => queueStack({ alarmThresholds: { noisyGroupsFor: Duration.hours(25) } })).toThrow(
      /noisyGroupsFor must be at most one day, but 1 day 1 hour was provided/,
    );
  });

  test.each(PRIORITIES)(
    'the %s agent failure rate is failed and retried attempts over all attempts, from the task metrics',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();

      // WHEN
      const alarm = tierAlarms(template, taskQueue, priority).agentFailureRate;

      // THEN
      const byId = Object.fromEntries((alarm?.Metrics ?? []).map((m) => [m.Id, m]));
      expect(alarm?.Metrics?.find((m) => m.Expression)?.Expression).toBe(
        '100 * (failed + retried) / MAX([succeeded + failed + retried, 1])',
      );
      for (const [id, name] of [
        ['succeeded', MetricName.TasksSucceeded],
        ['failed', MetricName.TasksFailed],
        ['retried', MetricName.TasksRetried],
      ] as const) {
        expect(byId[id]?.MetricStat?.Metric).toEqual({
          Namespace: METRIC_NAMESPACE,
          MetricName: name,
          Dimensions: [tierDimension(priority)],
        });
      }
    },
  );

  test('the API has a 5xx rate alarm over the requests of the API, at 1% by default', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const alarm = mathAlarm(template, '5xx', {
      Name: 'ApiId',
      Value: ref(taskQueue.api.httpApi),
    });

    // THEN
    expect(alarm?.Threshold).toBe(1);
    expect(alarm?.Metrics?.find((m) => m.Expression)?.Expression).toBe('100 * errors / MAX([requests, 1])');
    expect(alarm?.Metrics?.find((m) => m.Id === 'requests')?.MetricStat?.Metric).toEqual({
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Count',
      Dimensions: [{ Name: 'ApiId', Value: ref(taskQueue.api.httpApi) }],
    });
  });

  test('every threshold is a prop', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      alarmThresholds: {
        queueDepth: 11,
        inFlightMessages: 18,
        noisyGroups: 19,
        oldestMessageAge: Duration.seconds(12),
        deadLetterMessages: 13,
        consumerErrors: 14,
        consumerThrottles: 15,
        apiServerErrorPercent: 16,
        agentFailurePercent: 17,
      },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const priority of PRIORITIES) {
      expect(thresholds(tierAlarms(template, taskQueue, priority))).toEqual({
        depth: 11,
        inFlight: 18,
        noisyGroups: 19,
        oldestAge: 12,
        deadLetters: 13,
        consumerErrors: 14,
        consumerThrottles: 15,
        agentFailureRate: 17,
      });
    }
    expect(mathAlarm(template, '5xx', { Name: 'ApiId', Value: ref(taskQueue.api.httpApi) })?.Threshold).toBe(
      16,
    );
  });

  test('every alarm notifies the alarm topic, and only it', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const alarms = alarmsOf(template);

    // THEN
    // the alarm topic and the events topic
    template.resourceCountIs('AWS::SNS::Topic', 2);
    // per tier, the API's error rate, the unpublished events
    expect(alarms).toHaveLength(PRIORITIES.length * 8 + 2);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([ref(taskQueue.alarms.topic)]);
    }
  });

  test('alarmEmail subscribes the address to the alarm topic', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ alarmEmail: 'oncall@example.com' });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: ref(taskQueue.alarms.topic),
    });
  });

  test('without alarmEmail, the topic has no subscription', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});
