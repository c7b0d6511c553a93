import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { StackConfig } from '../../lib/stack-config';
import { TaskQueue } from '../../lib/task-queue';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import {
  allowedActions,
  defaultRulesViolations,
  inlineFunction,
  logicalId,
  once,
  renderJoin,
  roleStatements,
  testApp,
  testStack,
} from './synth';

/** A TaskQueueStack in an app with the given context; with `config`, the stack reads neither context nor file. */
function stackWith(
  options: { config?: StackConfig; context?: Record<string, unknown> } = {},
): TaskQueueStack {
  return new TaskQueueStack(testApp(options.context), 'AgentTaskQueue', { config: options.config });
}

/**
 * The stack with an empty config (`stackWith({ config: {} })`) and its template, built once for this file's tests
 * that only read them (see `once`). A test that changes the stack builds its own.
 */
const defaultStack = once(() => {
  const stack = stackWith({ config: {} });
  return { stack, template: Template.fromStack(stack) };
});

/** The AGENTS environment value of a consumer, parsed, with references written as `<GetAtt:…>`. */
function consumerAgents(template: Template, consumer: lambda.IFunction): Record<string, unknown> {
  const variables = template.toJSON().Resources[logicalId(consumer)].Properties.Environment.Variables;
  return JSON.parse(renderJoin(variables.AGENTS));
}

/** Every `lambda:InvokeFunction` resource that `role` is allowed. */
function invokableResources(template: Template, role: IConstruct): unknown[] {
  return roleStatements(template, role)
    .filter(
      (s) => s.effect === 'Allow' && s.actions.some((a) => a === 'lambda:InvokeFunction' || a === 'lambda:*'),
    )
    .flatMap((s) => s.resources);
}

describe('TaskQueueStack outputs', () => {
  test('outputs the API URL, the queue and DLQ URLs, the table name and the alarm topic ARN', () => {
    // GIVEN / WHEN
    const { stack, template } = defaultStack();

    // THEN
    const q = stack.taskQueue;
    template.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(q.api.httpApi) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
          ],
        ],
      },
    });
    template.hasOutput('HighQueueUrl', { Value: { Ref: logicalId(q.tiers.high.queue) } });
    template.hasOutput('LowQueueUrl', { Value: { Ref: logicalId(q.tiers.low.queue) } });
    template.hasOutput('HighDeadLetterQueueUrl', { Value: { Ref: logicalId(q.tiers.high.deadLetterQueue) } });
    template.hasOutput('LowDeadLetterQueueUrl', { Value: { Ref: logicalId(q.tiers.low.deadLetterQueue) } });
    template.hasOutput('TaskTableName', { Value: { Ref: logicalId(q.table) } });
    template.hasOutput('LimitsTableName', { Value: { Ref: logicalId(q.limitsTable) } });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: logicalId(q.alarms.topic) } });
  });
});

