import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { context } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler.
const HIGH_DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high-dlq';
const LOW_DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/low-dlq';
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'SILENT';
process.env.TASK_TABLE_NAME = 'tasks';
process.env.DEAD_LETTER_QUEUE_URLS = `${HIGH_DLQ},${LOW_DLQ}`;
process.env.SWEEP_MAX_MESSAGES = '10000';
process.env.REDRIVE_GRACE_SECONDS = '900';
process.env.TASK_RETENTION_SECONDS = '2592000';
const { handler } =
  require('../../../lambda/handlers/dead-letter-sweeper') as typeof import('../../../lambda/handlers/dead-letter-sweeper');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const withTimeLeft = (ms: number) => ({ ...context, getRemainingTimeInMillis: () => ms }) as Context;

describe('Handler: dead-letter-sweeper', () => {
  afterEach(() => {
    ddb.reset();
    sqs.reset();
  });

  it('sweeps every DLQ, each within its share of the time the function has left', async () => {
    // Prepare: 15 messages in each DLQ
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '15' } });
    const handed = new Map<string, number>();
    sqs.on(ReceiveMessageCommand).callsFake((input: ReceiveMessageCommandInput) => {
      const from = handed.get(input.QueueUrl!) ?? 0;
      const count = Math.min(input.MaxNumberOfMessages!, 15 - from);
      handed.set(input.QueueUrl!, from + count);
      return {
        Messages: Array.from({ length: count }, (_, i) => ({
          MessageId: `${input.QueueUrl}#${from + i}`,
          Body: JSON.stringify({ task_id: `task-${from + i}`, enqueue_id: 'e' }),
        })),
      };
    });
    // The sweep reads the record of a letter without an error (an async attempt lost on its last delivery is
    // failed with the reason it was lost); these records are not async.
    ddb.on(GetItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolves({});

    // Act: 175 s left, 15 s of which are kept for the last writes
    const result = await handler({}, withTimeLeft(175_000));

    // Assess
    expect(result).toEqual({ seen: 30, failed: 30 });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(30);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(30);
    const hides = sqs
      .commandCalls(ReceiveMessageCommand)
      .map((c) => [c.args[0].input.QueueUrl, c.args[0].input.VisibilityTimeout]);
    const highHide = hides.find(([url]) => url === HIGH_DLQ)![1]!;
    expect(highHide).toBeGreaterThanOrEqual(79);
    expect(highHide).toBeLessThanOrEqual(81);
  });
});
