/**
 * The local table-stream event source against DynamoDB Local's own stream: filters, batch item failures,
 * bisection and the on-failure record, with a stand-in function (the event shape it gets is Lambda's) and a
 * stand-in for the on-failure queue's SendMessage.
 */

import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { DynamoEmulator } from '../../local/emulators';
import { compileFilterCriteria } from '../../local/event-filter';
import type { InvokeResult } from '../../local/lambda-pool';
import { StreamEventSource, type StreamSourceSettings } from '../../local/stream-source';
import { eventually } from './support/local-runtime';
import { suiteDynamoDb } from './support/shared-dynamodb';

jest.setTimeout(180_000);

let dynamo: DynamoEmulator;
let db: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableCount = 0;
/** This run's table names: unique on the DynamoDB Local the integration suites share. */
const RUN = randomBytes(4).toString('hex');

beforeAll(async () => {
  dynamo = await suiteDynamoDb();
  const config = {
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  db = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
});

afterAll(async () => {
  db?.destroy();
  streams?.destroy();
  await dynamo?.stop();
});

async function table(): Promise<string> {
  const name = `stream-source-${RUN}-${++tableCount}`;
  await db.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return name;
}

const write = (tableName: string, id: string, status: string) =>
  db.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { task_id: { S: id } },
      UpdateExpression: 'SET #s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': { S: status } },
    }),
  );

const TERMINAL = compileFilterCriteria({
  Filters: [
    { Pattern: JSON.stringify({ dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED'] } } } }) },
  ],
});

function source(
  tableName: string,
  settings: Partial<StreamSourceSettings>,
  fn: (records: DynamoDBRecord[]) => InvokeResult,
) {
  const sent: unknown[] = [];
  const invocations: string[][] = [];
  const sqs = {
    send: async (command: { input: { MessageBody: string } }) => {
      sent.push(JSON.parse(command.input.MessageBody));
      return {};
    },
  } as unknown as SQSClient;
  const stream = new StreamEventSource(
    {
      logicalId: 'Mapping',
      tableName,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Publisher',
      region: 'us-east-1',
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'TRIM_HORIZON',
      filter: TERMINAL,
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      maximumRecordAgeSeconds: -1,
      onFailureQueueUrl: 'http://127.0.0.1/000000000000/unpublished',
      enabled: true,
      ...settings,
    },
    { dynamodb: db, streams, sqs },
    async (event) => {
      invocations.push(event.Records.map((r) => r.dynamodb!.NewImage!.task_id!.S!));
      return fn(event.Records);
    },
    () => {},
  );
  return { stream, sent, invocations };
}

const ok = (result: unknown = null): InvokeResult => ({ ok: true, result });
const thrown: InvokeResult = {
  ok: false,
  error: { errorType: 'Error', errorMessage: 'boom' },
  timedOut: false,
};

describe('Class: StreamEventSource (DynamoDB Local)', () => {
  it("delivers only the records its filter accepts, in Lambda's event shape", async () => {
    const name = await table();
    const seen: DynamoDBRecord[] = [];
    const { stream } = source(name, {}, (records) => {
      seen.push(...records);
      return ok();
    });
    stream.start();
    try {
      await db.send(
        new PutItemCommand({ TableName: name, Item: { task_id: { S: 'a' }, status: { S: 'QUEUED' } } }),
      );
      await write(name, 'a', 'RUNNING');
      await write(name, 'a', 'SUCCEEDED');
      await eventually(
        async () => (seen.length > 0 ? true : undefined),
        'the SUCCEEDED write reaching the function',
      );
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        eventName: 'MODIFY',
        eventSource: 'aws:dynamodb',
        eventSourceARN: expect.stringContaining(`table/${name}/stream/`),
        dynamodb: {
          Keys: { task_id: { S: 'a' } },
          NewImage: { task_id: { S: 'a' }, status: { S: 'SUCCEEDED' } },
          OldImage: { task_id: { S: 'a' }, status: { S: 'RUNNING' } },
          StreamViewType: 'NEW_AND_OLD_IMAGES',
          SequenceNumber: expect.any(String),
          ApproximateCreationDateTime: expect.any(Number),
        },
      });
      expect(stream.stats.filteredOut).toBe(2);
    } finally {
      await stream.stop();
    }
  });

  it('bisects a failing batch, sends the record that keeps failing to the on-failure queue, and goes on', async () => {
    const name = await table();
    // A batch of three (a window gathers them), whose middle record makes the function throw.
    const { stream, sent, invocations } = source(name, { maxBatchingWindowSeconds: 2 }, (records) =>
      records.some((r) => r.dynamodb!.NewImage!.task_id!.S === 'bad') ? thrown : ok(),
    );
    for (const id of ['a', 'bad', 'c']) await write(name, id, 'FAILED');
    stream.start();
    try {
      await eventually(
        async () => (sent.length > 0 && stream.stats.delivered === 2 ? true : undefined),
        'the batch through',
      );
      expect(invocations[0]).toEqual(['a', 'bad', 'c']);
      // The bad record alone, retried once (MaximumRetryAttempts 1), then given up.
      expect(invocations.filter((ids) => ids.length === 1 && ids[0] === 'bad')).toHaveLength(2);
      expect(sent).toEqual([
        expect.objectContaining({
          requestContext: expect.objectContaining({
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 2,
          }),
          responseContext: expect.objectContaining({ functionError: 'Unhandled' }),
          DDBStreamBatchInfo: expect.objectContaining({
            batchSize: 1,
            streamArn: expect.stringContaining(name),
          }),
        }),
      ]);
    } finally {
      await stream.stop();
    }
  });

  it('retries a batch from the lowest sequence number the function reports', async () => {
    const name = await table();
    let first = true;
    const { stream, invocations } = source(name, { maxBatchingWindowSeconds: 2 }, (records) => {
      if (!first) return ok();
      first = false;
      return ok({ batchItemFailures: [{ itemIdentifier: records[1]!.dynamodb!.SequenceNumber }] });
    });
    for (const id of ['a', 'b', 'c']) await write(name, id, 'SUCCEEDED');
    stream.start();
    try {
      await eventually(async () => (invocations.length >= 2 ? true : undefined), 'the retry');
      expect(invocations.slice(0, 2)).toEqual([
        ['a', 'b', 'c'],
        ['b', 'c'],
      ]);
    } finally {
      await stream.stop();
    }
  });

  it('polls an idle shard at its idle interval, and reads it at once when woken', async () => {
    const name = await table();
    const seen: string[] = [];
    // An idle interval no test waits out: only `wake` can bring the write in before it.
    const { stream } = source(name, { idlePollMs: 600_000 }, (records) => {
      seen.push(...records.map((r) => r.dynamodb!.NewImage!.task_id!.S!));
      return ok();
    });
    stream.start();
    try {
      // Busy for its first empty polls (about a second), then idle: no read for the rest of the wait.
      await eventually(async () => (stream.stats.getRecordsCalls >= 5 ? true : undefined), 'the busy polls');
      const idleFrom = stream.stats.getRecordsCalls;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(stream.stats.getRecordsCalls).toBe(idleFrom);

      await write(name, 'a', 'SUCCEEDED');
      stream.wake();
      await eventually(async () => (seen.length > 0 ? true : undefined), 'the woken read');
      expect(seen).toEqual(['a']);
    } finally {
      await stream.stop();
    }
  });
});
