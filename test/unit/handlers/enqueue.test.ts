import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { requestHash, taskIdForKey } from '../../../lambda/core/idempotency';
import { context, httpEvent } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler. Its logs go to
// the stdout spy of each test.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'INFO';
process.env.TASK_TABLE_NAME = 'tasks';
process.env.RESULT_BUCKET_NAME = 'results';
process.env.HIGH_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high';
process.env.LOW_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/low';
process.env.TASK_TYPES = 'echo,summarize';
process.env.MAX_BODY_BYTES = '512';
process.env.MAX_JSON_DEPTH = '32';
process.env.TOPICS = JSON.stringify({ 'document.uploaded': ['echo', 'summarize'] });
process.env.TASK_RETENTION_SECONDS = '600';
const { handler } =
  require('../../../lambda/handlers/enqueue') as typeof import('../../../lambda/handlers/enqueue');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const JSON_HEADERS = { 'content-type': 'application/json' };

async function post(body: unknown, headers: Record<string, string> = JSON_HEADERS) {
  const event = httpEvent('POST', '/tasks', {
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return { ...result, json: JSON.parse(String(result.body)) };
}

function existingItem(key: string, hash: string) {
  return {
    task_id: taskIdForKey(key),
    type: 'echo',
    priority: 'low',
    status: 'RUNNING',
    attempts: 1,
    created_at: '2025-12-31T00:00:00.000Z',
    updated_at: '2025-12-31T00:00:01.000Z',
    request_hash: hash,
    enqueue_id: 'winner-enqueue',
  };
}

describe('Handler: enqueue', () => {
  let stdout: jest.SpyInstance;

  beforeEach(() => {
    // The handlers write their log and EMF metric lines to stdout; keep the test output readable.
    stdout = jest.spyOn(process.stdout, 'write').mockReturnValue(true);
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    ddb.reset();
    sqs.reset();
  });

  it('publishes a task to a topic of TOPICS: one message listing the subscribers, one published record, 202', async () => {
    // Act
    const res = await post({ type: 'document.uploaded', payload: { doc: 'a.pdf' }, priority: 'low' });

    // Assess
    expect(res.statusCode).toBe(202);
    expect(res.json).toMatchObject({ type: 'document.uploaded', status: 'QUEUED', priority: 'low' });
    const sends = sqs.commandCalls(SendMessageCommand);
    expect(sends).toHaveLength(1);
    expect(sends[0]!.args[0].input.QueueUrl).toBe(process.env.LOW_QUEUE_URL);
    expect(JSON.parse(sends[0]!.args[0].input.MessageBody!)).toMatchObject({
      task_id: res.json.task_id,
      type: 'document.uploaded',
      subscribers: ['echo', 'summarize'],
    });
    const put = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    expect(put).toMatchObject({
      task_id: res.json.task_id,
      subscribers: ['echo', 'summarize'],
      topic: 'document.uploaded',
    });
    // Twice TASK_RETENTION_SECONDS after its creation.
    expect(put.expires_at).toBe(Math.floor(Date.parse(put.created_at) / 1000) + 1200);
  });

  it('queues a high-priority task on the high queue with its delay, records it, and answers 202', async () => {
    // Act
    const res = await post({ type: 'echo', payload: { text: 'hi' }, priority: 'high', delay_seconds: 7 });

    // Assess
    expect(res.statusCode).toBe(202);
    const taskId = res.json.task_id as string;
    expect(res.json).toEqual({
      task_id: taskId,
      status: 'QUEUED',
      type: 'echo',
      priority: 'high',
      created_at: expect.any(String),
    });
    expect(res.headers).toMatchObject({ location: `/tasks/${taskId}`, 'content-type': 'application/json' });

    const sends = sqs.commandCalls(SendMessageCommand);
    expect(sends).toHaveLength(1);
    const send = sends[0]!.args[0].input;
    expect(send).toMatchObject({
      QueueUrl: process.env.HIGH_QUEUE_URL,
      DelaySeconds: 7,
      MessageAttributes: { task_id: { DataType: 'String', StringValue: taskId } },
    });
    const envelope = JSON.parse(send.MessageBody!);
    expect(envelope).toMatchObject({
      schema_version: 1,
      task_id: taskId,
      type: 'echo',
      payload: { text: 'hi' },
    });

    const puts = ddb.commandCalls(PutItemCommand);
    expect(puts).toHaveLength(1);
    const put = puts[0]!.args[0].input;
    expect(put).toMatchObject({
      TableName: 'tasks',
      ConditionExpression: 'attribute_not_exists(task_id)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(unmarshall(put.Item!)).toMatchObject({
      task_id: taskId,
      status: 'QUEUED',
      attempts: 0,
      enqueue_id: envelope.enqueue_id,
      request_hash: envelope.request_hash,
    });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('writes no line at INFO for an accepted task: its TasksAccepted count comes from the stream', async () => {
    // Act
    const res = await post({ type: 'echo', priority: 'high', payload: { text: 'not logged' } });

    // Assess
    expect(res.statusCode).toBe(202);
    expect(stdout).not.toHaveBeenCalled();
  });

  it("writes a replay's line at INFO, naming the task and never its payload", async () => {
    // Prepare: the key's task exists, with the same request
    const headers = { ...JSON_HEADERS, 'idempotency-key': 'logged-replay' };
    await post({ type: 'echo', payload: { text: 'not logged' } }, headers);
    const created = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    ddb.on(GetItemCommand).resolves({ Item: marshall(created, { removeUndefinedValues: true }) });
    stdout.mockClear();

    // Act
    const res = await post({ type: 'echo', payload: { text: 'not logged' } }, headers);

    // Assess
    expect(res.statusCode).toBe(200);
    expect(stdout).toHaveBeenCalledTimes(1);
    const text = String(stdout.mock.calls[0]![0]);
    expect(JSON.parse(text)).toMatchObject({
      level: 'INFO',
      message: 'task replayed',
      task_id: created.task_id,
    });
    expect(text).not.toContain('not logged');
  });

  it('queues a task on the low queue with no delay by default', async () => {
    // Act
    const res = await post({ type: 'summarize', payload: {} });

    // Assess
    expect(res.statusCode).toBe(202);
    expect(res.json.priority).toBe('low');
    expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input).toMatchObject({
      QueueUrl: process.env.LOW_QUEUE_URL,
      DelaySeconds: 0,
    });
  });

  it('looks the key up with a consistent read and uses the key-derived task id', async () => {
    // Act
    const res = await post({ type: 'echo', payload: {} }, { ...JSON_HEADERS, 'idempotency-key': 'order-42' });

    // Assess
    expect(res.statusCode).toBe(202);
    expect(res.json.task_id).toBe(taskIdForKey('order-42'));
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input).toEqual({
      TableName: 'tasks',
      Key: marshall({ task_id: taskIdForKey('order-42') }),
      ConsistentRead: true,
    });
  });

  it('answers 200 with the original task and sends nothing when the key is replayed with the same body', async () => {
    // Prepare
    const body = { type: 'echo', payload: { n: 1 } };
    const hash = requestHash({ type: 'echo', payload: { n: 1 }, priority: 'low', delaySeconds: 0 });
    ddb.on(GetItemCommand).resolves({ Item: marshall(existingItem('order-42', hash)) });

    // Act
    const res = await post({ ...body, idempotency_key: 'order-42' });

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({
      task_id: taskIdForKey('order-42'),
      status: 'RUNNING',
      type: 'echo',
      priority: 'low',
      created_at: '2025-12-31T00:00:00.000Z',
    });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 503 when the conditional put fails without returning the existing item', async () => {
    // Prepare
    ddb
      .on(PutItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const res = await post({ type: 'echo', payload: {}, idempotency_key: 'k' });

    // Assess
    expect(res.statusCode).toBe(503);
    expect(res.json.error.code).toBe('ServiceUnavailable');
  });

  it('answers 503 and writes no record when the queue rejects the message', async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));

    // Act
    const res = await post({ type: 'echo', payload: {} });

    // Assess
    expect(res.statusCode).toBe(503);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it.each<[string, unknown, Record<string, string>, number, string]>([
    ['the type is not registered', { type: 'unknown', payload: {} }, JSON_HEADERS, 400, 'UnknownTaskType'],
    [
      'the body is over MAX_BODY_BYTES',
      { type: 'echo', payload: { t: 'x'.repeat(600) } },
      JSON_HEADERS,
      413,
      'PayloadTooLarge',
    ],
  ])(
    'answers %s with a JSON error, and touches neither queue nor table',
    async (_name, body, headers, status, code) => {
      // Act
      const res = await post(body, headers);

      // Assess
      expect(res.statusCode).toBe(status);
      expect(res.json.error).toMatchObject({ code, message: expect.any(String) });
      expect(sqs.calls()).toHaveLength(0);
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it('includes the validation details in a ValidationError body', async () => {
    // Act
    const res = await post({ type: 'echo', payload: {}, priority: 'urgent' });

    // Assess
    expect(res.json).toEqual({
      error: {
        code: 'ValidationError',
        message: 'the task does not match the task schema',
        details: [{ path: '/priority', message: expect.any(String) }],
      },
    });
  });

  it('decodes a base64 body', async () => {
    // Prepare
    const event = httpEvent('POST', '/tasks', {
      headers: JSON_HEADERS,
      body: Buffer.from(JSON.stringify({ type: 'echo', payload: {} })).toString('base64'),
      isBase64Encoded: true,
    });

    // Act
    const res = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;

    // Assess
    expect(res.statusCode).toBe(202);
  });

  it('sends the payload to SQS with every number literal as sent', async () => {
    // Act
    const res = await post('{"type":"echo","payload":{"n":9007199254740993,"big":1e400}}');

    // Assess
    expect(res.statusCode).toBe(202);
    const body = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(body).toContain('"payload":{"n":9007199254740993,"big":1e400}');
  });

  it('answers 409 when a key is reused with a body that differs only past double precision', async () => {
    // Prepare: the record stored by the first request, {"n":9007199254740993}.
    await post('{"type":"echo","payload":{"n":9007199254740993},"idempotency_key":"big-n"}');
    const stored = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    ddb.on(GetItemCommand).resolves({ Item: marshall(stored) });

    // Act
    const same = await post('{"payload":{"n":9007199254740993.0},"type":"echo","idempotency_key":"big-n"}');
    const other = await post('{"type":"echo","payload":{"n":9007199254740992},"idempotency_key":"big-n"}');

    // Assess
    expect(same.statusCode).toBe(200);
    expect(other.statusCode).toBe(409);
  });
});
