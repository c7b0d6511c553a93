import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PRIORITIES } from '../../lambda/core/task';
import type { AgentRegistry } from '../../lib/agents';
import { TaskQueue } from '../../lib/task-queue';
import { allowedActions, defaultQueue, inlineFunction, logicalId, queueStack, testStack } from './synth';

/** The event source mappings on SQS queues: the tiers' consumers (the task table's stream has its own). */
const sqsMappings = (template: Template) =>
  Object.fromEntries(
    Object.entries(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      ([, m]) => m.Properties.StartingPosition === undefined,
    ),
  );

describe('TaskQueue tiers: queues and dead-letter queues', () => {
  test('creates a standard queue and a dead-letter queue for each of the high and low tiers', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN: and the unpublished-events queue (TaskEvents)
    template.resourceCountIs('AWS::SQS::Queue', 5);
    for (const priority of PRIORITIES) {
      const tier = taskQueue.tiers[priority];
      const queue = template.toJSON().Resources[logicalId(tier.queue)];
      const deadLetterQueue = template.toJSON().Resources[logicalId(tier.deadLetterQueue)];
      expect(queue.Type).toBe('AWS::SQS::Queue');
      expect(deadLetterQueue.Type).toBe('AWS::SQS::Queue');
      expect(queue.Properties.FifoQueue).toBeUndefined();
      expect(deadLetterQueue.Properties.FifoQueue).toBeUndefined();
    }
  });

  test.each(PRIORITIES)('the %s queue redrives to its own DLQ after 5 receives by default', (priority) => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const tier = taskQueue.tiers[priority];
    expect(template.toJSON().Resources[logicalId(tier.queue)].Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(tier.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  test('maxReceiveCount is configurable and applies to both tiers', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ maxReceiveCount: 3 });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const tier of Object.values(taskQueue.tiers)) {
      expect(template.toJSON().Resources[logicalId(tier.queue)].Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(tier.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 3,
      });
    }
  });

  test('dead-letter queues keep messages for 14 days by default, and the retention is a prop', () => {
    // GIVEN
    const byDefault = defaultQueue();
    const configured = queueStack({ deadLetterRetention: Duration.days(7) });

    // WHEN
    const defaultTemplate = byDefault.template;
    const configuredTemplate = Template.fromStack(configured.stack);

    // THEN
    for (const priority of PRIORITIES) {
      const dlq = logicalId(byDefault.taskQueue.tiers[priority].deadLetterQueue);
      expect(defaultTemplate.toJSON().Resources[dlq].Properties.MessageRetentionPeriod).toBe(14 * 86_400);
      const configuredDlq = logicalId(configured.taskQueue.tiers[priority].deadLetterQueue);
      expect(configuredTemplate.toJSON().Resources[configuredDlq].Properties.MessageRetentionPeriod).toBe(
        7 * 86_400,
      );
    }
  });

  test('every queue has server-side encryption with SQS-managed keys', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN
    const queues = template.findResources('AWS::SQS::Queue');
    // both tiers' queues and DLQs, and the unpublished-events queue
    expect(Object.keys(queues)).toHaveLength(5);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  test('every queue has a policy that denies requests not sent over TLS', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    template.resourceCountIs('AWS::SQS::QueuePolicy', 5);
    for (const tier of Object.values(taskQueue.tiers)) {
      for (const queue of [tier.queue, tier.deadLetterQueue, taskQueue.taskEvents.unpublishedEvents]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: logicalId(queue) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sqs:*',
                Principal: { AWS: '*' },
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                Resource: { 'Fn::GetAtt': [logicalId(queue), 'Arn'] },
              }),
            ]),
          },
        });
      }
    }
  });
});

describe('TaskQueue tiers: visibility timeout', () => {
  test("defaults to 6 × the consumer timeout (120 s by default) plus the tier's default batching window", () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const visibility = (tier: keyof typeof taskQueue.tiers) =>
      template.toJSON().Resources[logicalId(taskQueue.tiers[tier].queue)].Properties.VisibilityTimeout;
    expect(visibility('high')).toBe(720);
    expect(visibility('low')).toBe(721);
  });

  test('defaults to 6 × the consumer timeout plus the batching window, per tier', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      tiers: {
        high: { consumerTimeout: Duration.seconds(90), maxBatchingWindow: Duration.seconds(10) },
        low: { consumerTimeout: Duration.seconds(300), maxBatchingWindow: Duration.seconds(30) },
      },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    const resources = template.toJSON().Resources;
    expect(resources[logicalId(taskQueue.tiers.high.queue)].Properties.VisibilityTimeout).toBe(6 * 90 + 10);
    expect(resources[logicalId(taskQueue.tiers.low.queue)].Properties.VisibilityTimeout).toBe(6 * 300 + 30);
  });

  test('accepts an explicit visibility timeout above the minimum', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ tiers: { low: { visibilityTimeout: Duration.minutes(30) } } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    expect(
      template.toJSON().Resources[logicalId(taskQueue.tiers.low.queue)].Properties.VisibilityTimeout,
    ).toBe(1800);
  });
});

