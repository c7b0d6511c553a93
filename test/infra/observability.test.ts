/**
 * What an on-call engineer gets from the construct: alarms on one topic, the dashboard, log retention,
 * tracing and the log level. Issue 5, "Observability".
 */
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { METRIC_NAMESPACE, MetricName } from '../../lambda/core/metric-names';
import { PRIORITIES } from '../../lambda/core/task';
import { HandlerFunction } from '../../lib/handler-function';
import type { TaskQueue } from '../../lib/task-queue';
import { logicalId, queueStack, renderJoin } from './synth';

/** Every function the TaskQueue builds (API, consumers, and whatever else it grows). */
function functionsOf(taskQueue: TaskQueue): HandlerFunction[] {
  return taskQueue.node.findAll().filter((c): c is HandlerFunction => c instanceof HandlerFunction);
}

const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
const getAtt = (construct: IConstruct, attribute: string) => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});

interface AlarmProperties {
  readonly AlarmActions?: unknown[];
  readonly Threshold: number;
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

/** The single-metric alarm on `namespace`/`metricName` whose one dimension is `dimension`. */
function metricAlarm(
  template: Template,
  namespace: string,
  metricName: string,
  dimension: { Name: string; Value: unknown },
): AlarmProperties | undefined {
  return alarmsOf(template).find(
    (a) =>
      a.Namespace === namespace &&
      a.MetricName === metricName &&
      JSON.stringify(a.Dimensions) === JSON.stringify([dimension]),
  );
}

/** The math alarm whose expression reads `metricName` with the given dimension. */
function mathAlarm(
  template: Template,
  metricName: string,
  dimension: { Name: string; Value: unknown },
): AlarmProperties | undefined {
  return alarmsOf(template).find(
    (a) =>
      a.Metrics?.some((m) => m.Expression !== undefined) &&
      a.Metrics.some(
        (m) =>
          m.MetricStat?.Metric.MetricName === metricName &&
          JSON.stringify(m.MetricStat.Metric.Dimensions) === JSON.stringify([dimension]),
      ),
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

/**
 * The dashboard body as JSON, with references written as `<Ref:Id>` and `<GetAtt:Id.Attr>`, and every metric
 * of every graph as `namespace metricName dimName=dimValue…`.
 */
function dashboardMetrics(template: Template): string[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = JSON.parse(renderJoin(dashboards[0]!.Properties.DashboardBody)) as {
    widgets: { type: string; properties: { metrics?: unknown[][] } }[];
  };
  return body.widgets.flatMap((w) =>
    (w.properties.metrics ?? []).map((metric) => {
      const parts = metric.filter((p): p is string => typeof p === 'string');
      const [namespace, name, ...dims] = parts;
      const pairs: string[] = [];
      for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
      return [namespace, name, ...pairs].join(' ');
    }),
  );
}

describe('TaskQueue alarms (observability)', () => {
  test.each(PRIORITIES)(
    'the %s tier has depth, age, DLQ, consumer error and throttle, and agent failure alarms',
    (priority) => {
      // GIVEN
      const { stack, taskQueue } = queueStack();

      // WHEN
      const alarms = tierAlarms(Template.fromStack(stack), taskQueue, priority);

      // THEN
      expect(alarms.depth?.Threshold).toBe(1000);
      expect(alarms.oldestAge?.Threshold).toBe(300);
      expect(alarms.deadLetters?.Threshold).toBe(0);
      expect(alarms.consumerErrors?.Threshold).toBe(0);
      expect(alarms.consumerThrottles?.Threshold).toBe(0);
      expect(alarms.agentFailureRate?.Threshold).toBe(25);
    },
  );

  test.each(PRIORITIES)(
    'the %s agent failure rate is failed and retried attempts over all attempts, from the task metrics',
    (priority) => {
      // GIVEN
      const { stack, taskQueue } = queueStack();

      // WHEN
      const alarm = tierAlarms(Template.fromStack(stack), taskQueue, priority).agentFailureRate;

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
    const { stack, taskQueue } = queueStack();

    // WHEN
    const alarm = mathAlarm(Template.fromStack(stack), '5xx', {
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
      const alarms = tierAlarms(template, taskQueue, priority);
      expect(alarms.depth?.Threshold).toBe(11);
      expect(alarms.oldestAge?.Threshold).toBe(12);
      expect(alarms.deadLetters?.Threshold).toBe(13);
      expect(alarms.consumerErrors?.Threshold).toBe(14);
      expect(alarms.consumerThrottles?.Threshold).toBe(15);
      expect(alarms.agentFailureRate?.Threshold).toBe(17);
    }
    expect(mathAlarm(template, '5xx', { Name: 'ApiId', Value: ref(taskQueue.api.httpApi) })?.Threshold).toBe(
      16,
    );
  });

  test('every alarm notifies the alarm topic, and only it', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const alarms = alarmsOf(Template.fromStack(stack));

    // THEN
    expect(alarms).toHaveLength(PRIORITIES.length * 6 + 1);
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
    // GIVEN
    const { stack } = queueStack();

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('TaskQueue dashboard', () => {
  test.each(PRIORITIES)('charts the %s queue, its DLQ and its consumer', (priority) => {
    // GIVEN
    const { stack, taskQueue } = queueStack();
    const tier = taskQueue.tiers[priority];

    // WHEN
    const metrics = dashboardMetrics(Template.fromStack(stack));

    // THEN
    const queue = `QueueName=<GetAtt:${logicalId(tier.queue)}.QueueName>`;
    const dlq = `QueueName=<GetAtt:${logicalId(tier.deadLetterQueue)}.QueueName>`;
    const fn = `FunctionName=<Ref:${logicalId(tier.consumerFunction)}>`;
    expect(metrics).toEqual(
      expect.arrayContaining([
        `AWS/SQS ApproximateNumberOfMessagesVisible ${queue}`,
        `AWS/SQS ApproximateAgeOfOldestMessage ${queue}`,
        `AWS/SQS NumberOfMessagesSent ${queue}`,
        `AWS/SQS NumberOfMessagesDeleted ${queue}`,
        `AWS/SQS ApproximateNumberOfMessagesVisible ${dlq}`,
        `AWS/Lambda ConcurrentExecutions ${fn}`,
        `AWS/Lambda Errors ${fn}`,
        `AWS/Lambda Throttles ${fn}`,
      ]),
    );
  });

  test.each(PRIORITIES)('charts every task metric of the %s tier', (priority) => {
    // GIVEN
    const { stack } = queueStack();

    // WHEN
    const metrics = dashboardMetrics(Template.fromStack(stack));

    // THEN
    for (const name of [
      'TasksAccepted',
      'TasksSucceeded',
      'TasksFailed',
      'TasksRetried',
      'TasksCancelled',
      'AgentLatency',
      'QueueWait',
      'EndToEndLatency',
    ]) {
      expect(metrics).toContain(`${METRIC_NAMESPACE} ${name} Tier=${priority}`);
    }
  });

  test('charts the API requests, 4xx, 5xx and latency', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const metrics = dashboardMetrics(Template.fromStack(stack));

    // THEN
    const api = `ApiId=<Ref:${logicalId(taskQueue.api.httpApi)}>`;
    for (const name of ['Count', '4xx', '5xx', 'Latency']) {
      expect(metrics).toContain(`AWS/ApiGateway ${name} ${api}`);
    }
  });

  test('dashboard: false builds no dashboard', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ dashboard: false });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(taskQueue.dashboard).toBeUndefined();
  });
});

describe('TaskQueue logs and tracing', () => {
  test('every log group keeps its logs for a month by default', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));

    // THEN
    // One per function, and the API access logs.
    expect(groups).toHaveLength(functionsOf(taskQueue).length + 1);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  test('logRetention sets the retention of every log group', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ logRetention: logs.RetentionDays.ONE_WEEK });

    // WHEN
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));

