import { createHash } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { DestinationRecord } from '../../../lambda/core/destination-record';
import { context } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'SILENT';
process.env.TASK_TABLE_NAME = 'tasks';
process.env.RESULT_BUCKET_NAME = 'results';
process.env.HIGH_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high';
process.env.LOW_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/low';
process.env.MAX_RECEIVE_COUNT = '3';
process.env.BACKOFF_BASE_SECONDS = '4';
process.env.BACKOFF_CAP_SECONDS = '60';
process.env.MAX_RESULT_BYTES = '200';
process.env.TASK_RETENTION_SECONDS = '600';
process.env.LIMITS_TABLE_NAME = 'limits';
const { handler } =
  require('../../../lambda/handlers/completion') as typeof import('../../../lambda/handlers/completion');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TOKEN = 'the-token-of-attempt-1';
const hash = createHash('sha256').update(TOKEN).digest('hex');

const running = {
  task_id: TASK_ID,
  type: 'summarise',
  priority: 'high',
  status: 'RUNNING',
  attempts: 1,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  enqueue_id: 'e1',
  agent_mode: 'async',
  token_hash: hash,
  callback_tokens: new Set([hash.slice(0, 32)]),
  receipt_handle: 'receipt-1',
  receive_count: 1,
  heartbeat_seconds: 60,
};

function successRecord(requestPayload: unknown): DestinationRecord {
  return {
    requestContext: { condition: 'Success', approximateInvokeCount: 1 },
    requestPayload,
    responseContext: { statusCode: 200 },
    responsePayload: { summary: 'short' },
  };
}

const ourRequest = { task_id: TASK_ID, callback: { url: 'u', token: TOKEN, heartbeat_seconds: 60 } };

describe('Handler: completion', () => {
  beforeEach(() => {
    // The handlers write EMF metric lines to stdout; keep the test output readable.
    jest.spyOn(process.stdout, 'write').mockReturnValue(true);
    sqs.on(DeleteMessageCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    sqs.reset();
    jest.restoreAllMocks();
  });

  it("completes the attempt named by the record's request with the function's return value", async () => {
    // Prepare
    ddb.on(GetItemCommand).resolves({
      Item: marshall({
        ...running,
        run_deadline: Date.now() + 3_600_000,
        lease_until: Date.now() + 60_000,
      }),
    });
    ddb.on(UpdateItemCommand).resolves({
      Attributes: marshall({ ...running, status: 'SUCCEEDED', result: '{"summary":"short"}' }),
    });

    // Act
    await handler(successRecord(ourRequest), context);

    // Assess
    const values = ddb
      .commandCalls(UpdateItemCommand)
      .map((c) => unmarshall(c.args[0].input.ExpressionAttributeValues!));
    expect(values).toEqual([
      expect.objectContaining({ ':next': 'SUCCEEDED', ':result': '{"summary":"short"}' }),
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual([
      'receipt-1',
    ]);
  });

  it('drops a record whose request carries no callback token, without reading the table', async () => {
    // Act
    await handler(successRecord({ task_id: TASK_ID }), context);

    // Assess
    expect(ddb.calls()).toHaveLength(0);
  });

  it('drops a completion the attempt no longer takes (its deadline passed), without throwing', async () => {
    // Prepare
    ddb.on(GetItemCommand).resolves({ Item: marshall({ ...running, lease_until: Date.now() - 60_000 }) });

    // Act
    const done = handler(successRecord(ourRequest), context);

    // Assess
    await expect(done).resolves.toBeUndefined();
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('throws when the table fails, so that Lambda retries the record', async () => {
    // Prepare
    ddb.on(GetItemCommand).rejects(new Error('DynamoDB is down'));

    // Act
    const done = handler(successRecord(ourRequest), context);

    // Assess
    await expect(done).rejects.toThrow('DynamoDB is down');
  });
});
