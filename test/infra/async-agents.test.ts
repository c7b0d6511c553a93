/**
 * Async agents in the construct (issue 11): the agent config in AGENTS, the consumer's callback base URL, the
 * callback routes with their own throttle, the completion of async Lambda agents of the app through
 * destinations (one event invoke config per function), and the rules that bound them.
 */
import { type App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { EnvName, FUNCTION_ENV } from '../../lambda/contract';
import type { AgentRegistry } from '../../lib/agents';
import { agentsFromConfig } from '../../lib/stack-config';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';
import {
  defaultQueue,
  defaultRulesViolations,
  HTTP_AGENTS,
  inlineFunction,
  logicalId,
  once,
  queueStack,
  renderJoin,
  roleStatements,
  testStack,
} from './synth';

const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const variablesOf = (template: Template, fn: IConstruct): Record<string, unknown> =>
  template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;

/** A stack with one TaskQueue whose agents `build` makes in that stack. */
function asyncStack(build: (stack: Stack) => AgentRegistry, props: Partial<TaskQueueProps> = {}) {
  const stack = testStack();
  const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: build(stack), ...props });
  return { stack, taskQueue, template: Template.fromStack(stack) };
}

/** A Lambda function of the app with this timeout, to stand for an agent. */
function agentFunction(stack: Stack, id: string, timeout: Duration): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout,
  });
}

/**
 * One async Lambda agent of the app, `research` (a 60 s function, the default window): the TaskQueue, its template
 * and the agent's function, built once for this file's tests that only read them (see `once`).
 */
const asyncLambdaAgent = once(() => {
  let fn: lambda.Function | undefined;
  const built = asyncStack((stack) => {
    fn = agentFunction(stack, 'Research', Duration.seconds(60));
    return { research: { kind: 'lambda', function: fn, mode: 'async' } };
  });
  return { ...built, fn: fn as lambda.Function };
});

/** The message a TaskQueue over these agents throws at synth; fails the test when it does not throw. */
function synthError(build: (stack: Stack) => AgentRegistry, props: Partial<TaskQueueProps> = {}): string {
  try {
    asyncStack(build, props);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the TaskQueue to throw');
}

describe('Async agents: the AGENTS variable', () => {
  test('an async agent gets mode, heartbeatTimeoutSeconds and maxRunTimeSeconds, with the defaults; a sync one nothing new', () => {
    // GIVEN
    const { taskQueue, template } = asyncStack((stack) => ({
      research: { kind: 'http', url: 'https://agents.example.com/research', mode: 'async' },
      review: {
        kind: 'lambda',
        function: lambda.Function.fromFunctionArn(
          stack,
          'Review',
          'arn:aws:lambda:us-east-1:123456789012:function:review',
        ),
        mode: 'async',
        heartbeatTimeout: Duration.minutes(2),
        maxRunTime: Duration.hours(3),
      },
      summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
    }));

    // WHEN
    const agents = JSON.parse(
      renderJoin(variablesOf(template, taskQueue.tiers.high.consumerFunction)[EnvName.Agents]),
    );

    // THEN
    expect(agents.research).toEqual({
      kind: 'http',
      url: 'https://agents.example.com/research',
      timeoutSeconds: 60,
      mode: 'async',
      heartbeatTimeoutSeconds: 300,
      maxRunTimeSeconds: 3600,
    });
    expect(agents.review).toMatchObject({
      mode: 'async',
      heartbeatTimeoutSeconds: 120,
      maxRunTimeSeconds: 10_800,
    });
    expect(agents.summarize).toEqual({
      kind: 'http',
      url: 'https://agents.example.com/summarize',
      timeoutSeconds: 60,
    });
  });

  test('the configuration file maps mode, heartbeatTimeoutSeconds and maxRunTimeSeconds to the agent props', () => {
    // GIVEN
    const stack = testStack();

    // WHEN
    const agents = agentsFromConfig(stack, {
      research: {
        kind: 'http',
        url: 'https://agents.example.com/research',
        mode: 'async',
        heartbeatTimeoutSeconds: 30,
        maxRunTimeSeconds: 7200,
      },
      classify: {
        kind: 'lambda',
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:c',
        mode: 'async',
      },
      summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
    });

    // THEN
    expect(agents.research?.mode).toBe('async');
    expect(agents.research?.heartbeatTimeout?.toSeconds()).toBe(30);
    expect(agents.research?.maxRunTime?.toSeconds()).toBe(7200);
    expect(agents.classify).toMatchObject({
      mode: 'async',
      heartbeatTimeout: undefined,
      maxRunTime: undefined,
    });
    expect(agents.summarize?.mode).toBeUndefined();
  });
});

describe('Async agents: the consumer callback base URL', () => {
  test("each consumer's CALLBACK_BASE_URL is the HTTP API's endpoint, with no trailing slash", () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    for (const tier of Object.values(taskQueue.tiers)) {
      expect(variablesOf(template, tier.consumerFunction)[EnvName.CallbackBaseUrl]).toEqual(
        getAtt(taskQueue.api.httpApi, 'ApiEndpoint'),
      );
    }
  });
});

