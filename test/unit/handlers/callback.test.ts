import { createHash } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { context, httpEvent } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler. The logs are
// captured (not silenced) so that a test can prove the token never reaches them.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'DEBUG';
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
  require('../../../lambda/handlers/callback') as typeof import('../../../lambda/handlers/callback');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TOKEN = 'Zm9yZ2V0LW1lLW5vdC10b2tlbi1vZi1hdHRlbXB0LTI';
const LOW_QUEUE_URL = process.env.LOW_QUEUE_URL;

/** Attempt 2 of an async agent, running, its deadline a minute away, its message held by `receipt-2`. */
function runningItem(fields: Record<string, unknown> = {}) {
  return {
    task_id: TASK_ID,
    type: 'research',
    priority: 'low',
    status: 'RUNNING',
    attempts: 2,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:01.000Z',
    started_at: '2026-01-01T00:00:01.000Z',
    enqueue_id: 'e1',
    request_hash: 'hash',
    agent_mode: 'async',
    token_hash: createHash('sha256').update(TOKEN).digest('hex'),
    callback_tokens: new Set([createHash('sha256').update(TOKEN).digest('hex').slice(0, 32)]),
    receipt_handle: 'receipt-2',
    receive_count: 2,
    heartbeat_seconds: 60,
    run_deadline: Date.now() + 3_600_000,
    lease_until: Date.now() + 60_000,
    ...fields,
  };
}

async function call(
  route: 'heartbeat' | 'complete',
  init: { body?: string; isBase64Encoded?: boolean; headers?: Record<string, string>; path?: string } = {},
) {
  const path = init.path ?? `/tasks/${TASK_ID}/${route}`;
  const event = httpEvent('POST', path, {
    headers: init.headers ?? { authorization: `Bearer ${TOKEN}` },
    ...(init.body !== undefined && { body: init.body }),
    ...(init.isBase64Encoded !== undefined && { isBase64Encoded: init.isBase64Encoded }),
    pathParameters: { id: TASK_ID },
  });
  const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return { statusCode: result.statusCode, json: JSON.parse(String(result.body)) };
}

/** The settle writes the completions made, with their values unmarshalled. */
function updateValues() {
  return ddb
    .commandCalls(UpdateItemCommand)
    .map((c) => unmarshall(c.args[0].input.ExpressionAttributeValues!) as Record<string, unknown>);
}

