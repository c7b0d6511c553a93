import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TaskResults } from '../../lib/task-results';
import { TaskTier, type TaskTierProps } from '../../lib/task-tier';
import { CALLBACK_BASE_URL, HTTP_AGENTS, testStack } from './synth';

/** The message a standalone TaskTier with these props throws at synth; fails the test when it does not throw. */
function tierError(
  props: Partial<TaskTierProps>,
  build?: (stack: ReturnType<typeof testStack>) => Partial<TaskTierProps>,
): string {
  const stack = testStack();
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'task_id', type: dynamodb.AttributeType.STRING },
  });
  const limitsTable = new dynamodb.Table(stack, 'Limits', {
    partitionKey: { name: 'counter', type: dynamodb.AttributeType.STRING },
  });
  try {
    new TaskTier(stack, 'Urgent', {
      priority: 'high',
      table,
      limitsTable,
      results: new TaskResults(stack, 'Results'),
      agents: HTTP_AGENTS,
      callbackBaseUrl: CALLBACK_BASE_URL,
      ...props,
      ...build?.(stack),
    });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected TaskTier props ${JSON.stringify(props)} to throw`);
}

describe('TaskTier on its own checks the rules that span its props', () => {
  test('agent-timeout margin: refuses an agent timeout that leaves the consumer less than max(5 s, 10 %)', () => {
    // GIVEN: 120 − max(5, 12) = 108
    const agents = {
      slow: { kind: 'http', url: 'https://agents.example.com/slow', timeout: Duration.seconds(109) },
    } as const;

    // WHEN / THEN
    expect(tierError({ agents })).toMatch(
      /^Invalid TaskTier props \(TestStack\/Urgent\):\n- agent 'slow' timeout must be at most the high tier's consumerTimeout − max\(5 s, 10 % of consumerTimeout\) = 120 − 12 = 108 seconds/,
    );
  });

  test('Lambda agent function timeout: refuses a function that outlives its agent timeout', () => {
    // GIVEN / WHEN
    const message = tierError({}, (stack) => ({
      agents: {
        classify: {
          kind: 'lambda',
          function: new lambda.Function(stack, 'SlowClassify', {
            runtime: lambda.Runtime.NODEJS_22_X,
            handler: 'index.handler',
            code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
            timeout: Duration.seconds(90),
          }),
          timeout: Duration.seconds(60),
        },
      },
    }));

    // THEN
    expect(message).toMatch(
      /^Invalid TaskTier props \(TestStack\/Urgent\):\n- agent 'classify' function timeout must be at most its agent timeout \(60 seconds\), but 90 was provided/,
    );
  });

  test("maxResultBytes rule: refuses a result that GET /tasks/{id} cannot answer within Lambda's 6 MB response", () => {
    // GIVEN / WHEN
    const message = tierError({ maxResultBytes: 6_291_456 });
    const pastTheItem = tierError({ maxResultBytes: 1_048_576, maxReceiveCount: 0 });

    // THEN
    expect(message).toMatch(
      /^Invalid TaskTier props \(TestStack\/Urgent\):\n- maxResultBytes must be between 1 and \d+ \(Lambda's 6291456-byte response limit/,
    );
    expect(pastTheItem).toMatch(/maxReceiveCount/);
    expect(pastTheItem).not.toMatch(/maxResultBytes/);
  });

  test('taskRetention rule: refuses a retention shorter than queue retention + 900 s + DLQ retention', () => {
    // GIVEN: 4 days + 900 s + 14 days = 1556100 s > 1 day
    const message = tierError({ taskRetention: Duration.days(1) });

    // THEN
    expect(message).toBe(
      'Invalid TaskTier props (TestStack/Urgent):\n' +
        '- taskRetention must be at least the queue retention (345600 s) + the longest delay (900 s) + ' +
        'deadLetterRetention (1209600 s) = 1556100 s, but 86400 was provided: ' +
        'a message redriven from the DLQ can arrive that late, and would create a removed task again and run it',
    );
  });

  test('taskRetention rule: counts the tier’s own retentionPeriod', () => {
    // GIVEN: 2 days + 900 s + 1 day = 260100 s > 3 days − 1 s
    const props = {
      retentionPeriod: Duration.days(2),
      deadLetterRetention: Duration.days(1),
      taskRetention: Duration.seconds(260_099),
    };

    // WHEN / THEN
    expect(tierError(props)).toMatch(/queue retention \(172800 s\) .* = 260100 s, but 260099 was provided/);
  });
});