/** The logical ids a template value refers to: `Ref`, `Fn::GetAtt` and `Fn::Sub` references. */
function references(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') out.add(v.Ref);
    if (Array.isArray(v['Fn::GetAtt'])) out.add(String(v['Fn::GetAtt'][0]));
    const sub = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub'];
    if (typeof sub === 'string') for (const m of sub.matchAll(/\$\{([^}.!]+)/g)) out.add(m[1]!);
    for (const child of Object.values(v)) references(child, out);
  }
  return out;
}

/** A dependency cycle among the template's resources, as a path of logical ids; undefined when there is none. */
function dependencyCycle(template: Template): string[] | undefined {
  const resources = template.toJSON().Resources as Record<
    string,
    { Properties?: unknown; DependsOn?: string | string[] }
  >;
  const edges = (id: string) => {
    const r = resources[id]!;
    const out = references(r.Properties);
    for (const d of [r.DependsOn ?? []].flat()) out.add(d);
    return [...out].filter((d) => d in resources);
  };
  const done = new Set<string>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (path.includes(id)) return [...path, id];
    if (done.has(id)) return undefined;
    for (const next of edges(id)) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    done.add(id);
    return undefined;
  };
  for (const id of Object.keys(resources)) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('Async agents: no dependency cycle', () => {
  test('consumers name the API endpoint and the API names the queues, and the template has no cycle', () => {
    // GIVEN: an async Lambda agent of the app too (its config names the completion function)
    const { template } = asyncStack((stack) => ({
      research: {
        kind: 'lambda',
        function: agentFunction(stack, 'Research', Duration.seconds(60)),
        mode: 'async',
      },
      summarize: HTTP_AGENTS.summarize!,
    }));

    // THEN
    expect(dependencyCycle(template)).toBeUndefined();
  });
});

describe('Async agents: template validation', () => {
  test("a stack with async agents of every kind passes CDK's built-in CloudFormation validation, with its errors made fatal", () => {
    // GIVEN: route settings, the event invoke config and its destinations
    const build = (app: App) => {
      const stack = new Stack(app, 'Async');
      new TaskQueue(stack, 'TaskQueue', {
        agents: {
          research: {
            kind: 'lambda',
            function: agentFunction(stack, 'Research', Duration.seconds(60)),
            mode: 'async',
          },
          review: { kind: 'http', url: 'https://agents.example.com/review', mode: 'async' },
          summarize: HTTP_AGENTS.summarize!,
        },
        callbackThrottle: { rateLimit: 50, burstLimit: 100 },
      });
    };

    // WHEN
    const violations = defaultRulesViolations(build);

    // THEN
    expect(violations).toEqual([]);
  });
});

