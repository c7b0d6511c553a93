import {
  type ApiFunction,
  AsyncQueue,
  type AsyncQueueOptions,
  destinationRecord,
  eventInvokeConfigs,
  functionNotFound,
  invokeReply,
  type LambdaApi,
  lambdaApiSlot,
  parseFunctionName,
  parsePayload,
  qualifiedArn,
  recordMessage,
  startLambdaApi,
} from '../../../local/lambda-api';
import type { InvokeOptions, InvokeResult } from '../../../local/lambda-pool';
import { localContext } from './local-context';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Local-Agent';

describe('Function: parseFunctionName', () => {
  it.each([
    ['Local-Agent', undefined, { name: 'Local-Agent' }],
    ['Local-Agent:$LATEST', undefined, { name: 'Local-Agent', qualifier: '$LATEST' }],
    ['Local-Agent', '$LATEST', { name: 'Local-Agent', qualifier: '$LATEST' }],
    [ARN, undefined, { name: 'Local-Agent', region: 'us-east-1', accountId: '000000000000' }],
    [
      `${ARN}:$LATEST`,
      '$LATEST',
      { name: 'Local-Agent', region: 'us-east-1', accountId: '000000000000', qualifier: '$LATEST' },
    ],
    ['123456789012:function:other', undefined, { name: 'other', accountId: '123456789012' }],
    ['Local-Agent:live', undefined, { name: 'Local-Agent', qualifier: 'live' }],
  ])('reads %s (Qualifier %s)', (raw, qualifier, expected) => {
    expect(parseFunctionName(raw, qualifier)).toEqual(expected);
  });

  it('refuses a qualifier in the name that differs from the Qualifier parameter', () => {
    expect(parseFunctionName('Local-Agent:1', '$LATEST')).toEqual({
      error: expect.stringContaining('does not match the specified qualifier'),
    });
  });

  it.each(['', 'has space', 'arn:aws:sqs:us-east-1:000000000000:queue', 'a/b'])('refuses %j', (raw) => {
    expect(parseFunctionName(raw, undefined)).toEqual({ error: expect.stringContaining('functionName') });
  });

  it('names the function as Lambda does in errors: region, account, name and $LATEST', () => {
    expect(qualifiedArn({ name: 'x' }, 'us-east-1', '000000000000')).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:x:$LATEST',
    );
    expect(qualifiedArn({ name: 'x', accountId: '123456789012', qualifier: '2' }, 'eu-west-1', '0')).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:x:2',
    );
  });
});

describe('Function: invokeReply', () => {
  it("answers the function's result as JSON, 200, with the executed version and no function error", () => {
    const reply = invokeReply({ ok: true, result: { answer: 42 } }, 'req-1');
    expect(reply).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'x-amzn-requestid': 'req-1', 'x-amz-executed-version': '$LATEST' }),
      body: '{"answer":42}',
    });
    expect(reply.headers).not.toHaveProperty('x-amz-function-error');
  });

  it('answers a thrown error with 200, X-Amz-Function-Error: Unhandled and errorType, errorMessage, trace', () => {
    const reply = invokeReply(
      {
        ok: false,
        timedOut: false,
        error: { errorType: 'PermanentError', errorMessage: 'no', trace: ['PermanentError: no', '  at x'] },
      },
      'req-2',
    );
    expect(reply.status).toBe(200);
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
    expect(reply.body).toBe(
      '{"errorType":"PermanentError","errorMessage":"no","trace":["PermanentError: no","  at x"]}',
    );
  });

  it('answers a timeout as Lambda does: Sandbox.Timedout without a trace', () => {
    const error = {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: r Error: Task timed out after 1.00 seconds',
    };
    const reply = invokeReply({ ok: false, timedOut: true, error }, 'r');
    expect(JSON.parse(reply.body)).toEqual(error);
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
  });

  it('answers a result over 6 MB as Function.ResponseSizeTooLarge', () => {
    const reply = invokeReply({ ok: true, result: 'x'.repeat(6 * 1024 * 1024) }, 'r');
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
    expect(JSON.parse(reply.body)).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
  });
});

