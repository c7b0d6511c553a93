/**
 * The agent adapter against real sockets: a node:http server stands for an HTTP agent, and for the Lambda
 * Invoke endpoint (the SDK finds it through AWS_ENDPOINT_URL_LAMBDA), so that streaming, aborts and the SDK's
 * own retries run as they do in a consumer.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type AgentTarget, ConfiguredAgents } from '../../../lambda/adapters/agents';
import type { AgentRequest } from '../../../lambda/core/ports';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** One server for the file; each test sets what it answers, and reads what it got. */
let handler: Handler = (_req, res) => res.end('{}');
const received: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The Lambda client is made on first use and finds its endpoint and credentials here.
  process.env.AWS_ENDPOINT_URL_LAMBDA = baseUrl;
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

afterEach(() => {
  received.length = 0;
  handler = (_req, res) => res.end('{}');
});

const MB = 1024 * 1024;
const limits = { maxAnswerBytes: 300_000 };

function request(timeoutMs = 5_000): AgentRequest {
  return {
    task_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    type: 'work',
    payload: { text: 'hello' },
    attempt: 2,
    deadline: new Date(Date.now() + timeoutMs).toISOString(),
  };
}

function agents(target: Partial<AgentTarget> & { kind: AgentTarget['kind'] }): ConfiguredAgents {
  const full =
    target.kind === 'http'
      ? { url: `${baseUrl}/work`, timeoutSeconds: 5, ...target }
      : {
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:agent-fn',
          timeoutSeconds: 5,
          ...target,
        };
  return new ConfiguredAgents({ work: full as AgentTarget });
}

/**
 * Answers `total` bytes of JSON string in 64 KiB chunks, with backpressure, and records whether the whole body
 * was written before the client went away.
 */
function streamLargeAnswer(total: number, status = 200, contentLength = false) {
  const seen = { finished: false, closed: false };
  handler = (_req, res) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(contentLength && { 'content-length': String(total) }),
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    res.on('close', () => {
      seen.closed = true;
    });
    const write = () => {
      while (sent < total && !res.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', write);
          return;
        }
      }
      if (sent >= total && !res.destroyed) {
        res.end(() => {
          seen.finished = true;
        });
      }
    };
    write();
  };
  return seen;
}

describe('Class: ConfiguredAgents (HTTP agents)', () => {
  it('posts the agent protocol body with the deadline, and the Idempotency-Key header', async () => {
    // Prepare
    const req = request();

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(req, limits);

    // Assess
    expect(outcome).toEqual({ kind: 'success', result: {} });
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toEqual({
      task_id: req.task_id,
      type: 'work',
      payload: { text: 'hello' },
      attempt: 2,
      deadline: req.deadline,
    });
    expect(received[0]!.headers['idempotency-key']).toBe(req.task_id);
  });

  it('keeps every digit of the numbers in a result', async () => {
    // Prepare
    const answer = '{"id":9007199254740993,"big":1e400,"price":1.50}';
    handler = (_req, res) => res.end(answer);

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome.kind).toBe('success');
    if (outcome.kind !== 'success') throw new Error('unreachable');
    expect(JSON.stringify(outcome.result)).toBe(answer);
  });

  it('stops reading a 50 MB answer at the limit and reports ResultTooLarge, without waiting for the rest', async () => {
    // Prepare
    const seen = streamLargeAnswer(50 * MB);

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome).toEqual({
      kind: 'permanent',
      error: {
        code: 'ResultTooLarge',
        message: "the agent's answer is over 300000 bytes; the consumer stopped reading it there",
      },
    });
    // The consumer hung up: the agent could not write its whole answer.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen.finished).toBe(false);
  });

  it('refuses an answer whose Content-Length is over the limit before reading its body', async () => {
    // Prepare
    const seen = streamLargeAnswer(50 * MB, 200, true);

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'permanent', error: { code: 'ResultTooLarge' } });
    expect(seen.finished).toBe(false);
  });

  it('reads an answer of exactly the limit', async () => {
    // Prepare: a JSON string of limit bytes, quotes included
    handler = (_req, res) => res.end(JSON.stringify('y'.repeat(limits.maxAnswerBytes - 2)));

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome.kind).toBe('success');
  });

  it('stops reading a compressed answer at the limit of what it unpacks to, whatever its Content-Length', async () => {
    // Prepare: 1 MB of gzip that unpacks to 50 MB, with its true (compressed) length declared
    const packed = gzipSync(Buffer.alloc(50 * MB, 'x'));
    handler = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(packed.length),
      });
      res.end(packed);
    };

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(packed.length).toBeLessThan(limits.maxAnswerBytes);
    expect(outcome).toMatchObject({ kind: 'permanent', error: { code: 'ResultTooLarge' } });
  });

  it('keeps only the start of a huge error answer, and stops reading it', async () => {
    // Prepare
    const seen = streamLargeAnswer(20 * MB, 500);

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentHttp500' } });
    if (outcome.kind === 'success' || outcome.kind === 'accepted') throw new Error('unreachable');
    expect(outcome.error.message.length).toBeLessThanOrEqual(1000);
    expect(outcome.error.message).toMatch(/^the agent answered 500: x+$/);
    expect(seen.finished).toBe(false);
  });

  it('reports AgentTimeout when no answer comes by the deadline', async () => {
    // Prepare: the agent never answers
    handler = () => {};

    // Act
    const outcome = await agents({ kind: 'http', timeoutSeconds: 1 }).invoke(request(200), limits);

    // Assess
    expect(outcome).toEqual({
      kind: 'transient',
      error: { code: 'AgentTimeout', message: 'the agent did not answer within 1 s' },
    });
  });

  it('reports AgentTimeout when the answer stalls after its headers past the deadline', async () => {
    // Prepare
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    };

    // Act
    const outcome = await agents({ kind: 'http', timeoutSeconds: 1 }).invoke(request(200), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentTimeout' } });
  });

  it('reports AgentTimeout when an answer of declared length stalls part-way past the deadline', async () => {
    // Prepare
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
    };

    // Act
    const outcome = await agents({ kind: 'http', timeoutSeconds: 1 }).invoke(request(200), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentTimeout' } });
  });
});