describe('Async agents: the callback routes', () => {
  test('POST /tasks/{id}/heartbeat and /complete go to the callback function, with no authorizer', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      auth: { kind: 'jwt', issuer: 'https://i.example.com/', audience: ['a'] },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const routeKey of ['POST /tasks/{id}/heartbeat', 'POST /tasks/{id}/complete']) {
      const [route] = Object.values(
        template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }),
      );
      expect(route?.Properties.AuthorizationType).toBe('NONE');
      expect(route?.Properties.AuthorizerId).toBeUndefined();
      const integrationId = route?.Properties.Target['Fn::Join'][1][1].Ref as string;
      expect(template.toJSON().Resources[integrationId].Properties.IntegrationUri).toEqual(
        getAtt(taskQueue.api.callbackFunction),
      );
    }
  });

  test('the callback routes have their own throttle, 500 per second with a burst of 1000 by default', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN: the stage's default throttle still applies to the other routes
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      RouteSettings: {
        'POST /tasks/{id}/heartbeat': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        'POST /tasks/{id}/complete': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      },
    });
  });

  test('the callback throttle is a prop, apart from the API throttle', () => {
    // GIVEN
    const { stack } = queueStack({
      throttle: { rateLimit: 10, burstLimit: 20 },
      callbackThrottle: { rateLimit: 30, burstLimit: 40 },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      RouteSettings: {
        'POST /tasks/{id}/heartbeat': { ThrottlingRateLimit: 30, ThrottlingBurstLimit: 40 },
        'POST /tasks/{id}/complete': { ThrottlingRateLimit: 30, ThrottlingBurstLimit: 40 },
      },
    });
  });

  test('the stage is created after the callback routes, which its route settings name', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const routeIds = Object.entries(template.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, r]) => /\/(heartbeat|complete)$/.test(r.Properties.RouteKey))
      .map(([id]) => id);
    expect(routeIds).toHaveLength(2);
    const stage = template.toJSON().Resources[logicalId(taskQueue.api.stage)];
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  test('the callback function reads the settle environment, with the queue props', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ maxReceiveCount: 3, backoffBase: Duration.seconds(4) });

    // WHEN
    const variables = variablesOf(Template.fromStack(stack), taskQueue.api.callbackFunction);

    // THEN
    expect(variables[EnvName.FunctionRole]).toBe('callback');
    for (const name of FUNCTION_ENV.callback) expect(variables).toHaveProperty([name]);
    expect(variables).toMatchObject({
      [EnvName.HighQueueUrl]: { Ref: logicalId(taskQueue.tiers.high.queue) },
      [EnvName.LowQueueUrl]: { Ref: logicalId(taskQueue.tiers.low.queue) },
      [EnvName.MaxReceiveCount]: '3',
      [EnvName.BackoffBaseSeconds]: '4',
    });
  });
});