    // THEN
    expect(groups).toHaveLength(functionsOf(taskQueue).length + 1);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
  });

  test('every function logs to its own log group', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    const functions = [
      taskQueue.api.producerFunction,
      taskQueue.api.statusFunction,
      ...taskQueue.consumers(),
    ];
    for (const fn of functions) {
      const properties = template.toJSON().Resources[logicalId(fn)].Properties;
      expect(properties.LoggingConfig).toEqual({ LogGroup: ref(fn.logGroup) });
    }
  });

  test('tracing is off by default', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));

    // THEN
    expect(functions).toHaveLength(functionsOf(taskQueue).length);
    for (const fn of functions) {
      expect(fn.Properties.TracingConfig?.Mode ?? 'PassThrough').toBe('PassThrough');
    }
  });

  test('tracing: true makes every function trace actively', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ tracing: true });

    // WHEN
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));

    // THEN
    expect(functions).toHaveLength(functionsOf(taskQueue).length);
    for (const fn of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  test.each([
    [undefined, 'INFO'],
    ['DEBUG', 'DEBUG'],
  ] as const)('logLevel %s reaches every function as POWERTOOLS_LOG_LEVEL %s', (logLevel, expected) => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ logLevel });

    // WHEN
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));

    // THEN
    expect(functions).toHaveLength(functionsOf(taskQueue).length);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe(expected);
    }
  });
});
