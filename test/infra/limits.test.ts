/**
 * Per-agent limits and the per-tenant cap in the construct (issue 12): the limiter's table, the consumers' and
 * settling functions' environment and grants, the limits in AGENTS and in the configuration file, their
 * validation, and the dashboard's limits rows.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';
import { COUNTER_KEY } from '../../lambda/adapters/dynamodb-limiter';
import { DEFAULTS, EnvName, parseAgentTargets, slotLimits } from '../../lambda/contract';
import { LimitReason, MAX_LIMIT, MAX_RATE_WINDOW_SECONDS } from '../../lambda/core/limits';
import { METRIC_NAMESPACE } from '../../lambda/core/metric-names';
import { PRIORITIES } from '../../lambda/core/task';
import type { AgentRegistry } from '../../lib/agents';
import { LimitTable } from '../../lib/limit-table';
import type { StackConfig } from '../../lib/stack-config';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import { TaskResults } from '../../lib/task-results';
import { TaskTier } from '../../lib/task-tier';
import {
  allowedActions,
  CALLBACK_BASE_URL,
  HTTP_AGENTS,
  inlineFunction,
  logicalId,
  once,
  renderJoin,
  testApp,
  testStack,
} from './synth';

const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const variablesOf = (template: Template, fn: IConstruct): Record<string, unknown> =>
  template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;

/** Agents with every kind of limit, and one without. */
function limitedAgents(stack: Stack): AgentRegistry {
  return {
    limited: {
      kind: 'http',
      url: 'https://agents.example.com/limited',
      maxConcurrency: 2,
      rateLimit: { requests: 10, per: Duration.seconds(1) },
    },
    gated: { kind: 'lambda', function: inlineFunction(stack, 'Gated'), maxConcurrency: 5 },
    paced: {
      kind: 'http',
      url: 'https://agents.example.com/paced',
      rateLimit: { requests: 600, per: Duration.minutes(1) },
    },
    summarize: HTTP_AGENTS.summarize!,
  };
}

/** A stack with one TaskQueue whose agents `build` makes in that stack. */
function limitedStack(
  props: Partial<TaskQueueProps> = {},
  build: (stack: Stack) => AgentRegistry = limitedAgents,
) {
  const stack = testStack();
  const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: build(stack), ...props });
  return { stack, taskQueue, template: Template.fromStack(stack) };
}

/*
 * The stacks that several tests read and none changes, each built and synthesized once for this file (see `once`):
 * `limitedAgents` with no props, `HTTP_AGENTS` alone (no limit), and one async Lambda agent of the app.
 */
const limited = once(() => limitedStack());
const unlimited = once(() => limitedStack({}, () => HTTP_AGENTS));
const asyncResearch = once(() =>
  limitedStack({}, (stack) => ({
    research: { kind: 'lambda', function: inlineFunction(stack, 'Research'), mode: 'async' },
  })),
);

