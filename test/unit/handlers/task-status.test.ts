import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionOf } from '../../../lambda/adapters/dynamodb-condition';
import { deliveryTaskId } from '../../../lambda/core/topics';
import { TRANSITIONS } from '../../../lambda/core/transitions';
import { context, httpEvent } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'SILENT';
process.env.TASK_TABLE_NAME = 'tasks';
process.env.RESULT_BUCKET_NAME = 'results';
process.env.TASK_RETENTION_SECONDS = '600';
const { handler } =
  require('../../../lambda/handlers/task-status') as typeof import('../../../lambda/handlers/task-status');

const ddb = mockClient(DynamoDBClient);

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

const item = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'high',
  status: 'SUCCEEDED',
  attempts: 2,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:05.000Z',
  started_at: '2026-01-01T00:00:01.000Z',
  finished_at: '2026-01-01T00:00:05.000Z',
  // Results are stored as a JSON string so that any JSON round-trips, even numbers DynamoDB cannot hold.
  result: JSON.stringify({ echo: { n: 1e300, '': [] } }),
  error: { code: 'AgentHttp503', message: 'busy' },
  request_hash: 'hash',
  enqueue_id: 'e1',
  lease_until: 123,
  expires_at: 456,
};

async function call(method: string, id: string | undefined) {
  const event = httpEvent(method, `/tasks/${id}`, id === undefined ? {} : { pathParameters: { id } });
  const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return { ...result, json: JSON.parse(String(result.body)) };
}