describe('Async agents: Lambda agents of the app complete through destinations', () => {
  test('without an async Lambda agent of the app there is no completion function and no event invoke config', () => {
    // GIVEN: async over HTTP, async by ARN, and a sync Lambda agent of the app
    const { taskQueue, template } = asyncStack((stack) => ({
      research: { kind: 'http', url: 'https://agents.example.com/research', mode: 'async' },
      review: {
        kind: 'lambda',
        function: lambda.Function.fromFunctionArn(
          stack,
          'R',
          'arn:aws:lambda:us-east-1:123456789012:function:r',
        ),
        mode: 'async',
      },
      classify: { kind: 'lambda', function: inlineFunction(stack, 'Classify') },
    }));

    // THEN
    expect(taskQueue.lambdaAgentCompletion).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  test('an async Lambda agent of the app gets one event invoke config: no retries, event age within its window, the completion function on success and failure', () => {
    // GIVEN: a 60 s function, a 5-minute window (the default)
    const { taskQueue, template, fn } = asyncLambdaAgent();

    // THEN
    const completion = taskQueue.lambdaAgentCompletion!.completionFunction;
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fn!) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300 - 60,
      DestinationConfig: {
        OnSuccess: { Destination: getAtt(completion) },
        OnFailure: { Destination: getAtt(completion) },
      },
    });
  });

  test('two async task types on one function with one window share its one event invoke config', () => {
    // GIVEN
    const { template } = asyncStack((stack) => {
      const fn = agentFunction(stack, 'Research', Duration.seconds(30));
      return {
        research: { kind: 'lambda', function: fn, mode: 'async', heartbeatTimeout: Duration.minutes(10) },
        deepResearch: { kind: 'lambda', function: fn, mode: 'async', heartbeatTimeout: Duration.minutes(10) },
      };
    });

    // THEN
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 600 - 30 });
  });

  test("the event age stays within Lambda's 6-hour maximum", () => {
    // GIVEN
    const { template } = asyncStack((stack) => ({
      research: {
        kind: 'lambda',
        function: agentFunction(stack, 'Research', Duration.minutes(15)),
        mode: 'async',
        heartbeatTimeout: Duration.hours(8),
        maxRunTime: Duration.hours(8),
      },
    }));

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 21_600 });
  });

  test('the agent may invoke the completion function by its ARN only, and the config waits for that grant', () => {
    // GIVEN
    const { taskQueue, template, fn } = asyncLambdaAgent();

    // WHEN
    const completion = taskQueue.lambdaAgentCompletion!.completionFunction;
    const invokes = roleStatements(template, fn!.role!).filter((s) =>
      s.actions.includes('lambda:InvokeFunction'),
    );

    // THEN
    expect(invokes.flatMap((s) => s.resources)).toEqual([getAtt(completion)]);
    const [configId] = Object.keys(template.findResources('AWS::Lambda::EventInvokeConfig'));
    const dependsOn = template.toJSON().Resources[configId!].DependsOn as string[];
    const policyIds = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(
        ([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: logicalId(fn!.role!) }]),
      )
      .map(([id]) => id);
    expect(policyIds).toHaveLength(1);
    expect(dependsOn).toEqual(expect.arrayContaining([logicalId(fn!.role!), policyIds[0]]));
  });

  test('the completion function reads the settle environment and has the callback function grants', () => {
    // GIVEN
    const { taskQueue, template } = asyncLambdaAgent();
    const completion = taskQueue.lambdaAgentCompletion!.completionFunction;
    const resultObjects = { 'Fn::Join': ['', [getAtt(taskQueue.results.bucket), '/results/*']] };

    // WHEN
    const variables = variablesOf(template, completion);

    // THEN
    expect(variables[EnvName.FunctionRole]).toBe('completion');
    for (const name of FUNCTION_ENV.completion) expect(variables).toHaveProperty([name]);
    const settle = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'];
    const byResource = (role: IConstruct) =>
      roleStatements(template, role)
        .filter((s) => !s.actions.some((a) => a.startsWith('logs:')))
        .map((s) => ({ actions: [...s.actions].sort(), resources: s.resources }));
    expect(byResource(completion.role!)).toEqual(
      expect.arrayContaining([
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [getAtt(taskQueue.table)] },
        {
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [getAtt(taskQueue.limitsTable)],
        },
        { actions: settle, resources: [getAtt(taskQueue.tiers.high.queue)] },
        { actions: settle, resources: [getAtt(taskQueue.tiers.low.queue)] },
        // A completion's result, and the answer to the same completion again (TaskResults).
        { actions: ['s3:PutObject'], resources: [resultObjects] },
        { actions: ['s3:GetObject'], resources: [resultObjects] },
      ]),
    );
    expect(byResource(completion.role!)).toHaveLength(6);
  });
});

