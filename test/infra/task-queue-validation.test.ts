import { CfnParameter, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SQS_MAX_MESSAGE_BYTES } from '../../lambda/core/submission';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';
import { HTTP_AGENTS, logicalId, queueStack, testStack } from './synth';

/** The message a TaskQueue with these props throws at synth; fails the test when it does not throw. */
function synthError(props: Partial<TaskQueueProps>): string {
  try {
    queueStack(props);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected TaskQueue props ${JSON.stringify(props)} to throw`);
}

describe('TaskQueue prop validation: visibility timeout', () => {
  test('throws when the visibility timeout is below 6 × the consumer timeout', () => {
    // GIVEN
    const props = { tiers: { high: { visibilityTimeout: Duration.seconds(300) } } };

    // WHEN / THEN
    expect(() => queueStack(props)).toThrow(
      /high tier: visibilityTimeout must be at least 6 × consumerTimeout \+ maxBatchingWindow = 720 seconds, but 300 was provided/,
    );
  });

  test('throws when the batching window pushes the minimum above the visibility timeout', () => {
    // GIVEN: 6 × 120 + 20 = 740 > 730
    const props = {
      tiers: { low: { visibilityTimeout: Duration.seconds(730), maxBatchingWindow: Duration.seconds(20) } },
    };

    // WHEN / THEN
    expect(() => queueStack(props)).toThrow(/low tier: visibilityTimeout must be at least .* = 740 seconds/);
  });

  test('throws when a longer consumer timeout breaks an explicit visibility timeout', () => {
    // GIVEN: 6 × 200 = 1200 > 1000
    const props = {
      tiers: { high: { consumerTimeout: Duration.seconds(200), visibilityTimeout: Duration.seconds(1000) } },
    };

    // WHEN / THEN
    expect(() => queueStack(props)).toThrow(
      /high tier: visibilityTimeout must be at least .* = 1200 seconds/,
    );
  });

  test('accepts a visibility timeout exactly at the minimum', () => {
    // GIVEN
    const props = { tiers: { high: { visibilityTimeout: Duration.seconds(720) } } };

    // WHEN
    const { stack, taskQueue } = queueStack(props);

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.high.deadLetterQueue), 'Arn'] },
      },
    });
  });
});

describe('TaskQueue prop validation: tiers and redrive', () => {
  test.each([0, 10_001])('throws when batchSize is %d', (batchSize) => {
    expect(() =>
      queueStack({ tiers: { high: { batchSize, maxBatchingWindow: Duration.seconds(1) } } }),
    ).toThrow(new RegExp(`high tier: batchSize must be between 1 and 10000, but ${batchSize} was provided`));
  });

  test('throws when batchSize is above 10 without a batching window', () => {
    expect(() => queueStack({ tiers: { low: { batchSize: 11 } } })).toThrow(
      /low tier: batchSize above 10 needs a maxBatchingWindow/,
    );
  });

  test('throws when the batching window is over 300 seconds', () => {
    expect(() => queueStack({ tiers: { low: { maxBatchingWindow: Duration.seconds(301) } } })).toThrow(
      /low tier: maxBatchingWindow must be at most 300 seconds, but 301 was provided/,
    );
  });

  test.each([
    ['high', 1],
    ['low', 1001],
  ] as const)('throws when the %s tier maxConcurrency is %d', (priority, maxConcurrency) => {
    expect(() => queueStack({ tiers: { [priority]: { maxConcurrency } } })).toThrow(
      new RegExp(
        `${priority} tier: maxConcurrency must be between 2 and 1000, but ${maxConcurrency} was provided`,
      ),
    );
  });

  test('accepts maxConcurrency at both ends of the range', () => {
    // GIVEN
    const { stack } = queueStack({ tiers: { high: { maxConcurrency: 1000 }, low: { maxConcurrency: 2 } } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 1000 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  test('throws when maxReceiveCount is below 1', () => {
    expect(() => queueStack({ maxReceiveCount: 0 })).toThrow(
      /maxReceiveCount must be 1 or more, but 0 was provided/,
    );
  });

  test('throws when the consumer timeout is over the Lambda limit of 900 seconds', () => {
    expect(() =>
      queueStack({
        tiers: { low: { consumerTimeout: Duration.seconds(901), visibilityTimeout: Duration.hours(12) } },
      }),
    ).toThrow(/low tier: consumerTimeout must be between 1 and 900 seconds, but 901 was provided/);
  });

  test('skips the checks of a value that is not known until deploy time', () => {
    // GIVEN
    const stack = testStack();
    const maxReceiveCount = new CfnParameter(stack, 'MaxReceiveCount', { type: 'Number' }).valueAsNumber;

    // WHEN
    const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, maxReceiveCount });

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(taskQueue.tiers.low.deadLetterQueue), 'Arn'] },
        maxReceiveCount: { Ref: 'MaxReceiveCount' },
      },
    });
  });
});

describe('TaskQueue prop validation: agents and limits', () => {
  test('throws when no agent is registered', () => {
    expect(() => queueStack({ agents: {} })).toThrow(
      /agents must register at least one task type, but none was provided/,
    );
  });

  test.each(['bad type!', '-leading-dash', 'x'.repeat(65), 'a/b'])(
    'throws when a task type is %p',
    (type) => {
      expect(() =>
        queueStack({ agents: { [type]: { kind: 'http', url: 'https://agents.example.com' } } }),
      ).toThrow(/agent type '.*' must match/);
    },
  );

  test('throws when an agent timeout is not shorter than the consumer timeout', () => {
    // GIVEN
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(120) },
    } as const;

    // WHEN / THEN
    expect(() => queueStack({ agents })).toThrow(
      /agent 'slow' timeout \(120 s\) must be shorter than the high tier's consumerTimeout \(120 s\)/,
    );
  });

  test('checks agent timeouts against each tier’s own consumer timeout', () => {
    // GIVEN
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(150) },
    } as const;

    // WHEN / THEN
    expect(() => queueStack({ agents, tiers: { high: { consumerTimeout: Duration.seconds(200) } } })).toThrow(
      /agent 'slow' timeout \(150 s\) must be shorter than the low tier's consumerTimeout \(120 s\)/,
    );
    expect(() =>
      queueStack({
        agents,
        tiers: {
          high: { consumerTimeout: Duration.seconds(200) },
          low: { consumerTimeout: Duration.seconds(151) },
        },
      }),
    ).not.toThrow();
  });

  test.each([SQS_MAX_MESSAGE_BYTES, 2_000_000, 0])('throws when maxBodyBytes is %d', (maxBodyBytes) => {
    expect(() => queueStack({ maxBodyBytes })).toThrow(
      new RegExp(`maxBodyBytes must be between 1 and 1047552 .*, but ${maxBodyBytes} was provided`),
    );
  });

  test('passes a valid maxBodyBytes to the producer', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ maxBodyBytes: 1_000_000 });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    expect(
      template.toJSON().Resources[logicalId(taskQueue.api.producerFunction)].Properties.Environment.Variables
        .MAX_BODY_BYTES,
    ).toBe('1000000');
  });
});

describe('TaskQueue prop validation: one error for every problem', () => {
  test('reports the problems of the queue props and of both tiers in one message', () => {
    // WHEN
    const message = synthError({
      maxBodyBytes: 2_000_000,
      maxReceiveCount: 0,
      agents: { 'bad type!': { kind: 'http', url: 'https://agents.example.com' } },
      tiers: {
        high: { batchSize: 0, visibilityTimeout: Duration.seconds(60) },
        low: { maxConcurrency: 1 },
      },
    });

    // THEN
    expect(message).toMatch(/^Invalid TaskQueue props:/);
    expect(message.match(/Invalid TaskQueue props/g)).toHaveLength(1);
    expect(message).toMatch(/maxBodyBytes must be between/);
    expect(message).toMatch(/agent type 'bad type!' must match/);
    expect(message).toMatch(/high tier: batchSize must be between 1 and 10000, but 0 was provided/);
    expect(message).toMatch(/high tier: visibilityTimeout must be at least .* but 60 was provided/);
    expect(message).toMatch(/low tier: maxConcurrency must be between 2 and 1000, but 1 was provided/);
    expect(message.match(/maxReceiveCount must be 1 or more/g)).toHaveLength(1);
    expect(message.split('\n- ')).toHaveLength(7);
  });
});
