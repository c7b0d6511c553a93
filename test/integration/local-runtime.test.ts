/**
 * The local runtime end to end: `taskq local --demo-agents` (`npm start`) with real emulators (fauxqs, DynamoDB Local), driven
 * over HTTP and the AWS SDK. The demo agents run in this process, so that the tests can count calls.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PRIORITIES, type TaskView } from '../../lambda/core/task';
import { isTerminal } from '../../lambda/core/transitions';
import { type AgentRequest, type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, peekMessage, type RunningRuntime } from './support/local-runtime';

// Booting the emulators and the JVM takes seconds; retries wait for their backoff.
jest.setTimeout(180_000);

/** Small, so that an always failing task reaches its DLQ in seconds. At least 3, for `flaky` with 2 failures. */
const MAX_RECEIVE_COUNT = 3;

/** What POST /tasks answers: a task summary, or an error. */
interface PostBody {
  task_id: string;
  status: string;
  type: string;
  priority: string;
  error: { code: string; message: string };
}

let agents: DemoAgents;
let runtime: RunningRuntime;
let sqs: SQSClient;
let persistDir: string;
/** Every request the demo agents received, by task id (the last one for a task). */
const agentRequests = new Map<string, AgentRequest>();

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as PostBody };
}

async function getTask(id: string): Promise<TaskView> {
  const response = await fetch(`${runtime.apiUrl}/tasks/${id}`);
  if (response.status !== 200) throw new Error(`GET /tasks/${id} answered ${response.status}`);
  return (await response.json()) as TaskView;
}

function finished(id: string, withinMs = 60_000): Promise<TaskView> {
  return eventually(
    async () => {
      const task = await getTask(id);
      return isTerminal(task.status) ? task : undefined;
    },
    `task ${id} finishing`,
    withinMs,
  );
}

/** Waits until no message is left on the queue: visible, in flight or delayed. */
function drained(queueUrl: string): Promise<true> {
  return eventually(async () => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    );
    const a = out.Attributes ?? {};
    const left =
      Number(a.ApproximateNumberOfMessages) +
      Number(a.ApproximateNumberOfMessagesNotVisible) +
      Number(a.ApproximateNumberOfMessagesDelayed);
    return left === 0 ? true : undefined;
  }, `${queueUrl} draining`);
}

const key = (name: string) => `${name}-${randomUUID()}`;

beforeAll(async () => {
  agents = await startDemoAgents({
    port: 0,
    beforeAnswer: async (request) => {
      agentRequests.set(String(request.task_id), request);
    },
  });
  persistDir = mkdtempSync(path.join(tmpdir(), 'taskq-local-'));
  runtime = await bootRuntime({ agentsUrl: agents.url, persistDir, maxReceiveCount: MAX_RECEIVE_COUNT });
  sqs = runtime.sqsClient();
});

afterAll(async () => {
  await runtime?.stop();
  sqs?.destroy();
  await agents?.close();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

describe('local runtime: happy path', () => {
  it.each(PRIORITIES)('runs an echo task in the %s tier to SUCCEEDED with its result', async (priority) => {
    const created = await post({ type: 'echo', payload: { hello: priority }, priority });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'QUEUED', type: 'echo', priority });
    expect(created.headers.get('location')).toBe(`/tasks/${created.body.task_id}`);

    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { echo: { hello: priority } } });
  });
});

describe('local runtime: tenants', () => {
  it("shows a task's tenant_id in GET and passes it to the agent", async () => {
    const created = await post({ type: 'echo', tenant_id: 'acme', payload: {} });
    expect(created.status).toBe(202);

    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', tenant_id: 'acme' });
    expect(agentRequests.get(created.body.task_id)?.tenant_id).toBe('acme');
  });

  it("dead-letters a failed tenant's task: the emulator takes the DLQ copy with its MessageGroupId", async () => {
    const created = await post({ type: 'poison', tenant_id: 'acme', payload: {}, priority: 'high' });
    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({ status: 'FAILED', tenant_id: 'acme', error: { code: 'AgentHttp422' } });

    const dead = await peekMessage(sqs, runtime.outputs.HighDeadLetterQueueUrl!, created.body.task_id);
    expect(JSON.parse(dead.Body!)).toMatchObject({ task_id: created.body.task_id, tenant_id: 'acme' });
  });

  it('leaves tenant_id out of GET and of the agent request for a task without one', async () => {
    const created = await post({ type: 'echo', payload: {} });

    const task = await finished(created.body.task_id);
    expect(task.status).toBe('SUCCEEDED');
    expect(task).not.toHaveProperty('tenant_id');
    expect(agentRequests.get(created.body.task_id)).not.toHaveProperty('tenant_id');
  });
});