/** Answers an Invoke as Lambda does: a status, the function error header if any, and a JSON body. */
function lambdaAnswers(status: number, body: unknown, headers: Record<string, string> = {}) {
  handler = (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

describe('Class: ConfiguredAgents (Lambda agents)', () => {
  it('invokes the function once with the agent protocol payload, deadline included', async () => {
    // Prepare
    lambdaAnswers(200, { answer: 42 });
    const req = request();

    // Act
    const outcome = await agents({ kind: 'lambda' }).invoke(req, limits);

    // Assess
    expect(outcome).toEqual({ kind: 'success', result: { answer: 42 } });
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toMatch(
      /^\/2015-03-31\/functions\/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aagent-fn\/invocations/,
    );
    expect(JSON.parse(received[0]!.body)).toEqual({ ...req });
  });

  it.each([
    [
      'Sandbox.Timedout',
      {
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: 5e2a Error: Task timed out after 5.00 seconds',
      },
    ],
    [
      'the older shape without errorType',
      { errorMessage: '2024-04-01T00:00:00Z 5e2a Task timed out after 5.00 seconds' },
    ],
  ])(
    'reports a function that timed out (%s) as AgentTimeout, not as a function error',
    async (_name, body) => {
      // Prepare
      lambdaAnswers(200, body, { 'x-amz-function-error': 'Unhandled' });

      // Act
      const outcome = await agents({ kind: 'lambda' }).invoke(request(), limits);

      // Assess
      expect(outcome).toEqual({
        kind: 'transient',
        error: { code: 'AgentTimeout', message: `the agent timed out: ${body.errorMessage}` },
      });
    },
  );

  it('reports AgentTimeout, not AgentInvokeFailed, when the consumer stops waiting at the deadline', async () => {
    // Prepare: the function runs past the deadline
    handler = () => {};

    // Act
    const outcome = await agents({ kind: 'lambda', timeoutSeconds: 1 }).invoke(request(200), limits);

    // Assess
    expect(outcome).toEqual({
      kind: 'transient',
      error: { code: 'AgentTimeout', message: 'the agent did not answer within 1 s' },
    });
  });

  it.each([
    [
      429,
      'TooManyRequestsException',
      { Type: 'User', message: 'Rate Exceeded.', Reason: 'ConcurrentInvocationLimitExceeded' },
    ],
    [500, 'ServiceException', { Type: 'Service', Message: 'internal error' }],
    [502, 'ResourceNotReadyException', { Type: 'Service', Message: 'not ready' }],
  ])(
    'sends an Invoke answered %i (%s) once: the SDK does not retry it within the attempt',
    async (status, type, body) => {
      // Prepare
      lambdaAnswers(status, body, { 'x-amzn-errortype': type });

      // Act
      const outcome = await agents({ kind: 'lambda' }).invoke(request(), limits);

      // Assess
      expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentInvokeFailed' } });
      expect(received).toHaveLength(1);
    },
  );

  it('refuses a payload over the limit with ResultTooLarge', async () => {
    // Prepare
    lambdaAnswers(200, JSON.stringify('z'.repeat(limits.maxAnswerBytes)));

    // Act
    const outcome = await agents({ kind: 'lambda' }).invoke(request(), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'permanent', error: { code: 'ResultTooLarge' } });
  });

  it("classifies a function's PermanentError as permanent, with its message bounded", async () => {
    // Prepare
    lambdaAnswers(
      200,
      { errorType: 'PermanentError', errorMessage: 'e'.repeat(100_000) },
      { 'x-amz-function-error': 'Unhandled' },
    );

    // Act
    const outcome = await agents({ kind: 'lambda' }).invoke(request(), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'permanent', error: { code: 'PermanentError' } });
    if (outcome.kind === 'success' || outcome.kind === 'accepted') throw new Error('unreachable');
    expect(outcome.error.message).toHaveLength(1000);
  });
});

