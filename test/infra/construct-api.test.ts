/**
 * The construct API in the CDK's conventions: grants, metric methods, a TaskTier on its own, and the environment
 * each function gets from the contract in lambda/contract.
 */

import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { DEFAULTS, EnvName, FUNCTION_ENV, type FunctionRole } from '../../lambda/contract';
import { METRIC_NAMESPACE, MetricName } from '../../lambda/core/metric-names';
import { PRIORITIES } from '../../lambda/core/task';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import { TaskResults } from '../../lib/task-results';
import { TaskTier } from '../../lib/task-tier';
import {
  CALLBACK_BASE_URL,
  HTTP_AGENTS,
  logicalId,
  queueStack,
  renderJoin,
  roleStatements,
  testApp,
  testStack,
} from './synth';

const variablesOf = (template: Template, fn: IConstruct): Record<string, unknown> =>
  template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;

describe('Function environments: the contract with the handlers', () => {
  const stack = new TaskQueueStack(testApp(), 'AgentTaskQueue', { config: {} });
  const template = Template.fromStack(stack);
  const q = stack.taskQueue;
  const functions: [FunctionRole, IConstruct][] = [
    ['producer', q.api.producerFunction],
    ['status', q.api.statusFunction],
    ['callback', q.api.callbackFunction],
    ['consumer', q.tiers.high.consumerFunction],
    ['consumer', q.tiers.low.consumerFunction],
    ['sweeper', q.sweeper.sweeperFunction],
    ['accepted-tasks', q.acceptedTasks.counterFunction],
    ['agent', stack.node.findChild('EchoAgent')],
  ];

  test('every function of the stack has a role', () => {
    const ids = Object.entries(template.findResources('AWS::Lambda::Function')).map(([id]) => id);
    expect(ids.sort()).toEqual(functions.map(([, fn]) => logicalId(fn)).sort());
  });

  test.each(functions)(
    'the %s function is marked with its role and gets every variable its handler reads',
    (role, fn) => {
      // WHEN
      const variables = variablesOf(template, fn);

      // THEN
      expect(variables[EnvName.FunctionRole]).toBe(role);
      for (const name of FUNCTION_ENV[role]) expect(variables).toHaveProperty([name]);
    },
  );

  test('the variables no prop sets hold the construct defaults', () => {
    expect(variablesOf(template, q.api.producerFunction)[EnvName.MaxJsonDepth]).toBe(
      String(DEFAULTS.maxJsonDepth),
    );
    const sweeper = variablesOf(template, q.sweeper.sweeperFunction);
    expect(sweeper[EnvName.RedriveGraceSeconds]).toBe(String(DEFAULTS.redriveGraceSeconds));
    expect(sweeper[EnvName.SweepMaxMessages]).toBe(String(DEFAULTS.sweepMaxMessages));
  });
});

describe('TaskQueue grants', () => {
  /** The execute-api ARN of `method path` on the queue's API, in any stage, rendered as one string. */
  const invokeArn = (apiId: string, route: string) =>
    `arn:<Ref:AWS::Partition>:execute-api:<Ref:AWS::Region>:<Ref:AWS::AccountId>:<Ref:${apiId}>/*/${route}`;

  test.each([
    ['grantSubmit', 'POST/tasks'],
    ['grantRead', 'GET/tasks/*'],
  ] as const)('%s allows execute-api:Invoke on %s and nothing else', (grant, route) => {
    // GIVEN
    const { stack, taskQueue } = queueStack();
    const role = new iam.Role(stack, 'Client', { assumedBy: new iam.AccountRootPrincipal() });

    // WHEN
    taskQueue[grant](role);

    // THEN
    const statements = roleStatements(Template.fromStack(stack), role);
    expect(statements.map((s) => ({ ...s, resources: s.resources.map(renderJoin) }))).toEqual([
      {
        effect: 'Allow',
        actions: ['execute-api:Invoke'],
        resources: [invokeArn(logicalId(taskQueue.api.httpApi), route)],
      },
    ]);
  });
});