describe('local runtime: idempotency', () => {
  it('gives one task and one agent call for the same key twice', async () => {
    const before = agents.calls('echo');
    const body = { type: 'echo', payload: { n: 1 }, idempotency_key: key('twice') };
    const first = await post(body);
    const second = await post(body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.task_id).toBe(first.body.task_id);

    expect((await finished(first.body.task_id)).status).toBe('SUCCEEDED');
    await drained(runtime.outputs.LowQueueUrl!);
    expect(agents.calls('echo') - before).toBe(1);
  });

  it('gives one task for 50 concurrent posts with one key', async () => {
    const before = agents.calls('echo');
    const body = { type: 'echo', payload: { n: 50 }, priority: 'high', idempotency_key: key('fifty') };
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(body)));

    expect(responses.map((r) => r.status).filter((s) => s !== 200 && s !== 202)).toEqual([]);
    expect(new Set(responses.map((r) => r.body.task_id)).size).toBe(1);
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);

    expect((await finished(responses[0]!.body.task_id)).status).toBe('SUCCEEDED');
    await drained(runtime.outputs.HighQueueUrl!);
    expect(agents.calls('echo') - before).toBe(1);
  });

  it('answers 409 IdempotencyConflict when a key comes back with a different body', async () => {
    const k = key('conflict');
    expect((await post({ type: 'echo', payload: { v: 1 }, idempotency_key: k })).status).toBe(202);

    const reused = await post({ type: 'echo', payload: { v: 2 }, idempotency_key: k });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IdempotencyConflict');
  });
});

describe('local runtime: failures and retries', () => {
  it('retries a flaky agent with 2 failures to SUCCEEDED in 3 attempts', async () => {
    const created = await post({ type: 'flaky', payload: { failures: 2 } });
    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
  });

  it('fails a poison task after 1 attempt and puts its message on the tier DLQ', async () => {
    const created = await post({ type: 'poison', payload: {}, priority: 'high' });
    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'AgentHttp422' } });

    const dead = await peekMessage(sqs, runtime.outputs.HighDeadLetterQueueUrl!, created.body.task_id);
    expect(dead.MessageAttributes?.error_code?.StringValue).toBe('AgentHttp422');
  });

  it('fails an always transient task after maxReceiveCount attempts, with its message in the DLQ', async () => {
    const created = await post({ type: 'flaky', payload: { failures: 99 }, priority: 'low' });
    const task = await finished(created.body.task_id);
    expect(task).toMatchObject({
      status: 'FAILED',
      attempts: MAX_RECEIVE_COUNT,
      error: { code: 'AgentHttp503' },
    });

    // The queue's own redrive policy moves it, on the receive after the last attempt.
    await peekMessage(sqs, runtime.outputs.LowDeadLetterQueueUrl!, created.body.task_id);
  });

  it('cancels a delayed task, and its agent is never called', async () => {
    const before = agents.calls('sleep');
    const created = await post({ type: 'sleep', payload: { ms: 1 }, priority: 'high', delay_seconds: 5 });
    const cancelled = await fetch(`${runtime.apiUrl}/tasks/${created.body.task_id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as TaskView).status).toBe('CANCELLED');

    // The message is delivered after its delay and acknowledged without running.
    await drained(runtime.outputs.HighQueueUrl!);
    expect((await getTask(created.body.task_id)).status).toBe('CANCELLED');
    expect(agents.calls('sleep') - before).toBe(0);
  });
});

describe('local runtime: HTTP errors', () => {
  it("answers 404 NotFound for an unknown task, and API Gateway's own 404 for an unknown route", async () => {
    const task = await fetch(`${runtime.apiUrl}/tasks/${randomUUID()}`);
    expect(task.status).toBe(404);
    expect(((await task.json()) as { error: { code: string } }).error.code).toBe('NotFound');

    const route = await fetch(`${runtime.apiUrl}/nowhere`);
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual({ message: 'Not Found' });
  });

  it.each([
    ['InvalidJson', '{"type": '],
    ['ValidationError', { type: 'echo', payload: {}, colour: 'red' }],
    ['UnknownTaskType', { type: 'nobody', payload: {} }],
  ])('answers 400 %s', async (code, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe(code);
  });

  it('answers 413 PayloadTooLarge for a body over 256 KiB', async () => {
    const response = await post({ type: 'echo', payload: { blob: 'x'.repeat(300 * 1024) } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PayloadTooLarge');
  });

  it('answers 415 UnsupportedMediaType for a body that is not JSON', async () => {
    const response = await post('type=echo', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UnsupportedMediaType');
  });
});

describe('local runtime: restart with --persist', () => {
  it('keeps the tasks, and finishes the unfinished ones', async () => {
    const done = await post({ type: 'echo', payload: { before: 'restart' } });
    expect((await finished(done.body.task_id)).status).toBe('SUCCEEDED');
    const pending = await post({ type: 'echo', payload: { across: 'restart' }, delay_seconds: 5 });
    expect(pending.status).toBe(202);

    const { ports } = runtime;
    expect(await runtime.stop()).toBe(0);
    runtime = await bootRuntime({
      agentsUrl: agents.url,
      persistDir,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      ports,
    });

    expect(await getTask(done.body.task_id)).toMatchObject({
      status: 'SUCCEEDED',
      result: { echo: { before: 'restart' } },
    });
    const resumed = await finished(pending.body.task_id);
    expect(resumed).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      result: { echo: { across: 'restart' } },
    });
  });
});
