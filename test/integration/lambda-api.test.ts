/**
 * Lambda agents on the laptop (issue 14 §3): the local Lambda API on the runtime's public AWS endpoint, reached
 * with @aws-sdk/client-lambda as the consumers reach their Lambda agents, and through the consumer's own adapter.
 * Boots the fixture of support/lambda-api-host.ts (fauxqs behind the front, the functions' proxy, the functions,
 * the Lambda API) in a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ConfiguredAgents } from '../../lambda/adapters/agents';
import { destinationCompletion } from '../../lambda/core/destination-record';
import { TaskErrorCode } from '../../lambda/core/error-codes';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..', '..');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Host {
  readonly endpoint: string;
  readonly agentArn: string;
  readonly queues: { readonly succeeded: string; readonly failed: string };
  readonly notEmulated: readonly string[];
}

let child: ChildProcess;
let host: Host;
let lambda: LambdaClient;
let sqs: SQSClient;
let output = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/support/lambda-api-host.ts', '0'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  host = await new Promise<Host>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the host exited with ${code}:\n${output}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) resolve(JSON.parse(line.slice('ready '.length)));
    });
  });
  lambda = new LambdaClient({ region: 'us-east-1', endpoint: host.endpoint, credentials, maxAttempts: 1 });
  sqs = new SQSClient({ region: 'us-east-1', endpoint: host.endpoint, credentials });
});

afterAll(async () => {
  lambda?.destroy();
  sqs?.destroy();
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
  }
});

const text = (payload: Uint8Array | undefined) => Buffer.from(payload ?? new Uint8Array()).toString('utf8');

function invoke(functionName: string, event: unknown, type?: 'Event' | 'DryRun') {
  return lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: Buffer.from(JSON.stringify(event)),
      ...(type && { InvocationType: type }),
    }),
  );
}

/** Waits for the one record on a destination queue whose request payload has this key, and deletes it. */
async function recordOf(queueUrl: string, key: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of out.Messages ?? ([] as Message[])) {
      const record = JSON.parse(message.Body!) as { requestPayload?: { key?: string } };
      if (record.requestPayload?.key !== key) continue;
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      return record as Record<string, unknown>;
    }
  }
  throw new Error(`no record for ${key} on ${queueUrl}:\n${output.slice(-3000)}`);
}

describe('Local Lambda API: RequestResponse', () => {
  it("answers the function's JSON result, by name and by ARN", async () => {
    for (const name of ['LambdaApi-Agent', host.agentArn, `${host.agentArn}:$LATEST`]) {
      const out = await invoke(name, { hello: 'world' });
      expect(out.StatusCode).toBe(200);
      expect(out.FunctionError).toBeUndefined();
      expect(out.ExecutedVersion).toBe('$LATEST');
      expect(JSON.parse(text(out.Payload))).toEqual({ echoed: { hello: 'world' } });
    }
  });

  it('answers a thrown error as Lambda shapes it: 200, Unhandled, errorType, errorMessage, trace', async () => {
    const out = await invoke('LambdaApi-Agent', { throw: 'Error', message: 'it broke' });
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = JSON.parse(text(out.Payload));
    expect(Object.keys(body)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(body).toMatchObject({ errorType: 'Error', errorMessage: 'it broke' });
    expect(body.trace[0]).toBe('Error: it broke');
  });

  it("reports a PermanentError that the consumer's adapter classifies as permanent", async () => {
    const out = await invoke('LambdaApi-Agent', { throw: 'PermanentError' });
    expect(out.FunctionError).toBe('Unhandled');
    expect(JSON.parse(text(out.Payload))).toMatchObject({ errorType: 'PermanentError' });

    // The consumer's own adapter, finding the local Lambda API as the consumers do (its client is made on first use).
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_LAMBDA: host.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const agents = new ConfiguredAgents({
      perm: { kind: 'lambda', functionArn: host.agentArn, timeoutSeconds: 10 },
    });
    const outcome = await agents.invoke(
      {
        task_id: 't-perm',
        type: 'perm',
        payload: { throw: 'PermanentError' },
        attempt: 1,
        deadline: new Date(Date.now() + 10_000).toISOString(),
      },
      { maxAnswerBytes: 1024 * 1024 },
    );
    expect(outcome).toMatchObject({ kind: 'permanent', error: { code: TaskErrorCode.PermanentError } });
  });

  it('ends a function at its Timeout and reports Sandbox.Timedout as Lambda does', async () => {
    const started = Date.now();
    const out = await invoke('LambdaApi-Sleeper', {});
    expect(Date.now() - started).toBeLessThan(5000);
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(JSON.parse(text(out.Payload))).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(
        /^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/,
      ),
    });
  });

  it("lets a function invoke another through its AWS_ENDPOINT_URL_LAMBDA (the functions' proxy)", async () => {
    const out = await invoke('LambdaApi-Caller', { via: 'proxy' });
    expect(JSON.parse(text(out.Payload))).toEqual({
      statusCode: 200,
      functionError: null,
      payload: { echoed: { via: 'proxy' } },
    });
  });

  it('answers 404 ResourceNotFoundException for a function outside the app, naming --agent', async () => {
    const error = await invoke('not-in-this-app', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
    expect((error as Error).message).toMatch(
      /^Function not found: arn:aws:lambda:us-east-1:000000000000:function:not-in-this-app:\$LATEST\. .*--agent TYPE=URL/,
    );
  });

  it('answers DryRun 204', async () => {
    expect((await invoke('LambdaApi-Agent', {}, 'DryRun')).StatusCode).toBe(204);
  });
});