describe('Class: ConfiguredAgents (async agents)', () => {
  const callback = {
    url: 'https://api.example.com/tasks/0f8fad5b-d9cb-469f-a165-70867728950e',
    token: 't0k3n',
    heartbeat_seconds: 300,
  };
  const asyncRequest = (): AgentRequest => ({ ...request(), callback });

  it('takes an HTTP 202 as the hand-off, whatever its body, and sends the callback in the request', async () => {
    // Prepare
    handler = (_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"not":"a result"}');
    };

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(asyncRequest(), limits);

    // Assess
    expect(outcome).toEqual({ kind: 'accepted' });
    expect(JSON.parse(received[0]!.body)).toMatchObject({ callback });
  });

  it('takes an HTTP 200 from an async agent as its result, at once', async () => {
    // Prepare
    handler = (_req, res) => res.end('{"done":true}');

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(asyncRequest(), limits);

    // Assess
    expect(outcome).toEqual({ kind: 'success', result: { done: true } });
  });

  it('keeps a sync agent’s 202 a success with its body as the result', async () => {
    // Prepare
    handler = (_req, res) => {
      res.writeHead(202);
      res.end('{"queued":1}');
    };

    // Act
    const outcome = await agents({ kind: 'http' }).invoke(request(), limits);

    // Assess
    expect(outcome).toEqual({ kind: 'success', result: { queued: 1 } });
  });

  it('invokes an async Lambda agent with InvocationType Event and takes its 202 as the hand-off', async () => {
    // Prepare
    lambdaAnswers(202, '');

    // Act
    const outcome = await agents({ kind: 'lambda' }).invoke(asyncRequest(), limits);

    // Assess
    expect(outcome).toEqual({ kind: 'accepted' });
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['x-amz-invocation-type']).toBe('Event');
    expect(JSON.parse(received[0]!.body)).toMatchObject({ task_id: request().task_id, callback });
  });

  it('invokes a sync Lambda agent with the default RequestResponse', async () => {
    // Prepare
    lambdaAnswers(200, { answer: 1 });

    // Act
    await agents({ kind: 'lambda' }).invoke(request(), limits);

    // Assess
    expect(received[0]!.headers['x-amz-invocation-type']).toBeUndefined();
  });

  it('fails a refused Event invoke as AgentInvokeFailed, retried', async () => {
    // Prepare
    lambdaAnswers(
      429,
      { Type: 'User', message: 'Rate Exceeded.', Reason: 'ConcurrentInvocationLimitExceeded' },
      { 'x-amzn-errortype': 'TooManyRequestsException' },
    );

    // Act
    const outcome = await agents({ kind: 'lambda' }).invoke(asyncRequest(), limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentInvokeFailed' } });
  });
});