describe('Async agents: validation', () => {
  test('throws when heartbeatTimeout is longer than maxRunTime', () => {
    expect(
      synthError(() => ({
        research: {
          kind: 'http',
          url: 'https://agents.example.com/research',
          mode: 'async',
          heartbeatTimeout: Duration.minutes(20),
          maxRunTime: Duration.minutes(10),
        },
      })),
    ).toMatch(
      /agent 'research' heartbeatTimeout must be at most its maxRunTime \(600 seconds\), but 1200 was provided/,
    );
  });

  test("throws when maxRunTime is longer than SQS's 12-hour in-flight limit less the consumer timeout and a minute", () => {
    // GIVEN: 43200 − 120 − 60 = 43020
    const message = synthError(() => ({
      research: {
        kind: 'http',
        url: 'https://agents.example.com/research',
        mode: 'async',
        maxRunTime: Duration.seconds(43_021),
      },
    }));

    // THEN
    expect(message).toMatch(
      /agent 'research' maxRunTime must be at most 43200 − the high tier's consumerTimeout − 60 = 43200 − 120 − 60 = 43020 seconds, but 43021 was provided/,
    );
    expect(message).toMatch(/SQS keeps a message in flight for at most 12 hours/);
  });

  test('accepts maxRunTime at the limit', () => {
    expect(() =>
      asyncStack(() => ({
        research: {
          kind: 'http',
          url: 'https://agents.example.com/research',
          mode: 'async',
          maxRunTime: Duration.seconds(43_020),
        },
      })),
    ).not.toThrow();
  });

  test('throws when heartbeatTimeout or maxRunTime is set on a sync agent', () => {
    expect(
      synthError(() => ({
        summarize: {
          ...HTTP_AGENTS.summarize!,
          heartbeatTimeout: Duration.minutes(1),
          maxRunTime: Duration.hours(1),
        },
      })),
    ).toMatch(
      /agent 'summarize' heartbeatTimeout and maxRunTime apply to mode 'async' only, but mode is 'sync'/,
    );
  });

  test('throws when an async Lambda agent of the app leaves less than 60 s of its window beyond its function timeout', () => {
    expect(
      synthError((stack) => ({
        research: {
          kind: 'lambda',
          function: agentFunction(stack, 'Research', Duration.seconds(300)),
          mode: 'async',
          heartbeatTimeout: Duration.seconds(359),
        },
      })),
    ).toMatch(
      /agent 'research': a Lambda agent completed through destinations cannot heartbeat; its heartbeatTimeout must be at least its function timeout \+ 60 s = 360 seconds, but 359 was provided/,
    );
  });

  test('a sync Lambda agent of the app still must stop by its agent timeout, an async one need not', () => {
    // GIVEN: a 120 s function behind a 60 s agent timeout
    const build = (mode: 'sync' | 'async') => (stack: Stack) =>
      ({
        research: { kind: 'lambda', function: agentFunction(stack, 'Research', Duration.seconds(120)), mode },
      }) as AgentRegistry;

    // THEN
    expect(synthError(build('sync'))).toMatch(
      /agent 'research' function timeout must be at most its agent timeout/,
    );
    expect(() => asyncStack(build('async'))).not.toThrow();
  });

  test('throws when one function serves two async types with different heartbeat windows', () => {
    expect(
      synthError((stack) => {
        const fn = agentFunction(stack, 'Research', Duration.seconds(60));
        return {
          research: { kind: 'lambda', function: fn, mode: 'async', heartbeatTimeout: Duration.minutes(5) },
          deep: { kind: 'lambda', function: fn, mode: 'async', heartbeatTimeout: Duration.minutes(10) },
        };
      }),
    ).toMatch(
      /agents 'research', 'deep' share the function .* with different heartbeatTimeouts \(300, 600 seconds\)/,
    );
  });

  test('throws when an async Lambda agent of the app already has an event invoke config', () => {
    expect(
      synthError((stack) => {
        const fn = agentFunction(stack, 'Research', Duration.seconds(60));
        fn.configureAsyncInvoke({ retryAttempts: 2 });
        return { research: { kind: 'lambda', function: fn, mode: 'async' } };
      }),
    ).toMatch(/agent 'research' function TestStack\/Research already has an event invoke config/);
  });
});