describe('Handler: task-status', () => {
  beforeEach(() => {
    // The handlers write EMF metric lines to stdout; keep the test output readable.
    jest.spyOn(process.stdout, 'write').mockReturnValue(true);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    ddb.reset();
  });

  describe('GET /tasks/{id}', () => {
    it('answers 200 with the task, its parsed result, and no internal fields', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: marshall(item) });

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toEqual({
        task_id: TASK_ID,
        type: 'echo',
        priority: 'high',
        status: 'SUCCEEDED',
        attempts: 2,
        created_at: item.created_at,
        updated_at: item.updated_at,
        started_at: item.started_at,
        finished_at: item.finished_at,
        result: { echo: { n: 1e300, '': [] } },
        error: item.error,
      });
      expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input).toEqual({
        TableName: 'tasks',
        Key: marshall({ task_id: TASK_ID }),
        ConsistentRead: true,
      });
    });

    it("answers a published task with its deliveries, read in one BatchGetItem of the deliveries' ids", async () => {
      // Prepare
      const published = {
        ...item,
        type: 'demo.fanout',
        status: 'QUEUED',
        attempts: 0,
        result: undefined,
        error: undefined,
        finished_at: undefined,
        started_at: undefined,
        topic: 'demo.fanout',
        subscribers: ['echo', 'sleep'],
      };
      const echoId = deliveryTaskId(TASK_ID, 'echo');
      ddb.on(GetItemCommand).resolves({ Item: marshall(published, { removeUndefinedValues: true }) });
      ddb.on(BatchGetItemCommand).resolves({
        Responses: {
          tasks: [
            marshall({
              ...item,
              task_id: echoId,
              type: 'echo',
              published_task_id: TASK_ID,
              topic: 'demo.fanout',
            }),
          ],
        },
      });

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({
        task_id: TASK_ID,
        topic: 'demo.fanout',
        status: 'QUEUED',
        attempts: 2,
        deliveries: {
          echo: { task_id: echoId, status: 'SUCCEEDED', attempts: 2, result: { echo: { n: 1e300, '': [] } } },
          sleep: { task_id: deliveryTaskId(TASK_ID, 'sleep'), status: 'QUEUED', attempts: 0 },
        },
      });
      const keys = ddb.commandCalls(BatchGetItemCommand)[0]!.args[0].input.RequestItems!.tasks!.Keys!;
      expect(keys.map((k) => unmarshall(k).task_id)).toEqual([echoId, deliveryTaskId(TASK_ID, 'sleep')]);
    });

    it('shows the tenant_id of a task submitted with one', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...item, tenant_id: 'acme' }) });

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({ task_id: TASK_ID, priority: 'high', tenant_id: 'acme' });
    });

    it('answers a result with every number literal digit for digit', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({
        Item: marshall({ ...item, result: '{"echo":{"n":9007199254740993,"big":1e400}}' }),
      });

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.body).toContain('"result":{"echo":{"n":9007199254740993,"big":1e400}}');
    });

    it('answers 404 NotFound for an unknown id', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({});

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(404);
      expect(res.json).toEqual({ error: { code: 'NotFound', message: expect.stringContaining(TASK_ID) } });
    });

    it('answers 400 without reading the table when the id is not a task id', async () => {
      // Act
      const res = await call('GET', 'abc');

      // Assess
      expect(res.statusCode).toBe(400);
      expect(res.json.error.code).toBe('ValidationError');
      expect(ddb.calls()).toHaveLength(0);
    });

    it('answers 500 InternalError without revealing the cause when the table fails', async () => {
      // Prepare
      ddb.on(GetItemCommand).rejects(new Error('secret internal detail'));

      // Act
      const res = await call('GET', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(500);
      expect(res.json).toEqual({ error: { code: 'InternalError', message: 'an internal error occurred' } });
      expect(res.body).not.toContain('secret');
    });
  });

  describe('DELETE /tasks/{id}', () => {
    it('cancels with a write conditioned on a cancellable status and answers 200 CANCELLED', async () => {
      // Prepare
      const cancelled = { ...item, status: 'CANCELLED', result: undefined, error: undefined };
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...item, status: 'QUEUED' }) });
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall(cancelled, { removeUndefinedValues: true }) });
      const before = Math.floor(Date.now() / 1000);

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({ task_id: TASK_ID, status: 'CANCELLED' });
      const update = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
      expect(update).toMatchObject({
        TableName: 'tasks',
        Key: marshall({ task_id: TASK_ID }),
        ConditionExpression: conditionOf(TRANSITIONS.cancel, { nowMs: 0 }).ConditionExpression,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      const values = unmarshall(update.ExpressionAttributeValues!);
      expect([values[':queued'], values[':retrying']]).toEqual(['QUEUED', 'RETRYING']);
      expect(values[':cancelled']).toBe('CANCELLED');
      expect(values[':exp']).toBeGreaterThanOrEqual(before + 600);
      expect(values[':exp']).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    });

    it('answers 409 NotCancellable with the status the failed condition returned', async () => {
      // Prepare: which statuses may be cancelled is core's rule (test/unit/core/task-queries.test.ts)
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...item, status: 'QUEUED' }) });
      ddb.on(UpdateItemCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({ ...item, status: 'RUNNING' }),
        }),
      );

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(409);
      expect(res.json.error).toEqual({ code: 'NotCancellable', message: expect.stringContaining('RUNNING') });
    });

    it('cancels a published task whose deliveries have no record yet by creating each CANCELLED, and answers 200', async () => {
      // Prepare
      const published = {
        task_id: TASK_ID,
        type: 'demo.fanout',
        priority: 'high',
        status: 'QUEUED',
        attempts: 0,
        created_at: item.created_at,
        updated_at: item.created_at,
        request_hash: 'hash',
        enqueue_id: 'e1',
        topic: 'demo.fanout',
        subscribers: ['echo', 'sleep'],
      };
      ddb.on(GetItemCommand).resolves({ Item: marshall(published) });
      ddb
        .on(UpdateItemCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
        );
      ddb.on(PutItemCommand).resolves({});
      ddb.on(BatchGetItemCommand).resolves({ Responses: { tasks: [] } });

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({ task_id: TASK_ID, deliveries: expect.any(Object) });
      const puts = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input);
      expect(puts.map((p) => p.ConditionExpression)).toEqual([
        'attribute_not_exists(task_id)',
        'attribute_not_exists(task_id)',
      ]);
      expect(puts.map((p) => unmarshall(p.Item!)).map((r) => [r.task_id, r.type, r.status])).toEqual([
        [deliveryTaskId(TASK_ID, 'echo'), 'echo', 'CANCELLED'],
        [deliveryTaskId(TASK_ID, 'sleep'), 'sleep', 'CANCELLED'],
      ]);
    });

    it('answers 404 without writing when the task does not exist', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({});

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(404);
      expect(res.json.error.code).toBe('NotFound');
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });

    it('answers 404 when the task expired between the read and the failed condition, which returns no item', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...item, status: 'QUEUED' }) });
      ddb
        .on(UpdateItemCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
        );

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(404);
      expect(res.json.error.code).toBe('NotFound');
    });

    it('answers 500 when the table fails for another reason', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...item, status: 'QUEUED' }) });
      ddb.on(UpdateItemCommand).rejects(new Error('throttled'));

      // Act
      const res = await call('DELETE', TASK_ID);

      // Assess
      expect(res.statusCode).toBe(500);
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    });
  });

  it('answers 405 for any other method', async () => {
    // Act
    const res = await call('PUT', TASK_ID);

    // Assess
    expect(res.statusCode).toBe(405);
    expect(res.json.error.code).toBe('MethodNotAllowed');
    expect(ddb.calls()).toHaveLength(0);
  });
});
