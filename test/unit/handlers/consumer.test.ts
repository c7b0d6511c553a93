import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionOf } from '../../../lambda/adapters/dynamodb-condition';
import type { TaskEnvelope } from '../../../lambda/core/task';
import { TRANSITIONS } from '../../../lambda/core/transitions';
import { context, sqsRecord } from '../support/events';

const AGENT_FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:agent-fn';

// The handler reads its configuration at module load, so set it before requiring the handler. Its logs go to
// the stdout spy of each test.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'INFO';
process.env.TASK_TABLE_NAME = 'tasks';
process.env.RESULT_BUCKET_NAME = 'results';
process.env.QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high';
process.env.DEAD_LETTER_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high-dlq';
process.env.AGENTS = JSON.stringify({
  echo: { kind: 'http', url: 'https://agent.example/echo', timeoutSeconds: 5 },
  'lambda-agent': { kind: 'lambda', functionArn: AGENT_FUNCTION_ARN, timeoutSeconds: 5 },
});
process.env.MAX_RECEIVE_COUNT = '3';
process.env.LEASE_SECONDS = '90';
process.env.BACKOFF_BASE_SECONDS = '4';
process.env.BACKOFF_CAP_SECONDS = '60';
process.env.MAX_RESULT_BYTES = '200';
process.env.TASK_RETENTION_SECONDS = '600';
process.env.CALLBACK_BASE_URL = 'https://api.example.com';
process.env.LIMITS_TABLE_NAME = 'limits';
process.env.TENANT_MAX_CONCURRENCY = '0';
process.env.LIMIT_WAKE_UP_SECONDS = '5';
const { handler } =
  require('../../../lambda/handlers/consumer') as typeof import('../../../lambda/handlers/consumer');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);

/** An ISO 8601 UTC time as Date#toISOString writes it. */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The condition of every completion write (the settle rules of transitions.ts): the attempt still holds its claim. */
const SETTLE_CONDITION = conditionOf(TRANSITIONS.succeed, { nowMs: 0, attempt: 1 }).ConditionExpression;

const TASK_A = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TASK_B = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

function envelope(taskId: string, overrides: Partial<TaskEnvelope> = {}): string {
  return JSON.stringify({
    schema_version: 1,
    task_id: taskId,
    enqueue_id: `enqueue-${taskId.slice(0, 4)}`,
    type: 'echo',
    priority: 'high',
    payload: {},
    created_at: '2026-01-01T00:00:00.000Z',
    request_hash: 'hash',
    ...overrides,
  });
}

async function consume(...records: SQSRecord[]): Promise<SQSBatchResponse> {
  return (await handler({ Records: records } as SQSEvent, context)) as SQSBatchResponse;
}

function updates(kind: 'claim' | 'settle') {
  return ddb
    .commandCalls(UpdateItemCommand)
    .map((call) => call.args[0].input)
    .filter((input) => (input.ConditionExpression === SETTLE_CONDITION) === (kind === 'settle'));
}

/** The settle write for one task, with its values unmarshalled. */
function settleOf(taskId: string) {
  const input = updates('settle').find((u) => unmarshall(u.Key!).task_id === taskId);
  return input && { ...input, values: unmarshall(input.ExpressionAttributeValues!) };
}

function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(item && { Item: marshall(item) }),
  });
}

/** An HTTP agent that answers each task according to its payload: `{ status, body }` or an echo. */
function httpAgent() {
  return jest.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
    const request = JSON.parse(String(init?.body)) as { payload: { status?: number; body?: string } };
    const { status = 200, body } = request.payload;
    return new Response(body ?? JSON.stringify({ echo: request.payload }), { status });
  });
}