describe('Local Lambda API: Event, with the event invoke config and its destinations', () => {
  it('answers 202 at once and sends a Success record to the on-success queue after a retry', async () => {
    const out = await invoke('LambdaApi-Agent', { failTimes: 1, key: 'succeeds-second' }, 'Event');
    expect(out.StatusCode).toBe(202);
    const requestId = out.$metadata.requestId;

    const record = await recordOf(host.queues.succeeded, 'succeeds-second');
    expect(Object.keys(record)).toEqual([
      'version',
      'timestamp',
      'requestContext',
      'requestPayload',
      'responseContext',
      'responsePayload',
    ]);
    expect(record).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      requestContext: {
        requestId,
        functionArn: `${host.agentArn}:$LATEST`,
        condition: 'Success',
        approximateInvokeCount: 2,
      },
      requestPayload: { failTimes: 1, key: 'succeeds-second' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { key: 'succeeds-second', attempts: 2 },
    });
    // The completion function reads it as the agent's result.
    expect(destinationCompletion(record)).toEqual({
      kind: 'result',
      result: { key: 'succeeds-second', attempts: 2 },
    });
  });

  it('retries a failing event twice, then sends a RetriesExhausted record to the on-failure queue', async () => {
    const out = await invoke('LambdaApi-Agent', { failTimes: 99, key: 'always-fails' }, 'Event');
    expect(out.StatusCode).toBe(202);

    const record = await recordOf(host.queues.failed, 'always-fails');
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        requestId: out.$metadata.requestId,
        functionArn: `${host.agentArn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'attempt 3 of always-fails fails' },
    });
    expect(destinationCompletion(record)).toMatchObject({ kind: 'error', retryable: true });
  });

  it('sends a timed-out event (no retries in its config) to the on-failure queue as Sandbox.Timedout', async () => {
    await invoke('LambdaApi-Sleeper', { key: 'sleeps' }, 'Event');
    const record = await recordOf(host.queues.failed, 'sleeps');
    expect(record).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 1 },
      responsePayload: { errorType: 'Sandbox.Timedout' },
    });
    expect(destinationCompletion(record)).toMatchObject({
      kind: 'error',
      error: { code: TaskErrorCode.AgentTimeout },
    });
  });

  it('lists the destinations it cannot send to as not emulated', () => {
    expect(host.notEmulated).toEqual([
      expect.stringMatching(/^SleeperEventInvokeConfig \(OnSuccess destination arn:aws:events:/),
    ]);
  });
});

describe('Local Lambda API: only this machine', () => {
  it('refuses a web page (Origin header) and a foreign Host, on Lambda routes and fauxqs routes alike', async () => {
    const invokeUrl = `${host.endpoint}/2015-03-31/functions/LambdaApi-Agent/invocations`;
    const fromPage = await fetch(invokeUrl, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: JSON.stringify({ failTimes: 0, key: 'from-page' }),
    });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.text()).toContain('web pages');

    const toFauxqs = await fetch(`${host.endpoint}/`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListQueues',
    });
    expect(toFauxqs.status).toBe(403);

    // A DNS-rebinding page's own host name.
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(invokeUrl);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { host: 'evil.example' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(rebound).toBe(403);

    // The same request without an Origin runs: the refusal was the Origin's doing.
    const local = await fetch(invokeUrl, { method: 'POST', body: '{"plain":true}' });
    expect(local.status).toBe(200);
    expect(await local.json()).toEqual({ echoed: { plain: true } });
  });
});