describe('Handler: callback', () => {
  let logs: string[];

  beforeEach(() => {
    logs = [];
    const capture = (chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    ddb.on(GetItemCommand).resolves({ Item: marshall(runningItem()) });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(DeleteMessageCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    sqs.reset();
    jest.restoreAllMocks();
  });

  describe('POST /tasks/{id}/heartbeat', () => {
    it('extends the deadline and the message visibility, and answers 200 RUNNING with cancel_requested', async () => {
      // Prepare
      const written = runningItem({ cancel_requested: true });
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall(written) });

      // Act
      const res = await call('heartbeat', { body: '{"progress":{"percent":50,"message":"half"}}' });

      // Assess
      expect(res).toEqual({ statusCode: 200, json: { status: 'RUNNING', cancel_requested: true } });
      expect(updateValues()).toEqual([
        expect.objectContaining({ ':progress': { percent: 50, message: 'half' }, ':attempt': 2 }),
      ]);
      expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
        { QueueUrl: LOW_QUEUE_URL, ReceiptHandle: 'receipt-2', VisibilityTimeout: expect.any(Number) },
      ]);
      expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    });

    it('is told from a completion by the end of the raw path, behind a stage prefix too', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall(runningItem()) });

      // Act
      const res = await call('heartbeat', { path: `/prod/tasks/${TASK_ID}/heartbeat` });

      // Assess
      expect(res).toEqual({ statusCode: 200, json: { status: 'RUNNING', cancel_requested: false } });
    });

    it('answers 400 ValidationError naming the field for a percent out of range, and writes nothing', async () => {
      // Act
      const res = await call('heartbeat', { body: '{"progress":{"percent":101}}' });

      // Assess
      expect(res.statusCode).toBe(400);
      expect(res.json.error).toMatchObject({
        code: 'ValidationError',
        details: [{ path: 'body.progress.percent' }],
      });
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });

    it('answers 413 PayloadTooLarge to a heartbeat body over 8 KiB, before it is parsed, and writes nothing', async () => {
      // Act
      const res = await call('heartbeat', { body: `{"progress":{"message":"${'x'.repeat(8 * 1024)}"}}` });

      // Assess
      expect(res.statusCode).toBe(413);
      expect(res.json.error).toMatchObject({ code: 'PayloadTooLarge' });
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });
  });

  describe('POST /tasks/{id}/complete', () => {
    it('stores the result, deletes the message from its tier, and answers 200 with the task', async () => {
      // Prepare
      const { lease_until: _lease, ...rest } = runningItem();
      const finished = { ...rest, status: 'SUCCEEDED', result: JSON.stringify({ ok: true }) };
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall(finished) });

      // Act
      const res = await call('complete', { body: '{"result":{"ok":true}}' });

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({ task_id: TASK_ID, status: 'SUCCEEDED', result: { ok: true } });
      expect(updateValues()).toEqual([expect.objectContaining({ ':next': 'SUCCEEDED', ':attempt': 2 })]);
      expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
        { QueueUrl: LOW_QUEUE_URL, ReceiptHandle: 'receipt-2' },
      ]);
    });

    it('reads a base64-encoded body', async () => {
      // Prepare
      const { lease_until: _lease, ...rest } = runningItem();
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...rest, status: 'SUCCEEDED', result: '7' }) });
      const body = Buffer.from('{"result":7}').toString('base64');

      // Act
      const res = await call('complete', { body, isBase64Encoded: true });

      // Assess
      expect(res.statusCode).toBe(200);
      expect(updateValues()).toEqual([expect.objectContaining({ ':result': '7' })]);
    });

    it('answers 400 InvalidJson to a body that is not UTF-8, and writes nothing', async () => {
      // Prepare
      const body = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('base64');

      // Act
      const res = await call('complete', { body, isBase64Encoded: true });

      // Assess
      expect(res.statusCode).toBe(400);
      expect(res.json.error.code).toBe('InvalidJson');
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });

    it('fails the task with ResultTooLarge for a completion over the limit, sent with a valid token', async () => {
      // Prepare: the limit is MAX_RESULT_BYTES plus the 64 KiB margin of an answer
      const { lease_until: _lease, ...rest } = runningItem();
      const failed = { ...rest, status: 'FAILED', error: { code: 'ResultTooLarge', message: 'too large' } };
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall(failed) });
      const body = JSON.stringify({ result: 'x'.repeat(200 + 65_536) });

      // Act
      const res = await call('complete', { body });

      // Assess
      expect(res.statusCode).toBe(200);
      expect(res.json).toMatchObject({ status: 'FAILED', error: { code: 'ResultTooLarge' } });
      expect(updateValues()).toEqual([
        expect.objectContaining({
          ':next': 'FAILED',
          ':error': expect.objectContaining({ code: 'ResultTooLarge' }),
        }),
      ]);
      // Visible at once: the consumer that receives it copies it to the DLQ.
      expect(
        sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout),
      ).toEqual([0]);
    });

    it('does not fail the task for a large completion sent with a wrong token', async () => {
      // Act
      const res = await call('complete', {
        body: JSON.stringify({ result: 'x'.repeat(70_000) }),
        headers: { authorization: 'Bearer not-the-token' },
      });

      // Assess
      expect(res.statusCode).toBe(401);
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });
  });

  describe('errors', () => {
    it.each([
      ['no Authorization header', {}],
      ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['a token nobody was given', { authorization: 'Bearer not-the-token' }],
    ])('answers 401 {error:{code:"Unauthorized",message}} to %s', async (_name, headers) => {
      // Act
      const res = await call('heartbeat', { headers });

      // Assess
      expect(res).toEqual({
        statusCode: 401,
        json: { error: { code: 'Unauthorized', message: expect.any(String) } },
      });
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    });

    it('answers 409 AttemptNotCurrent to the current token once the deadline has passed', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: marshall(runningItem({ lease_until: Date.now() - 60_000 })) });

      // Act
      const res = await call('complete', { body: '{"result":1}' });

      // Assess
      expect(res).toEqual({
        statusCode: 409,
        json: { error: { code: 'AttemptNotCurrent', message: expect.any(String) } },
      });
    });

    it('answers 400 ValidationError to a task id that is not a UUID', async () => {
      // Prepare
      const event = httpEvent('POST', '/tasks/nope/heartbeat', {
        headers: { authorization: `Bearer ${TOKEN}` },
        pathParameters: { id: 'nope' },
      });

      // Act
      const res = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;

      // Assess
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(String(res.body)).error.code).toBe('ValidationError');
    });
  });

  describe('the token in logs', () => {
    it('never appears in any log line, whatever the outcome', async () => {
      // Prepare: a completion logged as settled, a message error, a 401, a 409 and a dependency failure
      const { lease_until: _lease, ...rest } = runningItem();
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...rest, status: 'SUCCEEDED', result: '1' }) });
      sqs.on(DeleteMessageCommand).rejects(new Error('ReceiptHandleIsInvalid'));

      // Act
      await call('complete', { body: '{"result":1}' });
      await call('heartbeat', { headers: { authorization: `Bearer ${TOKEN}x` } });
      ddb.on(GetItemCommand).resolves({ Item: marshall({ ...rest, status: 'SUCCEEDED', result: '1' }) });
      await call('heartbeat');
      ddb.on(GetItemCommand).rejects(new Error('DynamoDB is down'));
      const failure = await call('heartbeat');

      // Assess
      expect(failure.statusCode).toBe(500);
      const text = logs.join('');
      expect(text).toContain('async attempt ended SUCCEEDED');
      expect(text).toContain('message not moved');
      expect(text).toContain('DynamoDB is down');
      expect(text).not.toContain(TOKEN);
    });
  });
});