describe('Handler: consumer', () => {
  let stdout: jest.SpyInstance;
  /** Every line the handler wrote, parsed. */
  const written = () =>
    stdout.mock.calls
      .map(([text]) => String(text))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeEach(() => {
    // The handlers write their log and EMF metric lines to stdout; keep the test output readable.
    stdout = jest.spyOn(process.stdout, 'write').mockReturnValue(true);
    ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ attempts: 1 }) });
    ddb.on(UpdateItemCommand, { ConditionExpression: SETTLE_CONDITION }).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    sqs.reset();
    lambda.reset();
    jest.restoreAllMocks();
  });

  it('claims with a conditional write, calls the HTTP agent, stores the result and acks the message', async () => {
    // Prepare
    const fetchMock = httpAgent();

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A, { payload: { text: 'hi' } })));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });

    const [claim, ...otherClaims] = updates('claim');
    expect(otherClaims).toEqual([]);
    expect(claim).toMatchObject({
      TableName: 'tasks',
      Key: marshall({ task_id: TASK_A }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    // The claim rule of transitions.ts; what it allows is the task store contract's (test/support).
    expect(claim!.ConditionExpression).toBe(
      conditionOf(TRANSITIONS.claim, { nowMs: 0, enqueueId: 'e' }).ConditionExpression,
    );
    expect(claim!.UpdateExpression).toContain('attempts = if_not_exists(attempts, :zero) + :one');
    const claimValues = unmarshall(claim!.ExpressionAttributeValues!);
    expect([claimValues[':queued'], claimValues[':retrying']]).toEqual(['QUEUED', 'RETRYING']);
    expect(claimValues[':eid']).toBe(`enqueue-${TASK_A.slice(0, 4)}`);
    expect(claimValues[':lease'] - claimValues[':nowMs']).toBe(90_000);

    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('https://agent.example/echo');
    expect(init).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': TASK_A },
    });
    expect(JSON.parse(String(init!.body))).toEqual({
      task_id: TASK_A,
      type: 'echo',
      payload: { text: 'hi' },
      attempt: 1,
      deadline: expect.stringMatching(ISO_TIME),
    });

    const settle = settleOf(TASK_A)!;
    expect(settle.values).toMatchObject({
      ':running': 'RUNNING',
      ':attempt': 1,
      ':next': 'SUCCEEDED',
      ':result': JSON.stringify({ echo: { text: 'hi' } }),
    });
    expect(settle.UpdateExpression).toContain('REMOVE lease_until');
    expect(sqs.calls()).toHaveLength(0);
  });

  it('logs a batch of tasks that succeed as one `task succeeded` line each, claim fields folded in, and one EMF line, in one write', async () => {
    // Prepare
    httpAgent();

    // Act
    await consume(sqsRecord('a', envelope(TASK_A)), sqsRecord('b', envelope(TASK_B)));

    // Assess
    expect(stdout).toHaveBeenCalledTimes(1);
    const lines = written();
    const taskLines = lines.filter((l) => l.message !== undefined);
    expect(taskLines.map((l) => [l.level, l.message, l.task_id]).sort()).toEqual([
      ['INFO', 'task succeeded', TASK_A],
      ['INFO', 'task succeeded', TASK_B],
    ]);
    for (const line of taskLines) {
      expect(line).toEqual({
        level: 'INFO',
        message: 'task succeeded',
        timestamp: expect.stringMatching(ISO_TIME),
        task_id: line.task_id,
        type: 'echo',
        priority: 'high',
        attempt: 1,
        queue_wait_ms: expect.any(Number),
        agent_ms: expect.any(Number),
        end_to_end_ms: expect.any(Number),
      });
    }
    const metrics = lines.filter((l) => '_aws' in l);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ Tier: 'high', TaskType: 'echo', TasksSucceeded: 2 });
    expect(metrics[0]!.QueueWait).toHaveLength(2);
  });

  it('logs at INFO the claim of a delivery that threw before its outcome was written, then the failure', async () => {
    // Prepare: the claim succeeds, the agent answers, the result write fails with no answer to classify
    httpAgent();
    ddb.on(UpdateItemCommand, { ConditionExpression: SETTLE_CONDITION }).rejects(new Error('socket hang up'));

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A)));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    const logLines = written().filter((l) => l.message !== undefined);
    expect(logLines.map((l) => [l.level, l.message])).toEqual([
      ['INFO', 'task claimed'],
      ['ERROR', 'delivery failed; it will be retried'],
    ]);
    expect(logLines[0]).toMatchObject({ task_id: TASK_A, attempt: 1, queue_wait_ms: expect.any(Number) });
  });

  it('reports only the failed record of a batch, and backs its message off with ChangeMessageVisibility', async () => {
    // Prepare
    httpAgent();
    jest.spyOn(Math, 'random').mockReturnValue(0.99);

    // Act
    const response = await consume(
      sqsRecord('a', envelope(TASK_A)),
      sqsRecord('b', envelope(TASK_B, { payload: { status: 503, body: 'busy' } })),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
    expect(settleOf(TASK_A)!.values[':next']).toBe('SUCCEEDED');
    expect(settleOf(TASK_B)!.values).toMatchObject({
      ':next': 'RETRYING',
      ':error': { code: 'AgentHttp503', message: 'the agent answered 503: busy' },
    });
    const visibility = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    // attempt 1 backs off within [0, BACKOFF_BASE_SECONDS]; a draw of 0.99 picks the top
    expect(visibility).toEqual([
      { QueueUrl: process.env.QUEUE_URL, ReceiptHandle: 'receipt-b', VisibilityTimeout: 4 },
    ]);
  });

  it.each([
    ['unreachable', new TypeError('fetch failed'), 'AgentUnreachable'],
    [
      'too slow',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'AgentTimeout',
    ],
  ])('retries a task whose agent is %s', async (_name, failure, code) => {
    // Prepare
    jest.spyOn(globalThis, 'fetch').mockRejectedValue(failure);

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A)));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(settleOf(TASK_A)!.values).toMatchObject({ ':next': 'RETRYING', ':error': { code } });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
  });

  it('delays the retry of a timed-out task by at least the agent timeout, so a late agent can finish first', async () => {
    // Prepare
    jest
      .spyOn(globalThis, 'fetch')
      .mockRejectedValue(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));

    // Act
    await consume(sqsRecord('a', envelope(TASK_A)));

    // Assess: the echo agent's timeout is 5 s; the backoff alone is at most BACKOFF_BASE_SECONDS (4)
    const [visibility] = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    expect(visibility!.VisibilityTimeout).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ['breaks off', new TypeError('terminated'), 'AgentUnreachable'],
    [
      'stalls past the timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'AgentTimeout',
    ],
  ])('retries a task whose agent answered 200 but whose body %s', async (_name, failure, code) => {
    // Prepare
    jest.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(
        new ReadableStream({
          start(controller) {
            controller.error(failure);
          },
        }),
        { status: 200 },
      ),
    );

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A)));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(settleOf(TASK_A)!.values).toMatchObject({ ':next': 'RETRYING', ':error': { code } });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
  });

  it('fails the task on its last delivery and makes the message visible at once for the redrive', async () => {
    // Prepare
    httpAgent();
    ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ attempts: 3 }) });
    ddb.on(UpdateItemCommand, { ConditionExpression: SETTLE_CONDITION }).resolves({});

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A, { payload: { status: 503 } }), 3));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    const settle = settleOf(TASK_A)!;
    expect(settle.values).toMatchObject({
      ':next': 'FAILED',
      ':attempt': 3,
      ':error': { code: 'AgentHttp503' },
    });
    expect(settle.values[':expires_at']).toBeGreaterThan(Date.now() / 1000);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: process.env.QUEUE_URL, ReceiptHandle: 'receipt-a', VisibilityTimeout: 0 },
    ]);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('puts a permanently failed task on the DLQ, marks it FAILED and acks it', async () => {
    // Prepare
    httpAgent();
    const body = envelope(TASK_A, { payload: { status: 400, body: 'bad input' } });

    // Act
    const response = await consume(sqsRecord('a', body));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      {
        QueueUrl: process.env.DEAD_LETTER_QUEUE_URL,
        MessageBody: body,
        MessageAttributes: {
          error_code: { DataType: 'String', StringValue: 'AgentHttp400' },
          error_message: { DataType: 'String', StringValue: 'the agent answered 400: bad input' },
          task_id: { DataType: 'String', StringValue: TASK_A },
        },
      },
    ]);
    expect(settleOf(TASK_A)!.values).toMatchObject({ ':next': 'FAILED', ':error': { code: 'AgentHttp400' } });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('leaves a permanently failed message on the queue when the DLQ rejects it', async () => {
    // Prepare
    httpAgent();
    sqs.on(SendMessageCommand).rejects(new Error('DLQ unavailable'));

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A, { payload: { status: 400 } })));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(settleOf(TASK_A)).toBeUndefined();
  });

  it('fails a task whose result is over MAX_RESULT_BYTES with ResultTooLarge, and stores no result', async () => {
    // Prepare
    httpAgent();

    // Act
    const response = await consume(
      sqsRecord('a', envelope(TASK_A, { payload: { body: JSON.stringify('x'.repeat(300)) } })),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const settle = settleOf(TASK_A)!;
    expect(settle.values).toMatchObject({ ':next': 'FAILED', ':error': { code: 'ResultTooLarge' } });
    expect(settle.values).not.toHaveProperty(':result');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('retries the message when the claim fails without returning the current item', async () => {
    // Prepare
    const fetchMock = httpAgent();
    ddb.on(UpdateItemCommand).rejects(conditionFailed());

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A)));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('retries the message without calling the agent when the task table is down', async () => {
    // Prepare
    const fetchMock = httpAgent();
    ddb.on(UpdateItemCommand).rejects(new Error('ServiceUnavailable'));

    // Act
    const response = await consume(sqsRecord('a', envelope(TASK_A)), sqsRecord('b', 'not json'));

    // Assess: the poison message in the same batch is still dead-lettered and acked
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('dead-letters a malformed message and acks it without touching the table', async () => {
    // Act
    const response = await consume(sqsRecord('a', '{"hello":'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      {
        QueueUrl: process.env.DEAD_LETTER_QUEUE_URL,
        MessageBody: '{"hello":',
        MessageAttributes: {
          error_code: { DataType: 'String', StringValue: 'MalformedMessage' },
          error_message: { DataType: 'String', StringValue: 'the message body is not JSON' },
        },
      },
    ]);
    expect(ddb.calls()).toHaveLength(0);
  });

  describe('Lambda agents', () => {
    const payloadOf = (value: unknown) =>
      Buffer.from(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

    it('invokes the configured function with the agent protocol body and stores its answer', async () => {
      // Prepare
      lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payloadOf({ answer: 42 }) });

      // Act
      const response = await consume(
        sqsRecord('a', envelope(TASK_A, { type: 'lambda-agent', payload: { q: 1 } })),
      );

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      const invoke = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
      expect(invoke.FunctionName).toBe(AGENT_FUNCTION_ARN);
      expect(JSON.parse(Buffer.from(invoke.Payload as Uint8Array).toString('utf8'))).toEqual({
        task_id: TASK_A,
        type: 'lambda-agent',
        payload: { q: 1 },
        attempt: 1,
        deadline: expect.stringMatching(ISO_TIME),
      });
      expect(settleOf(TASK_A)!.values).toMatchObject({ ':next': 'SUCCEEDED', ':result': '{"answer":42}' });
    });

    it('treats a PermanentError from the function as permanent: DLQ, FAILED, ack', async () => {
      // Prepare
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: payloadOf({ errorType: 'PermanentError', errorMessage: 'cannot summarise an empty text' }),
      });

      // Act
      const response = await consume(sqsRecord('a', envelope(TASK_A, { type: 'lambda-agent' })));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(settleOf(TASK_A)!.values).toMatchObject({
        ':next': 'FAILED',
        ':error': { code: 'PermanentError', message: 'cannot summarise an empty text' },
      });
      expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.QueueUrl).toBe(
        process.env.DEAD_LETTER_QUEUE_URL,
      );
    });

    it('treats any other function error as transient', async () => {
      // Prepare
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: payloadOf({ errorType: 'TypeError', errorMessage: 'x is undefined' }),
      });

      // Act
      const response = await consume(sqsRecord('a', envelope(TASK_A, { type: 'lambda-agent' })));

      // Assess
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
      expect(settleOf(TASK_A)!.values).toMatchObject({
        ':next': 'RETRYING',
        ':error': { code: 'TypeError' },
      });
      expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    });

    it('treats a failed invocation as transient', async () => {
      // Prepare
      lambda.on(InvokeCommand).rejects(new Error('TooManyRequestsException'));

      // Act
      const response = await consume(sqsRecord('a', envelope(TASK_A, { type: 'lambda-agent' })));

      // Assess
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
      expect(settleOf(TASK_A)!.values).toMatchObject({
        ':next': 'RETRYING',
        ':error': { code: 'AgentInvokeFailed' },
      });
    });
  });
});