/** The message a TaskQueue with these props throws; fails the test when it does not throw. */
function queueError(build: (stack: Stack) => AgentRegistry, props: Partial<TaskQueueProps> = {}): string {
  try {
    limitedStack(props, build);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the TaskQueue to throw');
}

const httpAgent = (fields: Partial<AgentRegistry[string]>) => () =>
  ({ x: { kind: 'http', url: 'https://agents.example.com/x', ...fields } }) as AgentRegistry;

describe('Limits: the limiter table', () => {
  test('is keyed by the adapter counter key (String), on demand, with PITR and TTL on expires_at', () => {
    // GIVEN
    const { taskQueue, template } = limited();

    // WHEN
    const table = template.toJSON().Resources[logicalId(taskQueue.limitsTable)];

    // THEN
    expect(COUNTER_KEY).toBe('counter');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: COUNTER_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: COUNTER_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  test('is built even when no agent has a limit', () => {
    // GIVEN
    const { taskQueue, template } = unlimited();

    // WHEN
    const resources = template.toJSON().Resources;

    // THEN
    expect(resources[logicalId(taskQueue.limitsTable)].Type).toBe('AWS::DynamoDB::Table');
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  test('is deleted with the stack by default (its counters are leases), and takes a removal policy', () => {
    // GIVEN
    const stack = testStack();
    const byDefault = new LimitTable(stack, 'Default');
    const retained = new LimitTable(stack, 'Retained', { removalPolicy: RemovalPolicy.RETAIN });

    // WHEN
    const resources = Template.fromStack(stack).toJSON().Resources;

    // THEN
    expect(resources[logicalId(byDefault.table)].DeletionPolicy).toBe('Delete');
    expect(resources[logicalId(retained.table)].DeletionPolicy).toBe('Retain');
  });
});

describe('Limits: environment', () => {
  test.each(PRIORITIES)(
    'the %s consumer gets the limiter table, no tenant cap (0) and the default wake-up',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = limited();

      // WHEN
      const variables = variablesOf(template, taskQueue.tiers[priority].consumerFunction);

      // THEN
      expect(variables).toMatchObject({
        [EnvName.LimitsTableName]: { Ref: logicalId(taskQueue.limitsTable) },
        [EnvName.TenantMaxConcurrency]: '0',
        [EnvName.LimitWakeUpSeconds]: String(DEFAULTS.limitWakeUpSeconds),
      });
      expect(DEFAULTS.limitWakeUpSeconds).toBe(5);
    },
  );

  test('tenantMaxConcurrency and limitWakeUp reach both consumers', () => {
    // GIVEN
    const { taskQueue, template } = limitedStack({
      tenantMaxConcurrency: 8,
      limitWakeUp: Duration.seconds(12),
    });

    // WHEN
    const consumers = taskQueue.consumers().map((fn) => variablesOf(template, fn));

    // THEN
    for (const variables of consumers) {
      expect(variables).toMatchObject({
        [EnvName.TenantMaxConcurrency]: '8',
        [EnvName.LimitWakeUpSeconds]: '12',
      });
    }
  });

  test('the callback and completion functions get the limiter table', () => {
    // GIVEN
    const { taskQueue, template } = asyncResearch();

    // WHEN
    const settling = [taskQueue.api.callbackFunction, taskQueue.lambdaAgentCompletion!.completionFunction];

    // THEN
    for (const fn of settling) {
      expect(variablesOf(template, fn)[EnvName.LimitsTableName]).toEqual({
        Ref: logicalId(taskQueue.limitsTable),
      });
    }
  });
});

describe('Limits: grants', () => {
  const COUNTERS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

  test.each(PRIORITIES)(
    'the %s consumer may get, put and update counters, and send to its own queue but not the other tier',
    (priority) => {
      // GIVEN
      const { taskQueue, template } = limited();
      const other = priority === 'high' ? 'low' : 'high';
      const role = taskQueue.tiers[priority].consumerFunction.role!;

      // WHEN
      const onCounters = allowedActions(template, role, getAtt(taskQueue.limitsTable));

      // THEN
      expect(onCounters).toEqual(COUNTERS);
      expect(allowedActions(template, role, getAtt(taskQueue.tiers[priority].queue))).toContain(
        'sqs:SendMessage',
      );
      expect(allowedActions(template, role, getAtt(taskQueue.tiers[other].queue))).toEqual([]);
      // It reads a limited task's record before asking for its slots, and creates a published record (topics).
      expect(allowedActions(template, role, getAtt(taskQueue.table))).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
    },
  );

  test("grants every DynamoDB call the limiter adapter makes, but the operators' Scan", () => {
    // GIVEN: the commands the adapter sends (IAM knows a transaction by the PutItems it holds); the local runtime
    // checks no IAM, so a call the grant lacks would pass every local test and be denied on AWS
    const source = readFileSync(path.join(__dirname, '../../lambda/adapters/dynamodb-limiter.ts'), 'utf8');
    const sent = [...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!);
    const asIam = (command: string) => `dynamodb:${command === 'TransactWriteItems' ? 'PutItem' : command}`;

    // THEN
    expect([...new Set(sent.filter((c) => c !== 'Scan').map(asIam))].sort()).toEqual(COUNTERS);
  });

  test('the callback and completion functions may get, put and update counters, nothing more on that table', () => {
    // GIVEN
    const { taskQueue, template } = asyncResearch();

    // WHEN
    const roles = [taskQueue.api.callbackFunction, taskQueue.lambdaAgentCompletion!.completionFunction].map(
      (fn) => fn.role!,
    );

    // THEN
    for (const role of roles) {
      expect(allowedActions(template, role, getAtt(taskQueue.limitsTable))).toEqual(COUNTERS);
    }
  });

  test('the producer, the status function and the sweeper have no access to the counters', () => {
    // GIVEN
    const { taskQueue, template } = limited();

    // WHEN
    const roles = [
      taskQueue.api.producerFunction,
      taskQueue.api.statusFunction,
      taskQueue.sweeper.sweeperFunction,
    ];

    // THEN
    for (const fn of roles) {
      expect(allowedActions(template, fn.role!, getAtt(taskQueue.limitsTable))).toEqual([]);
    }
  });
});

describe('Limits: the AGENTS variable', () => {
  test('carries maxConcurrency and rateLimit (per in seconds) of HTTP and Lambda agents, and nothing for an agent without', () => {
    // GIVEN
    const { taskQueue, template } = limited();

    // WHEN
    const json = renderJoin(variablesOf(template, taskQueue.tiers.low.consumerFunction)[EnvName.Agents]);
    const agents = JSON.parse(json);

    // THEN
    expect(agents.limited).toMatchObject({ maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } });
    expect(agents.gated).toMatchObject({ kind: 'lambda', maxConcurrency: 5 });
    expect(agents.gated).not.toHaveProperty('rateLimit');
    expect(agents.paced).toMatchObject({ rateLimit: { requests: 600, per: 60 } });
    expect(agents.paced).not.toHaveProperty('maxConcurrency');
    expect(agents.summarize).toEqual({
      kind: 'http',
      url: 'https://agents.example.com/summarize',
      timeoutSeconds: 60,
    });
  });

  test("the consumers' parser reads the limits back as the construct was given them", () => {
    // GIVEN
    const { taskQueue, template } = limited();

    // WHEN
    const targets = parseAgentTargets(
      renderJoin(variablesOf(template, taskQueue.tiers.high.consumerFunction)[EnvName.Agents]),
    );

    // THEN
    expect(slotLimits(targets.limited!)).toEqual({
      maxConcurrency: 2,
      rateLimit: { requests: 10, perSeconds: 1 },
    });
    expect(slotLimits(targets.gated!)).toEqual({ maxConcurrency: 5 });
    expect(slotLimits(targets.paced!)).toEqual({ rateLimit: { requests: 600, perSeconds: 60 } });
    expect(slotLimits(targets.summarize!)).toBeUndefined();
  });
});

describe('Limits: validation', () => {
  test.each([0, -1, 2.5, MAX_LIMIT + 1])('maxConcurrency must be an integer from 1 to 1000: %s', (value) => {
    expect(queueError(httpAgent({ maxConcurrency: value }))).toContain(
      `agent 'x' maxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but ${value} was provided`,
    );
  });

  test.each([0, 1.5, MAX_LIMIT + 1])('rateLimit.requests must be an integer from 1 to 1000: %s', (value) => {
    expect(queueError(httpAgent({ rateLimit: { requests: value, per: Duration.seconds(1) } }))).toContain(
      `agent 'x' rateLimit.requests must be an integer between 1 and ${MAX_LIMIT}, but ${value} was provided`,
    );
  });

  test.each([
    ['0 seconds', Duration.seconds(0), '0'],
    ['1.5 seconds', Duration.millis(1500), '1.5'],
    ['two hours', Duration.hours(2), '7200'],
  ])('rateLimit.per must be whole seconds from 1 to 3600: %s', (_name, per, shown) => {
    expect(queueError(httpAgent({ rateLimit: { requests: 1, per } }))).toContain(
      `agent 'x' rateLimit.per must be a whole number of seconds between 1 and ${MAX_RATE_WINDOW_SECONDS}, but ${shown} seconds was provided`,
    );
  });

  test('the edges are allowed: 1 and 1000, 1 second and one hour', () => {
    expect(() =>
      limitedStack({ tenantMaxConcurrency: MAX_LIMIT, limitWakeUp: Duration.seconds(900) }, () => ({
        low: {
          kind: 'http',
          url: 'https://agents.example.com/low',
          maxConcurrency: 1,
          rateLimit: { requests: 1, per: Duration.seconds(1) },
        },
        high: {
          kind: 'http',
          url: 'https://agents.example.com/high',
          maxConcurrency: MAX_LIMIT,
          rateLimit: { requests: MAX_LIMIT, per: Duration.hours(1) },
        },
      })),
    ).not.toThrow();
    expect(() => limitedStack({ tenantMaxConcurrency: 1, limitWakeUp: Duration.seconds(1) })).not.toThrow();
  });

  test.each([0, 2.5, MAX_LIMIT + 1])(
    'tenantMaxConcurrency must be an integer from 1 to 1000: %s',
    (value) => {
      expect(queueError(limitedAgents, { tenantMaxConcurrency: value })).toContain(
        `tenantMaxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but ${value} was provided`,
      );
    },
  );

  test.each([
    ['0 seconds', Duration.seconds(0), '0'],
    ['1.5 seconds', Duration.millis(1500), '1.5'],
    ['901 seconds', Duration.seconds(901), '901'],
  ])('limitWakeUp must be whole seconds from 1 to 900: %s', (_name, limitWakeUp, shown) => {
    expect(queueError(limitedAgents, { limitWakeUp })).toContain(
      `limitWakeUp must be a whole number of seconds between 1 and 900 (SQS's longest message delay), but ${shown} seconds was provided`,
    );
  });

  test('reports every bad limit at once, each once, though both tiers check them', () => {
    // GIVEN / WHEN
    const message = queueError(
      httpAgent({ maxConcurrency: 0, rateLimit: { requests: 0, per: Duration.seconds(1) } }),
      {
        tenantMaxConcurrency: 0,
        limitWakeUp: Duration.seconds(0),
      },
    );

    // THEN
    expect(message.split('\n- ').slice(1)).toEqual([
      `agent 'x' maxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but 0 was provided`,
      `agent 'x' rateLimit.requests must be an integer between 1 and ${MAX_LIMIT}, but 0 was provided`,
      `tenantMaxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but 0 was provided`,
      "limitWakeUp must be a whole number of seconds between 1 and 900 (SQS's longest message delay), but 0 seconds was provided",
    ]);
  });

  test('a TaskTier on its own checks the limits too', () => {
    // GIVEN
    const stack = testStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'task_id', type: dynamodb.AttributeType.STRING },
    });

    // WHEN / THEN
    expect(
      () =>
        new TaskTier(stack, 'Urgent', {
          priority: 'high',
          table,
          limitsTable: new LimitTable(stack, 'Limits').table,
          results: new TaskResults(stack, 'Results'),
          agents: httpAgent({ maxConcurrency: 0 })(),
          callbackBaseUrl: CALLBACK_BASE_URL,
          tenantMaxConcurrency: 0,
        }),
    ).toThrow(
      'Invalid TaskTier props (TestStack/Urgent):\n' +
        `- agent 'x' maxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but 0 was provided\n` +
        `- tenantMaxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but 0 was provided`,
    );
  });
});