describe('Function: functionNotFound', () => {
  it('is a 404 ResourceNotFoundException naming the function and the --agent mapping', () => {
    const reply = functionNotFound(`${ARN}:$LATEST`);
    expect(reply.status).toBe(404);
    expect(reply.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    const body = JSON.parse(reply.body);
    expect(body.Type).toBe('User');
    expect(body.Message).toMatch(
      new RegExp(`^Function not found: ${ARN.replace(/[.$]/g, '\\$&')}:\\$LATEST`),
    );
    expect(body.Message).toContain('not part of');
    expect(body.Message).toContain('--agent TYPE=URL');
  });
});

describe('Function: parsePayload', () => {
  it('reads JSON, takes an empty payload as {}, and names what is not JSON', () => {
    expect(parsePayload(Buffer.from('[1,"a"]'))).toEqual({ event: [1, 'a'] });
    expect(parsePayload(Buffer.alloc(0))).toEqual({ event: {} });
    expect(parsePayload(Buffer.from('{oops'))).toEqual({
      error: expect.stringMatching(
        /^Could not parse request body into json: Could not parse payload into json/,
      ),
    });
  });
});

describe('Function: destinationRecord', () => {
  const base = {
    requestId: 'req-1',
    functionArn: ARN,
    requestPayload: { task_id: 't1' },
    timestamp: new Date('2026-01-02T03:04:05.678Z'),
  };

  it("writes a success as Lambda does: qualified ARN, no functionError, the function's result", () => {
    const record = destinationRecord({
      ...base,
      condition: 'Success',
      approximateInvokeCount: 1,
      outcome: { ok: true, result: { done: true } },
    });
    expect(JSON.stringify(record)).toBe(
      JSON.stringify({
        version: '1.0',
        timestamp: '2026-01-02T03:04:05.678Z',
        requestContext: {
          requestId: 'req-1',
          functionArn: `${ARN}:$LATEST`,
          condition: 'Success',
          approximateInvokeCount: 1,
        },
        requestPayload: { task_id: 't1' },
        responseContext: { statusCode: 200, executedVersion: '$LATEST' },
        responsePayload: { done: true },
      }),
    );
  });

  it('writes a failure with functionError Unhandled and the error as the response payload', () => {
    const record = destinationRecord({
      ...base,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      outcome: { ok: false, timedOut: false, error: { errorType: 'Error', errorMessage: 'boom', trace: [] } },
    });
    expect(record).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom', trace: [] },
    });
  });

  it('writes a result of undefined as null', () => {
    const record = destinationRecord({
      ...base,
      condition: 'Success',
      approximateInvokeCount: 1,
      outcome: { ok: true, result: undefined },
    });
    expect(record.responsePayload).toBeNull();
  });
});

describe('Function: recordMessage', () => {
  const record = {
    version: '1.0',
    requestPayload: { small: true },
    responsePayload: 'r'.repeat(2000),
  };

  it('keeps a record that fits whole', () => {
    expect(JSON.parse(recordMessage(record, 10_000))).toEqual(record);
  });

  it('leaves the response out of a record too large for its destination, then the request', () => {
    expect(JSON.parse(recordMessage(record, 1000))).toEqual({
      version: '1.0',
      requestPayload: { small: true },
    });
    expect(JSON.parse(recordMessage({ ...record, requestPayload: 'q'.repeat(2000) }, 1000))).toEqual({
      version: '1.0',
    });
  });
});