describe('TaskQueue tiers: consumers', () => {
  test('creates one SQS event source mapping per tier, each on its own queue and consumer', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    expect(Object.keys(sqsMappings(template))).toHaveLength(2);
    for (const tier of Object.values(taskQueue.tiers)) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(tier.queue), 'Arn'] },
        FunctionName: { Ref: logicalId(tier.consumerFunction) },
      });
    }
  });

  test('event sources report batch item failures and take batches of 10 by default', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN
    const mappings = sqsMappings(template);
    expect(Object.keys(mappings)).toHaveLength(2);
    for (const mapping of Object.values(mappings)) {
      expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.Properties.BatchSize).toBe(10);
    }
  });

  test('the low tier gathers a batch for up to 1 s by default; high invokes at once', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] },
      MaximumBatchingWindowInSeconds: 1,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.queue), 'Arn'] },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
    expect(taskQueue.tiers.low.settings.maxBatchingWindow.toSeconds()).toBe(1);
    expect(taskQueue.tiers.high.settings.maxBatchingWindow.toSeconds()).toBe(0);
  });

  test('a zero batching window on the low tier turns the default off', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ tiers: { low: { maxBatchingWindow: Duration.seconds(0) } } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  test('maximum concurrency is 50 for high and 10 for low by default', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.queue), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  test('batch size, batching window and maximum concurrency are per-tier props', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      tiers: {
        high: { maxConcurrency: 200, batchSize: 1 },
        low: { maxConcurrency: 5, batchSize: 50, maxBatchingWindow: Duration.seconds(20) },
      },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.queue), 'Arn'] },
      BatchSize: 1,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: { MaximumConcurrency: 200 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] },
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 20,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('provisioned mode: the high tier keeps its minimum pollers, scales to its maximum, and sets no maximum concurrency', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      tiers: { high: { provisionedPollers: { minimum: 2, maximum: 40 } } },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.queue), 'Arn'] },
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 40 },
      ScalingConfig: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] },
      ProvisionedPollerConfig: Match.absent(),
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  test('provisioned mode without a maximum leaves the event source mapping its own default', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ tiers: { high: { provisionedPollers: { minimum: 5 } } } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.queue), 'Arn'] },
      ProvisionedPollerConfig: { MinimumPollers: 5, MaximumPollers: Match.absent() },
    });
  });

  test('each consumer has the tier timeout and knows its own queue, DLQ and receive limit', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      maxReceiveCount: 4,
      tiers: { high: { consumerTimeout: Duration.seconds(90) } },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const [priority, timeout] of [
      ['high', 90],
      ['low', 120],
    ] as const) {
      const tier = taskQueue.tiers[priority];
      template.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: timeout,
        Environment: {
          Variables: Match.objectLike({
            QUEUE_URL: { Ref: logicalId(tier.queue) },
            DEAD_LETTER_QUEUE_URL: { Ref: logicalId(tier.deadLetterQueue) },
            MAX_RECEIVE_COUNT: '4',
            TASK_TABLE_NAME: { Ref: logicalId(taskQueue.table) },
          }),
        },
      });
    }
  });

  test('each consumer may receive, delete and change visibility on its queue and send to its own DLQ', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    for (const tier of Object.values(taskQueue.tiers)) {
      const role = tier.consumerFunction.role!;
      expect(allowedActions(template, role, { 'Fn::GetAtt': [logicalId(tier.queue), 'Arn'] })).toEqual(
        expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']),
      );
      expect(
        allowedActions(template, role, { 'Fn::GetAtt': [logicalId(tier.deadLetterQueue), 'Arn'] }),
      ).toContain('sqs:SendMessage');
    }
    const high = taskQueue.tiers.high.consumerFunction.role!;
    expect(
      allowedActions(template, high, { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.queue), 'Arn'] }),
    ).toEqual([]);
  });
});

describe('TaskQueue tiers: what the consumer is bundled without', () => {
  const secret = (stack: Stack) =>
    secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      'Token',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-token-AbCdEf',
    );

  test.each<[string, (stack: Stack) => AgentRegistry, string[]]>([
    [
      'HTTP agents only',
      () => ({ echo: { kind: 'http', url: 'https://agents.example.com/echo' } }),
      ['agent-secrets', 'lambda-agents'],
    ],
    [
      'an HTTP agent with an auth secret',
      (stack) => ({
        echo: { kind: 'http', url: 'https://agents.example.com/echo', authSecret: secret(stack) },
      }),
      ['lambda-agents'],
    ],
    [
      'a Lambda agent',
      (stack) => ({ echo: { kind: 'lambda', function: inlineFunction(stack, 'Agent') } }),
      ['agent-secrets'],
    ],
    [
      'both kinds, with a secret',
      (stack) => ({
        echo: { kind: 'lambda', function: inlineFunction(stack, 'Agent') },
        summarize: { kind: 'http', url: 'https://agents.example.com/s', authSecret: secret(stack) },
      }),
      [],
    ],
  ])('with %s, each consumer omits the clients no agent needs', (_name, agents, omitted) => {
    // GIVEN
    const stack = testStack();

    // WHEN
    const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: agents(stack) });

    // THEN
    for (const priority of PRIORITIES) {
      expect(taskQueue.tiers[priority].consumerFunction.omittedParts).toEqual(omitted);
    }
  });
});