describe('Limits: the configuration file', () => {
  const stackWith = (config: StackConfig) =>
    new TaskQueueStack(testApp(), 'AgentTaskQueue', { config: { echoAgent: false, ...config } });

  test('agent maxConcurrency and rateLimit (per in seconds) and the queue-wide tenantMaxConcurrency and limitWakeUpSeconds reach the consumers', () => {
    // GIVEN
    const stack = stackWith({
      agents: {
        limited: {
          kind: 'http',
          url: 'http://localhost:9000/limited',
          maxConcurrency: 2,
          rateLimit: { requests: 10, per: 1 },
        },
        gated: {
          kind: 'lambda',
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:gated',
          rateLimit: { requests: 30, per: 60 },
        },
      },
      tenantMaxConcurrency: 4,
      limitWakeUpSeconds: 8,
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const fn of stack.taskQueue.consumers()) {
      const variables = variablesOf(template, fn);
      expect(JSON.parse(renderJoin(variables[EnvName.Agents]))).toMatchObject({
        limited: { maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } },
        gated: { rateLimit: { requests: 30, per: 60 } },
      });
      expect(variables).toMatchObject({
        [EnvName.TenantMaxConcurrency]: '4',
        [EnvName.LimitWakeUpSeconds]: '8',
      });
    }
  });

  test.each([
    [{ maxConcurrency: 0 }, /agent 'x' maxConcurrency must be an integer from 1 to 1000/],
    [{ rateLimit: { requests: 5 } }, /agent 'x' rateLimit.per must be a whole number of seconds/],
    [{ rateLimit: 5 }, /agent 'x' rateLimit must be/],
  ])('names the config and the field of a bad agent limit: %j', (fields, message) => {
    const taskQueue = JSON.stringify({ agents: { x: { kind: 'http', url: 'https://x', ...fields } } });
    expect(() => new TaskQueueStack(testApp({ taskQueue }), 'AgentTaskQueue')).toThrow(message);
  });

  test('a bad queue-wide limit in the config gets the construct error', () => {
    expect(() => stackWith({ tenantMaxConcurrency: 0, limitWakeUpSeconds: 1000 })).toThrow(
      /tenantMaxConcurrency must be an integer between 1 and 1000[\s\S]*limitWakeUp must be a whole number of seconds between 1 and 900/,
    );
  });
});