describe('Function: eventInvokeConfigs', () => {
  const fn = { Type: 'AWS::Lambda::Function', Properties: {} };

  it("reads each config by its function's name, with destinations resolved and Lambda's defaults", () => {
    const ctx = localContext({
      Agent: fn,
      Other: fn,
      Done: { Type: 'AWS::SQS::Queue' },
      Failed: { Type: 'AWS::SNS::Topic' },
      AgentConfig: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: {
          FunctionName: { Ref: 'Agent' },
          Qualifier: '$LATEST',
          MaximumRetryAttempts: 0,
          MaximumEventAgeInSeconds: 120,
          DestinationConfig: {
            OnSuccess: { Destination: { 'Fn::GetAtt': ['Done', 'Arn'] } },
            OnFailure: { Destination: { Ref: 'Failed' } },
          },
        },
      },
      OtherConfig: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: {
          FunctionName: { 'Fn::GetAtt': ['Other', 'Arn'] },
          Qualifier: '$LATEST',
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Agent', 'Arn'] } } },
        },
      },
    });
    const { configs, notEmulated } = eventInvokeConfigs(ctx);
    expect(Object.fromEntries(configs)).toEqual({
      'Local-Agent': {
        maximumRetryAttempts: 0,
        maximumEventAgeSeconds: 120,
        onSuccess: 'arn:aws:sqs:us-east-1:000000000000:Local-Done',
        onFailure: 'arn:aws:sns:us-east-1:000000000000:Local-Failed',
      },
      'Local-Other': {
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 21_600,
        onFailure: ARN,
      },
    });
    expect(notEmulated).toEqual([]);
  });

  it('lists EventBridge and S3 destinations, configs of a version or alias, and function DLQs as not emulated', () => {
    const ctx = localContext({
      Agent: { Type: 'AWS::Lambda::Function', Properties: { DeadLetterConfig: { TargetArn: 'arn:x' } } },
      ToBus: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: {
          FunctionName: { Ref: 'Agent' },
          Qualifier: '$LATEST',
          DestinationConfig: {
            OnSuccess: { Destination: 'arn:aws:events:us-east-1:000000000000:event-bus/default' },
            OnFailure: { Destination: 'arn:aws:s3:::bucket' },
          },
        },
      },
      OfAlias: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: { FunctionName: { Ref: 'Agent' }, Qualifier: 'live' },
      },
    });
    const { configs, notEmulated } = eventInvokeConfigs(ctx);
    expect(notEmulated).toEqual([
      expect.stringMatching(
        /^ToBus \(OnSuccess destination arn:aws:events:\S+: only SQS, SNS and Lambda destinations are emulated\)$/,
      ),
      expect.stringMatching(/^ToBus \(OnFailure destination arn:aws:s3:::bucket/),
      expect.stringMatching(/^OfAlias \(.*only \$LATEST/),
      expect.stringMatching(/^Agent \(DeadLetterConfig/),
    ]);
    // The config itself still applies: its retries and event age, with no destination.
    expect(configs.get('Local-Agent')).toEqual({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 });
  });
});

/** A function whose attempts answer from a script, recording each call. */
function scripted(
  name: string,
  outcomes: InvokeResult[],
): ApiFunction & { calls: Array<[unknown, InvokeOptions?]> } {
  const calls: Array<[unknown, InvokeOptions?]> = [];
  return {
    name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    calls,
    invoker: {
      invoke: async (event, options) => {
        calls.push([event, options]);
        return outcomes[Math.min(calls.length - 1, outcomes.length - 1)]!;
      },
    },
  };
}

const failure: InvokeResult = {
  ok: false,
  timedOut: false,
  error: { errorType: 'Error', errorMessage: 'boom' },
};