describe('TaskQueueStack agents', () => {
  test('the default stack registers the built-in echo Lambda agent', () => {
    // GIVEN / WHEN
    const { stack, template } = defaultStack();

    // THEN
    const echo = stack.node.findChild('EchoAgent') as lambda.IFunction;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Built-in echo agent for smoke tests',
      MemorySize: 128,
    });
    for (const tier of Object.values(stack.taskQueue.tiers)) {
      expect(consumerAgents(template, tier.consumerFunction)).toEqual({
        echo: { kind: 'lambda', functionArn: `<GetAtt:${logicalId(echo)}.Arn>`, timeoutSeconds: 10 },
      });
    }
    const producer = template.toJSON().Resources[logicalId(stack.taskQueue.api.producerFunction)];
    expect(producer.Properties.Environment.Variables.TASK_TYPES).toBe('echo');
  });

  test('consumers may invoke the echo agent and no other function', () => {
    // GIVEN / WHEN
    const { stack, template } = defaultStack();

    // THEN
    const echoArn = { 'Fn::GetAtt': [logicalId(stack.node.findChild('EchoAgent')), 'Arn'] };
    for (const tier of Object.values(stack.taskQueue.tiers)) {
      const role = tier.consumerFunction.role!;
      expect(allowedActions(template, role, echoArn)).toContain('lambda:InvokeFunction');
      expect(invokableResources(template, role)).not.toContain('*');
      for (const resource of invokableResources(template, role)) {
        expect(JSON.stringify(resource)).toContain(logicalId(stack.node.findChild('EchoAgent')));
      }
    }
  });

  test('echoAgent: false leaves the echo agent out', () => {
    // GIVEN
    const config: StackConfig = {
      echoAgent: false,
      agents: { summarize: { kind: 'http', url: 'https://agents.example.com/summarize' } },
    };

    // WHEN
    const stack = stackWith({ config });
    const template = Template.fromStack(stack);

    // THEN
    expect(stack.node.tryFindChild('EchoAgent')).toBeUndefined();
    expect(Object.keys(consumerAgents(template, stack.taskQueue.tiers.high.consumerFunction))).toEqual([
      'summarize',
    ]);
    for (const tier of Object.values(stack.taskQueue.tiers)) {
      expect(invokableResources(template, tier.consumerFunction.role!)).toEqual([]);
    }
  });

  test("HTTP agents from the 'taskQueue' context appear in the consumers' AGENTS", () => {
    // GIVEN
    const context = {
      taskQueue: JSON.stringify({
        agents: {
          summarize: { kind: 'http', url: 'https://agents.example.com/summarize', timeoutSeconds: 45 },
          translate: { kind: 'http', url: 'https://agents.example.com/translate' },
        },
      }),
    };

    // WHEN
    const stack = stackWith({ context });
    const template = Template.fromStack(stack);

    // THEN
    for (const tier of Object.values(stack.taskQueue.tiers)) {
      expect(consumerAgents(template, tier.consumerFunction)).toEqual({
        summarize: { kind: 'http', url: 'https://agents.example.com/summarize', timeoutSeconds: 45 },
        translate: { kind: 'http', url: 'https://agents.example.com/translate', timeoutSeconds: 60 },
        echo: expect.objectContaining({ kind: 'lambda', timeoutSeconds: 10 }),
      });
    }
    const producer = template.toJSON().Resources[logicalId(stack.taskQueue.api.producerFunction)];
    expect(producer.Properties.Environment.Variables.TASK_TYPES.split(',').sort()).toEqual([
      'echo',
      'summarize',
      'translate',
    ]);
  });

  test('the context value may also be a JSON object', () => {
    // GIVEN
    const context = {
      taskQueue: { echoAgent: false, agents: { ping: { kind: 'http', url: 'http://localhost:9000' } } },
    };

    // WHEN
    const stack = stackWith({ context });
    const template = Template.fromStack(stack);

    // THEN
    expect(consumerAgents(template, stack.taskQueue.tiers.low.consumerFunction)).toEqual({
      ping: { kind: 'http', url: 'http://localhost:9000', timeoutSeconds: 60 },
    });
  });

  test('a configured Lambda agent is invoked by ARN, and consumers may invoke exactly that ARN', () => {
    // GIVEN
    const functionArn = 'arn:aws:lambda:us-east-1:123456789012:function:classify';
    const config: StackConfig = { echoAgent: false, agents: { classify: { kind: 'lambda', functionArn } } };

    // WHEN
    const stack = stackWith({ config });
    const template = Template.fromStack(stack);

    // THEN
    for (const tier of Object.values(stack.taskQueue.tiers)) {
      expect(consumerAgents(template, tier.consumerFunction)).toEqual({
        classify: { kind: 'lambda', functionArn, timeoutSeconds: 60 },
      });
      const invokable = invokableResources(template, tier.consumerFunction.role!);
      expect(invokable.length).toBeGreaterThan(0);
      for (const resource of invokable)
        expect(resource).toMatch(/^arn:aws:lambda:us-east-1:123456789012:function:classify(:\*)?$/);
    }
  });

  test('the documented example config file loads through the configFile context', () => {
    // GIVEN
    const context = { configFile: path.join(__dirname, '..', '..', 'config', 'agents.example.json') };

    // WHEN
    const stack = stackWith({ context });
    const template = Template.fromStack(stack);

    // THEN
    expect(Object.keys(consumerAgents(template, stack.taskQueue.tiers.high.consumerFunction)).sort()).toEqual(
      ['classify', 'echo', 'summarize'],
    );
    const producer = template.toJSON().Resources[logicalId(stack.taskQueue.api.producerFunction)];
    expect(JSON.parse(producer.Properties.Environment.Variables.TOPICS)).toEqual({
      'document.uploaded': ['summarize', 'classify'],
    });
  });

  test('stack settings from the config reach the construct', () => {
    // GIVEN
    const config: StackConfig = {
      maxReceiveCount: 3,
      consumerTimeoutSeconds: 100,
      maxConcurrency: { high: 80, low: 4 },
      backoffBaseSeconds: 1,
      backoffCapSeconds: 30,
      auth: { kind: 'jwt', issuer: 'https://issuer.example.com/', audience: ['tasks'] },
      systemLogLevel: 'INFO',
    };

    // WHEN
    const stack = stackWith({ config });
    const template = Template.fromStack(stack);

    // THEN: the visibility timeout is 6 × the consumer timeout + the tier's batching window (low's default 1 s)
    const { high, low } = stack.taskQueue.tiers;
    for (const [tier, concurrency, visibility] of [
      [high, 80, 600],
      [low, 4, 601],
    ] as const) {
      const queue = template.toJSON().Resources[logicalId(tier.queue)].Properties;
      expect(queue.RedrivePolicy.maxReceiveCount).toBe(3);
      expect(queue.VisibilityTimeout).toBe(visibility);
      const consumer = template.toJSON().Resources[logicalId(tier.consumerFunction)].Properties;
      expect(consumer.Timeout).toBe(100);
      expect(consumer.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'INFO' });
      expect(consumer.Environment.Variables).toMatchObject({
        BACKOFF_BASE_SECONDS: '1',
        BACKOFF_CAP_SECONDS: '30',
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(tier.queue), 'Arn'] },
        ScalingConfig: { MaximumConcurrency: concurrency },
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['tasks'] },
    });
  });
});