describe('TaskQueue metric methods', () => {
  const { stack, taskQueue } = queueStack();
  const resolved = (value: unknown) => Stack.of(taskQueue).resolve(value);

  test.each(PRIORITIES)(
    'the %s queue depth, oldest message age and DLQ depth are maxima of its queues',
    (p) => {
      const tier = taskQueue.tiers[p];
      for (const [metric, queue, name] of [
        [taskQueue.metricQueueDepth(p), tier.queue, 'ApproximateNumberOfMessagesVisible'],
        [taskQueue.metricAgeOfOldestMessage(p), tier.queue, 'ApproximateAgeOfOldestMessage'],
        [taskQueue.metricDeadLetterDepth(p), tier.deadLetterQueue, 'ApproximateNumberOfMessagesVisible'],
      ] as const) {
        expect(metric.namespace).toBe('AWS/SQS');
        expect(metric.metricName).toBe(name);
        expect(metric.statistic).toBe('Maximum');
        expect(metric.period.toSeconds()).toBe(300);
        expect(resolved(metric.dimensions)).toEqual({
          QueueName: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] },
        });
      }
    },
  );

  test.each(PRIORITIES)('the %s task counts are sums of the tier rollup of the task metrics', (p) => {
    for (const [metric, name] of [
      [taskQueue.metricTasksAccepted(p), MetricName.TasksAccepted],
      [taskQueue.metricTasksSucceeded(p), MetricName.TasksSucceeded],
      [taskQueue.metricTasksFailed(p), MetricName.TasksFailed],
    ] as const) {
      expect(metric.namespace).toBe(METRIC_NAMESPACE);
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ Tier: p });
      expect(metric.statistic).toBe('Sum');
      expect(metric.period.toSeconds()).toBe(300);
    }
  });

  test('a metric method takes the options of a CDK metric', () => {
    // WHEN
    const metric = taskQueue.metricTasksFailed('high', {
      period: Duration.minutes(1),
      statistic: 'Maximum',
      label: 'x',
    });

    // THEN
    expect(metric.period.toSeconds()).toBe(60);
    expect(metric.statistic).toBe('Maximum');
    expect(metric.label).toBe('x');
    expect(metric.dimensions).toEqual({ Tier: 'high' });
  });

  test('the alarms watch the same metrics the methods return', () => {
    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 300,
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'QueueName'] } },
      ],
    });
  });
});

describe('TaskTier on its own', () => {
  function tierStack() {
    const stack = testStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'task_id', type: dynamodb.AttributeType.STRING },
    });
    const limitsTable = new dynamodb.Table(stack, 'Limits', {
      partitionKey: { name: 'counter', type: dynamodb.AttributeType.STRING },
    });
    const results = new TaskResults(stack, 'Results');
    return { stack, table, limitsTable, results };
  }

  test('reports its own name, not TaskQueue, in its errors', () => {
    // GIVEN
    const { stack, table, limitsTable, results } = tierStack();

    // WHEN / THEN
    expect(
      () =>
        new TaskTier(stack, 'Urgent', {
          priority: 'high',
          table,
          limitsTable,
          results,
          agents: HTTP_AGENTS,
          callbackBaseUrl: CALLBACK_BASE_URL,
          batchSize: 0,
          maxReceiveCount: 0,
        }),
    ).toThrow(
      'Invalid TaskTier props (TestStack/Urgent):\n' +
        '- high tier: batchSize must be between 1 and 10000, but 0 was provided\n' +
        '- maxReceiveCount must be 1 or more, but 0 was provided',
    );
  });

  test('builds a consumer with the whole consumer environment and its grants', () => {
    // GIVEN
    const { stack, table, limitsTable, results } = tierStack();

    // WHEN
    const tier = new TaskTier(stack, 'Urgent', {
      priority: 'high',
      table,
      limitsTable,
      results,
      agents: HTTP_AGENTS,
      callbackBaseUrl: CALLBACK_BASE_URL,
      backoffBase: Duration.seconds(3),
      // 1 day of queue retention + 900 s + 1 day in the DLQ = 173700 s: the retention rule holds
      retentionPeriod: Duration.days(1),
      deadLetterRetention: Duration.days(1),
      taskRetention: Duration.days(3),
    });

    // THEN
    const template = Template.fromStack(stack);
    const variables = variablesOf(template, tier.consumerFunction);
    expect(variables).toMatchObject({
      [EnvName.FunctionRole]: 'consumer',
      [EnvName.TaskTableName]: { Ref: logicalId(table) },
      [EnvName.BackoffBaseSeconds]: '3',
      [EnvName.BackoffCapSeconds]: String(DEFAULTS.backoffCapSeconds),
      [EnvName.TaskRetentionSeconds]: '259200',
      [EnvName.LeaseSeconds]: String(DEFAULTS.consumerTimeoutSeconds * 2),
      [EnvName.LimitsTableName]: { Ref: logicalId(limitsTable) },
      [EnvName.TenantMaxConcurrency]: '0',
      [EnvName.LimitWakeUpSeconds]: String(DEFAULTS.limitWakeUpSeconds),
      [EnvName.ResultBucketName]: { Ref: logicalId(results.bucket) },
    });
    const tableArn = { 'Fn::GetAtt': [logicalId(table), 'Arn'] };
    expect(
      roleStatements(template, tier.consumerFunction.role!).filter((s) =>
        s.resources.some((r) => JSON.stringify(r) === JSON.stringify(tableArn)),
      ),
    ).toEqual([
      {
        effect: 'Allow',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArn],
      },
    ]);
  });
});