/** Every graph widget of the dashboard, with its metrics as `namespace metricName dimName=dimValue…` (dimensions sorted). */
function dashboardGraphs(template: Template): {
  title: string;
  metrics: string[];
  annotations: { value: number; label?: string }[];
}[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(renderJoin(dashboards[0]!.Properties.DashboardBody)) as {
    widgets: {
      type: string;
      properties: {
        title?: string;
        metrics?: unknown[][];
        annotations?: { horizontal?: { value: number; label?: string }[] };
      };
    }[];
  };
  return body.widgets
    .filter((w) => w.type === 'metric')
    .map((w) => ({
      title: w.properties.title ?? '',
      metrics: (w.properties.metrics ?? []).map((metric) => {
        const [namespace, name, ...dims] = metric.filter((p): p is string => typeof p === 'string');
        const pairs: string[] = [];
        for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
        return [namespace, name, ...pairs.sort()].join(' ');
      }),
      annotations: w.properties.annotations?.horizontal ?? [],
    }));
}

describe('Limits: dashboard', () => {
  const deferrals = (type: string, reason: string) =>
    `${METRIC_NAMESPACE} LimitDeferrals Reason=${reason} TaskType=${type}`;
  const slots = (type: string) => `${METRIC_NAMESPACE} AgentSlotsInUse TaskType=${type}`;

  test('a limited agent gets its deferrals by reason and its slots in use against maxConcurrency', () => {
    // GIVEN
    const { template } = limited();

    // WHEN
    const graphs = dashboardGraphs(template);

    // THEN
    const byTitle = Object.fromEntries(graphs.map((g) => [g.title, g]));
    expect(byTitle['limited: limit deferrals by reason']?.metrics).toEqual([
      deferrals('limited', LimitReason.AgentConcurrencyLimit),
      deferrals('limited', LimitReason.AgentRateLimit),
    ]);
    const limitedSlots = byTitle['limited: slots in use (max) against maxConcurrency'];
    expect(limitedSlots?.metrics).toEqual([slots('limited')]);
    expect(limitedSlots?.annotations).toEqual([expect.objectContaining({ value: 2 })]);
    expect(byTitle['gated: slots in use (max) against maxConcurrency']?.annotations).toEqual([
      expect.objectContaining({ value: 5 }),
    ]);
    // A rate limit alone: deferrals, and no slots gauge (it reports none).
    expect(byTitle['paced: limit deferrals by reason']?.metrics).toEqual([
      deferrals('paced', LimitReason.AgentRateLimit),
    ]);
    expect(byTitle['paced: slots in use (max) against maxConcurrency']).toBeUndefined();
    // No limit, no tenant cap: no row.
    expect(graphs.filter((g) => g.title.startsWith('summarize:'))).toEqual([]);
  });

  test('charts deferrals as Sum and slots in use as Maximum', () => {
    // GIVEN
    const { template } = limited();

    // WHEN
    const body = JSON.parse(
      renderJoin(
        Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody,
      ),
    ) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] };
    const statOf = (title: string) =>
      body.widgets
        .find((w) => w.properties.title === title)!
        .properties.metrics!.map((m) => (m.at(-1) as { stat?: string }).stat);

    // THEN
    expect(statOf('limited: limit deferrals by reason')).toEqual(['Sum', 'Sum']);
    expect(statOf('limited: slots in use (max) against maxConcurrency')).toEqual(['Maximum']);
  });

  test('under a tenant cap, every agent type gets a row with the TenantConcurrencyLimit deferrals', () => {
    // GIVEN
    const { template } = limitedStack({ tenantMaxConcurrency: 3 });

    // WHEN
    const graphs = dashboardGraphs(template);

    // THEN
    const byTitle = Object.fromEntries(graphs.map((g) => [g.title, g]));
    expect(byTitle['summarize: limit deferrals by reason']?.metrics).toEqual([
      deferrals('summarize', LimitReason.TenantConcurrencyLimit),
    ]);
    expect(byTitle['limited: limit deferrals by reason']?.metrics).toContain(
      deferrals('limited', LimitReason.TenantConcurrencyLimit),
    );
  });

  test('without limits or a tenant cap the dashboard has no limits row', () => {
    // GIVEN
    const { template } = unlimited();

    // WHEN
    const graphs = dashboardGraphs(template);

    // THEN
    expect(graphs.flatMap((g) => g.metrics).filter((m) => m.includes('LimitDeferrals'))).toEqual([]);
  });

  test('metricLimitDeferrals and metricAgentSlotsInUse name the metrics the consumers emit', () => {
    // GIVEN
    const { taskQueue } = limited();

    // WHEN
    const byReason = taskQueue.metricLimitDeferrals('limited', LimitReason.AgentRateLimit);
    const all = taskQueue.metricLimitDeferrals('limited');
    const inUse = taskQueue.metricAgentSlotsInUse('limited');

    // THEN
    expect(byReason).toMatchObject({
      namespace: METRIC_NAMESPACE,
      metricName: 'LimitDeferrals',
      dimensions: { TaskType: 'limited', Reason: 'AgentRateLimit' },
      statistic: 'Sum',
    });
    expect(all.dimensions).toEqual({ TaskType: 'limited' });
    expect(inUse).toMatchObject({
      namespace: METRIC_NAMESPACE,
      metricName: 'AgentSlotsInUse',
      dimensions: { TaskType: 'limited' },
      statistic: 'Maximum',
    });
  });
});