describe('TaskQueueStack topics', () => {
  test("topics from the config file reach the producer's TOPICS, beside the agents they name", () => {
    // GIVEN
    const dir = mkdtempSync(path.join(tmpdir(), 'taskq-config-'));
    const file = path.join(dir, 'agents.json');
    writeFileSync(
      file,
      JSON.stringify({
        agents: { summarize: { kind: 'http', url: 'https://agents.example.com/summarize' } },
        topics: { 'document.uploaded': { subscribers: ['summarize', 'echo'] } },
      }),
    );

    try {
      // WHEN
      const stack = stackWith({ context: { configFile: file } });
      const template = Template.fromStack(stack);

      // THEN
      const producer = template.toJSON().Resources[logicalId(stack.taskQueue.api.producerFunction)];
      expect(JSON.parse(producer.Properties.Environment.Variables.TOPICS)).toEqual({
        'document.uploaded': ['summarize', 'echo'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a stack without topics gives the producer an empty TOPICS', () => {
    const { stack, template } = defaultStack();
    const producer = template.toJSON().Resources[logicalId(stack.taskQueue.api.producerFunction)];
    expect(JSON.parse(producer.Properties.Environment.Variables.TOPICS)).toEqual({});
  });

  test.each([
    ['not an object', { topics: ['a'] }, /context 'taskQueue': topics must be an object/],
    [
      'a topic that is not an object',
      { topics: { t: ['echo'] } },
      /context 'taskQueue': topic 't' must be an object/,
    ],
    [
      'a topic without subscribers',
      { topics: { t: { subscribers: [] } } },
      /context 'taskQueue': topic 't' needs at least one subscriber/,
    ],
    [
      'a subscriber that is not an agent type',
      { topics: { t: { subscribers: ['echo', 'index'] } } },
      /context 'taskQueue': topic 't': subscriber 'index' is not a registered agent type/,
    ],
    [
      'the echo subscriber with the echo agent off',
      {
        echoAgent: false,
        agents: { a: { kind: 'http', url: 'https://a' } },
        topics: { t: { subscribers: ['echo'] } },
      },
      /subscriber 'echo' is not a registered agent type/,
    ],
    [
      'a topic named like an agent type',
      { topics: { echo: { subscribers: ['echo'] } } },
      /context 'taskQueue': topic 'echo' clashes with the agent type of the same name/,
    ],
    [
      'a topic name outside the task type pattern',
      { topics: { 'no spaces': { subscribers: ['echo'] } } },
      /topic 'no spaces' must match/,
    ],
  ])('throws one clear error naming the source when topics are %s', (_, taskQueue, message) => {
    expect(() => stackWith({ context: { taskQueue: JSON.stringify(taskQueue) } })).toThrow(message);
  });

  test('names the config file when its topics are malformed', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'taskq-config-'));
    const file = path.join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({ topics: { t: { subscribers: ['echo', 'echo'] } } }));
    try {
      expect(() => stackWith({ context: { configFile: file } })).toThrow(
        `${file}: topic 't': subscriber 'echo' is listed twice`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskQueue construct agents', () => {
  test("consumers' AGENTS lists only the registered agents, and they may invoke only the registered Lambda", () => {
    // GIVEN
    const stack = testStack();
    const registered = inlineFunction(stack, 'Registered');
    const unregistered = inlineFunction(stack, 'Unregistered');

    // WHEN
    const taskQueue = new TaskQueue(stack, 'TaskQueue', {
      agents: {
        classify: { kind: 'lambda', function: registered, timeout: Duration.seconds(30) },
        summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
      },
    });
    const template = Template.fromStack(stack);

    // THEN
    const registeredArn = { 'Fn::GetAtt': [logicalId(registered), 'Arn'] };
    for (const tier of Object.values(taskQueue.tiers)) {
      expect(consumerAgents(template, tier.consumerFunction)).toEqual({
        classify: {
          kind: 'lambda',
          functionArn: `<GetAtt:${logicalId(registered)}.Arn>`,
          timeoutSeconds: 30,
        },
        summarize: { kind: 'http', url: 'https://agents.example.com/summarize', timeoutSeconds: 60 },
      });
      const role = tier.consumerFunction.role!;
      expect(allowedActions(template, role, registeredArn)).toContain('lambda:InvokeFunction');
      const invokable = JSON.stringify(invokableResources(template, role));
      expect(invokable).not.toContain(logicalId(unregistered));
      expect(invokableResources(template, role)).not.toContain('*');
    }
    for (const fn of [taskQueue.api.producerFunction, taskQueue.api.statusFunction]) {
      expect(invokableResources(template, fn.role!)).toEqual([]);
    }
  });
});

describe('TaskQueueStack configuration errors', () => {
  test.each([
    ['not JSON', '{agents:', /context 'taskQueue' is not valid JSON/],
    ['not an object', '[1, 2]', /context 'taskQueue' must be a JSON object/],
    [
      'an agent of unknown kind',
      JSON.stringify({ agents: { x: { kind: 'grpc', url: 'https://x' } } }),
      /context 'taskQueue': agent 'x' must be \{ "kind": "http", "url": … \} or \{ "kind": "lambda", "functionArn": … \}/,
    ],
    [
      'an HTTP agent without a url',
      JSON.stringify({ agents: { x: { kind: 'http' } } }),
      /agent 'x' must be \{ "kind": "http", "url": … \}/,
    ],
    [
      'a Lambda agent without a functionArn',
      JSON.stringify({ agents: { x: { kind: 'lambda', url: 'https://x' } } }),
      /agent 'x' must be/,
    ],
    [
      'a negative agent timeout',
      JSON.stringify({ agents: { x: { kind: 'http', url: 'https://x', timeoutSeconds: -1 } } }),
      /agent 'x' timeoutSeconds must be a positive integer/,
    ],
  ])('throws a clear error when the context config is %s', (_, taskQueue, message) => {
    expect(() => stackWith({ context: { taskQueue } })).toThrow(message);
  });

  test('a config file with provisionedPollers puts the high tier in provisioned mode', () => {
    // GIVEN
    const dir = mkdtempSync(path.join(tmpdir(), 'taskq-config-'));
    const file = path.join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({ provisionedPollers: { high: { minimum: 3, maximum: 60 } } }));

    try {
      // WHEN
      const stack = stackWith({ context: { configFile: file } });
      const template = Template.fromStack(stack);

      // THEN
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.taskQueue.tiers.high.queue), 'Arn'] },
        ProvisionedPollerConfig: { MinimumPollers: 3, MaximumPollers: 60 },
        ScalingConfig: Match.absent(),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ['a tier that does not exist', { urgent: { minimum: 2 } }],
    ['a minimum that is not a number', { high: { minimum: '2' } }],
    ['an unknown field', { high: { minimum: 2, min: 2 } }],
  ])('names the config file and the shape when provisionedPollers has %s', (_, provisionedPollers) => {
    // GIVEN
    const dir = mkdtempSync(path.join(tmpdir(), 'taskq-config-'));
    const file = path.join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({ provisionedPollers }));

    try {
      // WHEN / THEN
      expect(() => stackWith({ context: { configFile: file } })).toThrow(
        new RegExp(
          `${file}: provisionedPollers must be \\{ "high"\\?: \\{ "minimum": n, "maximum"\\?: n \\}`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('config maxConcurrency and provisionedPollers on the same tier are refused by the construct', () => {
    // GIVEN
    const config: StackConfig = {
      maxConcurrency: { high: 80 },
      provisionedPollers: { high: { minimum: 2 } },
    };

    // WHEN / THEN
    expect(() => stackWith({ config })).toThrow(
      /high tier: provisionedPollers and maxConcurrency are mutually exclusive/,
    );
  });

  test('throws when the configured config file does not exist', () => {
    expect(() => stackWith({ context: { configFile: '/nonexistent/agents.json' } })).toThrow(
      /config file \/nonexistent\/agents.json does not exist/,
    );
  });

  test('names the config file when it is not valid JSON', () => {
    // GIVEN
    const dir = mkdtempSync(path.join(tmpdir(), 'taskq-config-'));
    const file = path.join(dir, 'agents.json');
    writeFileSync(file, '{ "agents": ');

    try {
      // WHEN / THEN
      expect(() => stackWith({ context: { configFile: file } })).toThrow(
        new RegExp(`${file} is not valid JSON`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('throws the construct error when a configured agent outlasts the consumer timeout', () => {
    // GIVEN
    const config: StackConfig = {
      consumerTimeoutSeconds: 60,
      agents: { slow: { kind: 'http', url: 'https://agents.example.com/slow', timeoutSeconds: 90 } },
    };

    // WHEN / THEN
    expect(() => stackWith({ config })).toThrow(
      /agent 'slow' timeout must be at most .*, but 90 was provided/,
    );
  });

  test.each([
    ['without an issuer', { kind: 'jwt', audience: ['tasks'] }],
    ['without an audience', { kind: 'jwt', issuer: 'https://issuer.example.com/' }],
    ['of an unknown kind', { kind: 'apikey' }],
  ])('throws a clear error when the auth config is %s', (_, auth) => {
    expect(() => stackWith({ context: { taskQueue: JSON.stringify({ auth }) } })).toThrow(
      /context 'taskQueue': auth must be/,
    );
  });
});

describe('TaskQueueStack template validation', () => {
  test("the whole stack passes CDK's built-in CloudFormation validation, with its errors made fatal", () => {
    // GIVEN
    const build = (app: App) => {
      new TaskQueueStack(app, 'AgentTaskQueue', {
        config: {
          agents: {
            summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
            classify: {
              kind: 'lambda',
              functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:classify',
            },
          },
          auth: { kind: 'jwt', issuer: 'https://issuer.example.com/', audience: ['tasks'] },
        },
      });
    };

    // WHEN
    const violations = defaultRulesViolations(build);

    // THEN
    expect(violations).toEqual([]);
  });
});

describe('TaskQueueStack functions', () => {
  test('every function runs on nodejs24.x, Lambda’s newest Node runtime', () => {
    // GIVEN / WHEN
    const { template } = defaultStack();

    // THEN
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
    }
  });
});
