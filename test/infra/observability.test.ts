/**
 * What an on-call engineer gets from the construct besides the alarms (test/infra/task-queue-alarms.test.ts):
 * the dashboard, log retention, tracing, the log level and Lambda's own log records. Issues 5 ("Observability")
 * and 16 (cost per task).
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { METRIC_NAMESPACE } from '../../lambda/core/metric-names';
import { PRIORITIES } from '../../lambda/core/task';
import { HandlerFunction } from '../../lib/handler-function';
import type { TaskQueue, TaskQueueProps } from '../../lib/task-queue';
import { defaultQueue, logicalId, queueStack, renderJoin } from './synth';

/** Every function the TaskQueue builds (API, consumers, and whatever else it grows). */
function functionsOf(taskQueue: TaskQueue): HandlerFunction[] {
  return taskQueue.node.findAll().filter((c): c is HandlerFunction => c instanceof HandlerFunction);
}

const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });

/**
 * A TaskQueue with these props and its template: the shared default queue (`defaultQueue`) when every prop is
 * undefined, which is what the TaskQueue builds for an absent prop; else a queue of its own.
 */
function queueWith(props: Partial<TaskQueueProps>): { taskQueue: TaskQueue; template: Template } {
  if (Object.values(props).every((value) => value === undefined)) return defaultQueue();
  const { stack, taskQueue } = queueStack(props);
  return { taskQueue, template: Template.fromStack(stack) };
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

/** Each graph of the dashboard by title: its metrics (`namespace metricName dim=value… stat`), left then right axis. */
function dashboardWidgets(template: Template): Map<string, string[]> {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(renderJoin(dashboards[0]!.Properties.DashboardBody)) as {
    widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
  };
  return new Map(
    body.widgets
      .filter((w) => w.properties.title !== undefined && w.properties.metrics)
      .map((w) => [
        w.properties.title!,
        w.properties.metrics!.map((metric) => {
          const parts = metric.filter((p): p is string => typeof p === 'string');
          const options = metric.find((p) => typeof p === 'object' && p !== null) as
            | { stat?: string }
            | undefined;
          const [namespace, name, ...dims] = parts;
          const pairs: string[] = [];
          for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
          return [namespace, name, ...pairs, options?.stat ?? ''].join(' ').trim();
        }),
      ]),
  );
}

describe("TaskQueue dashboard: the seed's figures per tier", () => {
  test.each(PRIORITIES)(
    '%s: depth (visible, in flight, delayed) and lag, produce and consume rates, DLQ depth',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();
      const tier = taskQueue.tiers[priority];

      // WHEN
      const widgets = dashboardWidgets(template);

      // THEN
      const queue = `QueueName=<GetAtt:${logicalId(tier.queue)}.QueueName>`;
      const dlq = `QueueName=<GetAtt:${logicalId(tier.deadLetterQueue)}.QueueName>`;
      expect(widgets.get(`${priority}: depth and lag (oldest message)`)).toEqual([
        `AWS/SQS ApproximateNumberOfMessagesVisible ${queue} Maximum`,
        `AWS/SQS ApproximateNumberOfMessagesNotVisible ${queue} Maximum`,
        `AWS/SQS ApproximateNumberOfMessagesDelayed ${queue} Maximum`,
        `AWS/SQS ApproximateAgeOfOldestMessage ${queue} Maximum`,
      ]);
      expect(widgets.get(`${priority}: produce and consume rates (messages per period)`)).toEqual([
        `AWS/SQS NumberOfMessagesSent ${queue} Sum`,
        `AWS/SQS NumberOfMessagesDeleted ${queue} Sum`,
      ]);
      expect(widgets.get(`${priority}: dead letters`)).toEqual([
        `AWS/SQS ApproximateNumberOfMessagesVisible ${dlq} Maximum`,
      ]);
    },
  );
});

describe('TaskQueue dashboard', () => {
  test.each(PRIORITIES)(
    'charts the %s queue (its noisy tenants included), its DLQ and its consumer',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = defaultQueue();
      const tier = taskQueue.tiers[priority];

      // WHEN
      const metrics = dashboardMetrics(template);

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
          `AWS/SQS ApproximateNumberOfNoisyGroups ${queue}`,
          `AWS/SQS ApproximateNumberOfMessagesVisible ${dlq}`,
          `AWS/Lambda ConcurrentExecutions ${fn}`,
          `AWS/Lambda Errors ${fn}`,
          `AWS/Lambda Throttles ${fn}`,
        ]),
      );
    },
  );

  test.each(PRIORITIES)('charts every task metric of the %s tier', (priority) => {
    // GIVEN
    const { template } = defaultQueue();

    // WHEN
    const metrics = dashboardMetrics(template);

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
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const metrics = dashboardMetrics(template);

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
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));

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
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const functions = [
      taskQueue.api.producerFunction,
      taskQueue.api.statusFunction,
      ...taskQueue.consumers(),
    ];
    for (const fn of functions) {
      const properties = template.toJSON().Resources[logicalId(fn)].Properties;
      expect(properties.LoggingConfig).toMatchObject({ LogGroup: ref(fn.logGroup) });
    }
  });

  test('tracing is off by default', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));

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
  ] as const)('logLevel %s reaches every function as LOG_LEVEL %s', (logLevel, expected) => {
    // GIVEN
    const { taskQueue, template } = queueWith({ logLevel });

    // WHEN
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));

    // THEN
    expect(functions).toHaveLength(functionsOf(taskQueue).length);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables.LOG_LEVEL).toBe(expected);
      expect(fn.Properties.Environment.Variables).not.toHaveProperty('POWERTOOLS_LOG_LEVEL');
    }
  });

  test.each([
    [undefined, 'WARN'],
    ['INFO', 'INFO'],
  ] as const)(
    "systemLogLevel %s reaches every function as Lambda's SystemLogLevel %s, in the JSON log format",
    (systemLogLevel, expected) => {
      // GIVEN
      const { taskQueue, template } = queueWith({ systemLogLevel });

      // WHEN
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));

      // THEN
      expect(functions).toHaveLength(functionsOf(taskQueue).length);
      for (const fn of functions) {
        expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: expected });
      }
    },
  );

  test.each(['WARN', 'ERROR'] as const)(
    'at logLevel %s Lambda still passes every line a function writes, the EMF lines (which Lambda counts as INFO) included',
    (logLevel) => {
      // GIVEN
      const { stack, taskQueue } = queueStack({ logLevel });

      // WHEN
      const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));

      // THEN: Lambda's application filter lets DEBUG and up through; the function's own logger filters by LOG_LEVEL
      expect(functions).toHaveLength(functionsOf(taskQueue).length);
      for (const fn of functions) {
        expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBe('DEBUG');
        expect(fn.Properties.Environment.Variables.LOG_LEVEL).toBe(logLevel);
      }
    },
  );
});