describe('Class: AsyncQueue', () => {
  const sent: Array<[string, Record<string, unknown>]> = [];
  const queue = (options: Partial<AsyncQueueOptions> = {}) =>
    new AsyncQueue({
      config: () => ({
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 60,
        onSuccess: 'ok-arn',
        onFailure: 'ko-arn',
      }),
      send: async (arn, record) => {
        sent.push([arn, record]);
      },
      retryDelaysSeconds: [0, 0],
      log: () => {},
      ...options,
    });
  beforeEach(() => {
    sent.length = 0;
  });

  it('retries a failing event, one request id for all attempts, and sends RetriesExhausted after 3 attempts', async () => {
    const fn = scripted('F', [failure]);
    await queue().enqueue(fn, { n: 1 }, 'req-1');
    expect(fn.calls).toEqual([
      [{ n: 1 }, { requestId: 'req-1' }],
      [{ n: 1 }, { requestId: 'req-1' }],
      [{ n: 1 }, { requestId: 'req-1' }],
    ]);
    expect(sent).toEqual([
      [
        'ko-arn',
        expect.objectContaining({
          requestContext: expect.objectContaining({
            condition: 'RetriesExhausted',
            approximateInvokeCount: 3,
          }),
          responsePayload: { errorType: 'Error', errorMessage: 'boom' },
        }),
      ],
    ]);
  });

  it('sends Success to the on-success destination, counting the attempts it took', async () => {
    const fn = scripted('F', [failure, { ok: true, result: 'done' }]);
    await queue().enqueue(fn, {}, 'req-2');
    expect(sent).toEqual([
      [
        'ok-arn',
        expect.objectContaining({
          requestContext: expect.objectContaining({ condition: 'Success', approximateInvokeCount: 2 }),
          responsePayload: 'done',
        }),
      ],
    ]);
  });

  it('makes one attempt with MaximumRetryAttempts 0, and sends nothing without a destination', async () => {
    const fn = scripted('F', [failure]);
    await queue({ config: () => ({ maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 }) }).enqueue(
      fn,
      {},
      'r',
    );
    expect(fn.calls).toHaveLength(1);
    expect(sent).toEqual([]);
  });

  it('waits the retry delays in order, the last one repeating', async () => {
    let clock = 0;
    const waits: number[] = [];
    const fn = scripted('F', [failure]);
    const q = queue({
      retryDelaysSeconds: [0.01, 0.02],
      now: () => clock,
      config: () => ({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 60 }),
    });
    const original = setTimeout;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((cb: () => void, ms: number) => {
      waits.push(ms);
      clock += ms;
      return original(cb, 0);
    }) as typeof setTimeout);
    try {
      await q.enqueue(fn, {}, 'r');
    } finally {
      spy.mockRestore();
    }
    expect(waits).toEqual([10, 20]);
  });

  it('sends EventAgeExceeded, with the last attempt, when the event is too old for its next attempt', async () => {
    let clock = 0;
    const fn = scripted('F', [failure]);
    const q = queue({
      now: () => clock,
      config: () => ({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 60, onFailure: 'ko-arn' }),
      send: async (arn, record) => {
        sent.push([arn, record]);
      },
    });
    const run = q.enqueue(
      {
        ...fn,
        invoker: {
          invoke: (e, o) => {
            clock += 61_000;
            return fn.invoker.invoke(e, o);
          },
        },
      },
      {},
      'r',
    );
    await run;
    expect(fn.calls).toHaveLength(1);
    expect(sent).toEqual([
      [
        'ko-arn',
        expect.objectContaining({
          requestContext: expect.objectContaining({
            condition: 'EventAgeExceeded',
            approximateInvokeCount: 1,
          }),
          responseContext: expect.objectContaining({ functionError: 'Unhandled' }),
        }),
      ],
    ]);
  });

  it('drops an event waiting for its retry when stopped', async () => {
    const fn = scripted('F', [failure]);
    const q = queue({ retryDelaysSeconds: [60] });
    const run = q.enqueue(fn, {}, 'r');
    await new Promise((r) => setImmediate(r));
    q.stop();
    await run;
    expect(fn.calls).toHaveLength(1);
    expect(sent).toEqual([]);
  });
});

