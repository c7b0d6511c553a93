import { CfnParameter, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LARGEST_MAX_BODY_BYTES } from '../../lambda/core/payload-storage';
import { SQS_MAX_MESSAGE_BYTES } from '../../lambda/core/queue-message';
import { LARGEST_MAX_RESULT_BYTES } from '../../lambda/core/record-size';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';
import { HTTP_AGENTS, inlineFunction, logicalId, queueStack, testStack } from './synth';

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
    expect(() => queueStack({ tiers: { high: { batchSize: 11 } } })).toThrow(
      /high tier: batchSize above 10 needs a maxBatchingWindow/,
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

  test('throws when an agent timeout leaves the consumer less than max(5 s, 10 %) of its timeout', () => {
    // GIVEN: 120 − max(5, 12) = 108
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(109) },
    } as const;

    // WHEN / THEN
    expect(() => queueStack({ agents })).toThrow(
      /agent 'slow' timeout must be at most the high tier's consumerTimeout − max\(5 s, 10 % of consumerTimeout\) = 120 − 12 = 108 seconds \(room for the claim, throttled writes, a cold secret read and the completion write\), but 109 was provided/,
    );
  });

  test('accepts an agent timeout exactly at the margin', () => {
    // GIVEN
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(108) },
    } as const;

    // WHEN / THEN
    expect(() => queueStack({ agents })).not.toThrow();
  });

  test('keeps a margin of at least 5 seconds under a short consumer timeout', () => {
    // GIVEN: 30 − max(5, 3) = 25
    const agents = {
      quick: { kind: 'http', url: 'https://agents.example.com/quick', timeout: Duration.seconds(26) },
    } as const;
    const tiers = {
      high: { consumerTimeout: Duration.seconds(30) },
      low: { consumerTimeout: Duration.seconds(30) },
    };

    // WHEN / THEN
    expect(() => queueStack({ agents, tiers })).toThrow(/= 30 − 5 = 25 seconds .*, but 26 was provided/);
    expect(() =>
      queueStack({ agents: { quick: { ...agents.quick, timeout: Duration.seconds(25) } }, tiers }),
    ).not.toThrow();
  });

  test('checks agent timeouts against each tier’s own consumer timeout', () => {
    // GIVEN
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(150) },
    } as const;

    // WHEN / THEN
    expect(() => queueStack({ agents, tiers: { high: { consumerTimeout: Duration.seconds(200) } } })).toThrow(
      /agent 'slow' timeout must be at most the low tier's consumerTimeout .* = 108 seconds .*, but 150 was provided/,
    );
    expect(() =>
      queueStack({
        agents,
        tiers: {
          high: { consumerTimeout: Duration.seconds(200) },
          low: { consumerTimeout: Duration.seconds(167) },
        },
      }),
    ).not.toThrow();
  });

  test('throws when a Lambda agent’s function timeout is longer than its agent timeout', () => {
    // GIVEN
    const stack = testStack();
    const slowFn = new lambda.Function(stack, 'SlowClassify', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
      timeout: Duration.seconds(90),
    });

    // WHEN / THEN
    expect(
      () =>
        new TaskQueue(stack, 'TaskQueue', {
          agents: { classify: { kind: 'lambda', function: slowFn, timeout: Duration.seconds(60) } },
        }),
    ).toThrow(
      /agent 'classify' function timeout must be at most its agent timeout \(60 seconds\), but 90 was provided: the consumer stops waiting at the agent timeout, and a function still running would overlap the next attempt/,
    );
  });

  test('accepts a Lambda agent whose function timeout equals its agent timeout', () => {
    // GIVEN
    const stack = testStack();
    const fn = new lambda.Function(stack, 'Classify', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
      timeout: Duration.seconds(60),
    });

    // WHEN / THEN
    expect(
      () =>
        new TaskQueue(stack, 'TaskQueue', {
          agents: { classify: { kind: 'lambda', function: fn, timeout: Duration.seconds(60) } },
        }),
    ).not.toThrow();
  });

  test('counts a function without a timeout as Lambda’s default of 3 seconds', () => {
    // GIVEN
    const stack = testStack();
    const fn = inlineFunction(stack, 'Classify');

    // WHEN / THEN
    expect(
      () =>
        new TaskQueue(stack, 'TaskQueue', {
          agents: { classify: { kind: 'lambda', function: fn, timeout: Duration.seconds(2) } },
        }),
    ).toThrow(
      /agent 'classify' function timeout must be at most its agent timeout \(2 seconds\), but 3 was provided/,
    );
  });

  test('skips the function timeout check for a function imported by ARN, whose timeout the app cannot know', () => {
    // GIVEN
    const stack = testStack();
    const fn = lambda.Function.fromFunctionArn(
      stack,
      'Imported',
      'arn:aws:lambda:us-east-1:123456789012:function:classify',
    );

    // WHEN / THEN
    expect(
      () =>
        new TaskQueue(stack, 'TaskQueue', {
          agents: { classify: { kind: 'lambda', function: fn, timeout: Duration.seconds(1) } },
        }),
    ).not.toThrow();
  });

  test.each([4_000_000, 6_291_456, 0])('throws when maxBodyBytes is %d', (maxBodyBytes) => {
    expect(() => queueStack({ maxBodyBytes })).toThrow(
      new RegExp(
        `maxBodyBytes must be between 1 and ${LARGEST_MAX_BODY_BYTES} .*, but ${maxBodyBytes} was provided`,
      ),
    );
  });

  test('accepts maxBodyBytes up to the largest that reaches the producer within a Lambda request, and no more', () => {
    expect(() => queueStack({ maxBodyBytes: SQS_MAX_MESSAGE_BYTES })).not.toThrow();
    expect(() => queueStack({ maxBodyBytes: LARGEST_MAX_BODY_BYTES })).not.toThrow();
    expect(() => queueStack({ maxBodyBytes: LARGEST_MAX_BODY_BYTES + 1 })).toThrow(
      /maxBodyBytes must be between/,
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
      maxBodyBytes: 4_000_000,
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

describe('TaskQueue prop validation: a result fits the answer of GET /tasks/{id}', () => {
  test("throws when maxResultBytes cannot be answered within Lambda's 6 MB response", () => {
    // GIVEN: a result as large as the whole response
    const props = { maxResultBytes: 6_291_456 };

    // WHEN / THEN
    expect(() => queueStack(props)).toThrow(
      /maxResultBytes must be between 1 and \d+ \(Lambda's 6291456-byte response limit, in which GET \/tasks\/\{id\} answers the result, escaped up to twice its size\), but 6291456 was provided/,
    );
  });

  test('accepts results past the 400 KB item (the results bucket holds them), up to the largest the response allows', () => {
    // GIVEN
    const largest = Number(
      synthError({ maxResultBytes: 6_291_456 }).match(/maxResultBytes must be between 1 and (\d+)/)![1],
    );

    // WHEN / THEN
    expect(largest).toBe(LARGEST_MAX_RESULT_BYTES);
    expect(largest).toBeGreaterThan(409_600 * 7);
    expect(() => queueStack({ maxResultBytes: largest })).not.toThrow();
    expect(() => queueStack({ maxResultBytes: largest + 1 })).toThrow(/maxResultBytes must be between 1 and/);
  });
});

describe('TaskQueue prop validation: a task record outlives its messages', () => {
  test('throws when taskRetention ends before a redriven message can still arrive', () => {
    // GIVEN: 4 days of queue retention + 900 s of delay + 14 days in the DLQ = 1556100 s > 7 days
    const props = { taskRetention: Duration.days(7) };

    // WHEN / THEN
    expect(() => queueStack(props)).toThrow(
      /taskRetention must be at least the queue retention \(345600 s\) \+ the longest delay \(900 s\) \+ deadLetterRetention \(1209600 s\) = 1556100 s, but 604800 was provided/,
    );
  });

  test('counts a longer deadLetterRetention against taskRetention', () => {
    // GIVEN: 4 days + 900 s + 5 days fits in 10 days; 4 days + 900 s + 6 days does not
    const fits = { taskRetention: Duration.days(10), deadLetterRetention: Duration.days(5) };
    const tooShort = { taskRetention: Duration.days(10), deadLetterRetention: Duration.days(6) };

    // WHEN / THEN
    expect(() => queueStack(fits)).not.toThrow();
    expect(() => queueStack(tooShort)).toThrow(/deadLetterRetention \(518400 s\) = 864900 s, but 864000/);
  });

  test('the defaults satisfy the rule', () => {
    // GIVEN / WHEN
    const { stack, taskQueue } = queueStack();

    // THEN: 30 days of task retention
    expect(
      Template.fromStack(stack).toJSON().Resources[logicalId(taskQueue.sweeper.sweeperFunction)].Properties
        .Environment.Variables.TASK_RETENTION_SECONDS,
    ).toBe('2592000');
  });

  test('skips the rule when a retention is not known until deploy time', () => {
    // GIVEN
    const stack = testStack();
    const seconds = new CfnParameter(stack, 'RetentionSeconds', { type: 'Number' }).valueAsNumber;

    // WHEN / THEN
    expect(
      () =>
        new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, taskRetention: Duration.seconds(seconds) }),
    ).not.toThrow();
  });
});

describe('TaskQueue prop validation: topics', () => {
  const agents = {
    summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
    index: { kind: 'http', url: 'https://agents.example.com/index' },
  } as const;

  test('accepts a topic whose subscribers are registered agent types', () => {
    // GIVEN
    const props = { agents, topics: { 'document.uploaded': { subscribers: ['summarize', 'index'] } } };

    // WHEN / THEN
    expect(() => queueStack(props)).not.toThrow();
  });

  test('throws when a topic name does not follow the task type pattern', () => {
    // GIVEN / WHEN
    const message = synthError({ agents, topics: { 'document uploaded!': { subscribers: ['index'] } } });

    // THEN
    expect(message).toMatch(/topic 'document uploaded!' must match .* \(the task type pattern\)/);
  });

  test('throws when a topic is named like an agent type', () => {
    // GIVEN / WHEN
    const message = synthError({ agents, topics: { index: { subscribers: ['summarize'] } } });

    // THEN
    expect(message).toContain("topic 'index' clashes with the agent type of the same name");
  });

  test('throws when a subscriber is not a registered agent type', () => {
    // GIVEN / WHEN
    const message = synthError({
      agents,
      topics: { 'document.uploaded': { subscribers: ['summarize', 'ocr'] } },
    });

    // THEN
    expect(message).toContain("topic 'document.uploaded': subscriber 'ocr' is not a registered agent type");
  });

  test('throws when a topic has no subscribers', () => {
    // GIVEN / WHEN
    const message = synthError({ agents, topics: { 'document.uploaded': { subscribers: [] } } });

    // THEN
    expect(message).toContain("topic 'document.uploaded' needs at least one subscriber");
  });

  test('reports every topic problem in one error, with the other props errors', () => {
    // GIVEN / WHEN
    const message = synthError({
      agents,
      topics: { index: { subscribers: ['ocr'] }, 'a b': { subscribers: ['index', 'index'] } },
    });

    // THEN
    expect(message).toContain("topic 'index' clashes");
    expect(message).toContain("subscriber 'ocr' is not a registered agent type");
    expect(message).toContain("topic 'a b' must match");
    expect(message).toContain("subscriber 'index' is listed twice");
  });
});

describe('TaskQueue prop validation: provisioned pollers', () => {
  test('refuses provisionedPollers beside maxConcurrency on the same tier, naming both', () => {
    // GIVEN
    const props = { tiers: { high: { maxConcurrency: 100, provisionedPollers: { minimum: 2 } } } };

    // WHEN / THEN
    expect(synthError(props)).toMatch(
      /high tier: provisionedPollers and maxConcurrency are mutually exclusive \(an SQS rule\): in provisioned mode provisionedPollers\.maximum bounds the tier, so leave maxConcurrency out/,
    );
  });

  test('accepts maxConcurrency on one tier and provisionedPollers on the other', () => {
    // GIVEN
    const props = { tiers: { high: { provisionedPollers: { minimum: 2 } }, low: { maxConcurrency: 20 } } };

    // WHEN / THEN
    expect(() => queueStack(props)).not.toThrow();
  });

  test.each([
    [
      { minimum: 1 },
      /high tier: provisionedPollers\.minimum must be an integer between 2 and 200, but 1 was provided/,
    ],
    [
      { minimum: 201 },
      /high tier: provisionedPollers\.minimum must be an integer between 2 and 200, but 201 was provided/,
    ],
    [
      { minimum: 2, maximum: 2001 },
      /high tier: provisionedPollers\.maximum must be an integer between 2 and 2000, but 2001 was provided/,
    ],
    [
      { minimum: 10, maximum: 5 },
      /high tier: provisionedPollers\.minimum \(10\) must be at most provisionedPollers\.maximum \(5\)/,
    ],
  ])('refuses pollers outside SQS bounds: %j', (provisionedPollers, message) => {
    // GIVEN / WHEN / THEN
    expect(synthError({ tiers: { high: { provisionedPollers } } })).toMatch(message);
  });
});