describe('Function: startLambdaApi', () => {
  const ctx = localContext({
    Agent: { Type: 'AWS::Lambda::Function', Properties: {} },
    Completion: { Type: 'AWS::Lambda::Function', Properties: {} },
    AgentConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'Agent' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        DestinationConfig: {
          OnSuccess: { Destination: { 'Fn::GetAtt': ['Completion', 'Arn'] } },
          OnFailure: { Destination: { 'Fn::GetAtt': ['Completion', 'Arn'] } },
        },
      },
    },
  });
  let agent: ReturnType<typeof scripted>;
  let completion: ReturnType<typeof scripted>;
  let api: LambdaApi;
  const post = (name: string, body: string, headers: Record<string, string> = {}, query = '') =>
    api.handle({
      method: 'POST',
      url: `/2015-03-31/functions/${encodeURIComponent(name)}/invocations${query}`,
      headers,
      body: Buffer.from(body),
    });

  beforeEach(() => {
    agent = scripted('Local-Agent', [{ ok: true, result: { echoed: true } }]);
    completion = scripted('Local-Completion', [{ ok: true, result: null }]);
    const byName = new Map(
      [agent, completion].flatMap((f) => [
        [f.name, f],
        [f.arn, f],
      ]),
    );
    api = startLambdaApi({
      ctx,
      find: (nameOrArn) => byName.get(nameOrArn.replace(/:\$LATEST$/, '')),
      awsEndpoint: 'http://127.0.0.1:1',
      log: () => {},
    });
  });
  afterEach(() => api.stop());

  it.each([
    ['Local-Agent', ''],
    [ARN, ''],
    [`${ARN}:$LATEST`, ''],
    ['000000000000:function:Local-Agent', '?Qualifier=%24LATEST'],
  ])('invokes %s%s synchronously with the payload as the event', async (name, query) => {
    const reply = await post(name, '{"task_id":"t"}', {}, query);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ echoed: true });
    expect(agent.calls[0]![0]).toEqual({ task_id: 't' });
    expect(agent.calls[0]![1]).toEqual({ requestId: reply.headers['x-amzn-requestid'] });
  });

  it('answers 404 for a function outside the app, another account, or a version that does not run locally', async () => {
    for (const name of [
      'Nope',
      'arn:aws:lambda:us-east-1:123456789012:function:Local-Agent',
      'Local-Agent:3',
    ]) {
      const reply = await post(name, '{}');
      expect(reply.status).toBe(404);
      expect(reply.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    }
    expect(agent.calls).toEqual([]);
  });

  it('answers DryRun 204 without running the function', async () => {
    const reply = await post('Local-Agent', '{}', { 'x-amz-invocation-type': 'DryRun' });
    expect(reply).toMatchObject({ status: 204, body: '' });
    expect(agent.calls).toEqual([]);
  });

  it('answers Event 202 at once and sends the record to a Lambda destination as an Event invoke', async () => {
    const reply = await post('Local-Agent', '{"task_id":"t"}', { 'x-amz-invocation-type': 'Event' });
    expect(reply).toMatchObject({ status: 202, body: '' });
    for (let i = 0; i < 50 && completion.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(completion.calls[0]![0]).toMatchObject({
      version: '1.0',
      requestContext: {
        requestId: reply.headers['x-amzn-requestid'],
        functionArn: `${ARN}:$LATEST`,
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { task_id: 't' },
      responsePayload: { echoed: true },
    });
  });

  it('refuses payloads over 6 MB (sync) and 1 MB (Event) with 413, without running the function', async () => {
    const sync = await post('Local-Agent', JSON.stringify('x'.repeat(6 * 1024 * 1024)));
    const event = await post('Local-Agent', JSON.stringify('x'.repeat(1024 * 1024)), {
      'x-amz-invocation-type': 'Event',
    });
    expect([sync.status, event.status]).toEqual([413, 413]);
    expect(sync.headers['x-amzn-errortype']).toBe('RequestEntityTooLargeException');
    expect(JSON.parse(event.body).Message).toMatch(
      /too large for the Event invocation type \(limit 1048576 bytes\)/,
    );
    expect(agent.calls).toEqual([]);
  });

  it('answers 400 for a payload that is not JSON, an unknown invocation type, and 404 for another route', async () => {
    const notJson = await post('Local-Agent', '{');
    const badType = await post('Local-Agent', '{}', { 'x-amz-invocation-type': 'Later' });
    const other = await api.handle({
      method: 'GET',
      url: '/2015-03-31/functions/x',
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(notJson.status).toBe(400);
    expect(notJson.headers['x-amzn-errortype']).toBe('InvalidRequestContentException');
    expect(badType.status).toBe(400);
    expect(badType.headers['x-amzn-errortype']).toBe('InvalidParameterValueException');
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body).message).toContain('serves only Invoke');
  });
});

describe('Function: lambdaApiSlot', () => {
  it('answers 503 until a Lambda API is attached, then passes requests to it', async () => {
    const slot = lambdaApiSlot();
    const request = { method: 'POST', url: '/', headers: {}, body: Buffer.alloc(0) };
    expect((await slot.handle(request)).status).toBe(503);
    slot.attach({
      handle: async () => ({ status: 200, headers: {}, body: 'yes' }),
      notEmulated: [],
      pendingEvents: 0,
      stop: async () => {},
    });
    expect(await slot.handle(request)).toEqual({ status: 200, headers: {}, body: 'yes' });
  });
});
