/**
 * Async agents through the real local runtime: the demo agents run in this process (so the test sees every
 * callback `async-echo` made and how the API answered it) and the runtime reaches them through `--agents-url`,
 * which keeps `async-echo` registered as async. A short heartbeat timeout makes a silent agent's attempt lost
 * within seconds.
 */
import { randomBytes } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { parseExactJson } from '../../lambda/core/json-text';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, peekMessage, type RunningRuntime } from './support/local-runtime';

jest.setTimeout(240_000);

const HEARTBEAT_TIMEOUT_SECONDS = 3;
/**
 * An async attempt costs one delivery, and the delivery that finds it lost is the next attempt (or, on the last
 * delivery, the task's failure). A crash followed by a success takes three: the crashed hand-off, the one that
 * records the loss and hands off again, and one spare so that the second is not the last.
 */
const MAX_RECEIVE_COUNT = 3;

let agents: DemoAgents;
let runtime: RunningRuntime;
let sqs: SQSClient;

interface Task {
  readonly task_id: string;
  readonly status: string;
  readonly attempts: number;
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
  readonly progress?: { readonly percent?: number; readonly message?: string };
  readonly heartbeat_at?: string;
  readonly deadline?: string;
  readonly cancel_requested?: boolean;
}

/** Submits an async-echo task with `payload` given as JSON text (its digits reach the agent as written). */
async function submit(payload: string): Promise<string> {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"type":"async-echo","priority":"high","payload":${payload}}`,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function get(id: string): Promise<{ text: string; task: Task }> {
  const text = await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).text();
  return { text, task: parseExactJson(text) as Task };
}

function until(id: string, what: string, ok: (task: Task) => boolean, withinMs = 60_000) {
  return eventually(
    async () => {
      const { task } = await get(id);
      return ok(task) ? task : undefined;
    },
    `task ${id}: ${what}`,
    withinMs,
  );
}

const terminal = (task: Task) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status);

async function callback(id: string, route: 'heartbeat' | 'complete', token: string, body: unknown) {
  const response = await fetch(`${runtime.apiUrl}/tasks/${id}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
}

beforeAll(async () => {
  agents = await startDemoAgents({ port: 0, callbackRetryBaseMs: 100 });
  runtime = await bootRuntime({
    agentsUrl: agents.url,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
  });
  sqs = runtime.sqsClient();
});

afterAll(async () => {
  await runtime?.stop();
  sqs?.destroy();
  await agents?.close();
});

describe('local runtime: async agents', () => {
  it('runs async-echo to SUCCEEDED with the result it completed with, digits exact', async () => {
    // Prepare
    const payload = '{"q":"hi","n":9007199254740993,"ms":500,"heartbeat_ms":100}';

    // Act
    const id = await submit(payload);
    await until(id, 'finishing', terminal);
    const { text, task } = await get(id);
    // The agent counts its success once the completion's answer reaches it, which can be after SUCCEEDED shows.
    const successes = await eventually(
      async () => agents.successes().get(id),
      'the agent to count its success',
    );

    // Assess
    expect(task.status).toBe('SUCCEEDED');
    expect(task.attempts).toBe(1);
    expect(text).toContain(`"result":{"echo":${payload}}`);
    expect(task.progress).toBeUndefined();
    expect(task.deadline).toBeUndefined();
    expect(successes).toBe(1);
  });

  it('shows progress, heartbeat_at and deadline while the task runs, and cancels it: 202, then CANCELLED', async () => {
    // Prepare
    const id = await submit('{"ms":120000,"heartbeat_ms":200}');
    const running = await until(
      id,
      'reporting progress',
      (t) => t.status === 'RUNNING' && t.progress !== undefined,
    );

    // Act
    const response = await fetch(`${runtime.apiUrl}/tasks/${id}`, { method: 'DELETE' });
    const cancelled = (await response.json()) as Task;
    const final = await until(id, 'finishing', terminal);
    // As below: the agent records its completion's answer only once the answer reaches it.
    const completions = await eventually(async () => {
      const calls = agents.callbacks().filter((c) => c.taskId === id && c.route === 'complete');
      return calls.length > 0 ? calls : undefined;
    }, 'the agent to record its completion');

    // Assess
    expect(running.progress).toEqual({ percent: expect.any(Number), message: expect.any(String) });
    expect(Number.isNaN(Date.parse(running.heartbeat_at ?? ''))).toBe(false);
    expect(Date.parse(running.deadline ?? '')).toBeGreaterThan(Date.parse(running.heartbeat_at ?? ''));
    expect(response.status).toBe(202);
    expect(cancelled).toEqual(
      expect.objectContaining({ task_id: id, status: 'RUNNING', cancel_requested: true }),
    );
    expect(final.status).toBe('CANCELLED');
    expect(completions).toEqual([expect.objectContaining({ status: 200, token: 'current' })]);
  });

  it('records HeartbeatTimeout for a silent agent, retries it, and fails it into the DLQ after its last delivery', async () => {
    // Act: delivery 1 hands off attempt 1; delivery 2 records it lost and hands off attempt 2 at once; delivery 3,
    // the last, records attempt 2 lost and fails the task
    const id = await submit('{"silent":true}');
    const retried = await until(id, 'attempt 2', (t) => t.attempts >= 2 || terminal(t), 120_000);
    const final = await until(id, 'finishing', terminal, 120_000);
    const dead = await peekMessage(sqs, runtime.outputs.HighDeadLetterQueueUrl!, id);

    // Assess
    expect(retried).toMatchObject({ status: 'RUNNING', attempts: 2, error: { code: 'HeartbeatTimeout' } });
    expect(final.status).toBe('FAILED');
    expect(final.error?.code).toBe('HeartbeatTimeout');
    expect(final.attempts).toBe(MAX_RECEIVE_COUNT - 1);
    expect(dead.Body).toContain(id);
    expect(agents.callbacks().filter((c) => c.taskId === id)).toEqual([]);
  });

  it('succeeds on a later attempt after an agent that crashed between its 202 and its first callback', async () => {
    // Act
    const id = await submit('{"crash_after_accept":true,"chaos_attempts":1}');
    const final = await until(id, 'finishing', terminal, 120_000);

    // Assess
    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts).toBe(2);
  });

  it('answers 401 to a callback with an unknown token, and the task is unchanged', async () => {
    // Prepare
    const id = await submit('{"ms":120000,"heartbeat_ms":200}');
    const before = await until(id, 'running', (t) => t.status === 'RUNNING');
    const token = randomBytes(32).toString('base64url');

    // Act
    const heartbeat = await callback(id, 'heartbeat', token, {
      progress: { percent: 99, message: 'forged' },
    });
    const complete = await callback(id, 'complete', token, { result: { forged: true } });
    const after = await get(id);

    // Assess
    expect(heartbeat.status).toBe(401);
    expect(heartbeat.body.error?.code).toBe('Unauthorized');
    expect(complete.status).toBe(401);
    expect(after.task.status).toBe('RUNNING');
    expect(after.task.attempts).toBe(before.attempts);
    expect(after.task.progress?.message).not.toBe('forged');
    await fetch(`${runtime.apiUrl}/tasks/${id}`, { method: 'DELETE' });
    await until(id, 'finishing', terminal);
  });

  it('answers 409 to a completion with the token of an earlier attempt, and 401 to a made-up one', async () => {
    // Act: attempt 1 sends a made-up token, then a retryable error; attempt 2 sends attempt 1's token, then the echo
    const id = await submit('{"stale_token":true,"fail_attempts":1}');
    const final = await until(id, 'finishing', terminal, 120_000);
    // The task is SUCCEEDED once the runtime has taken the last completion; the agent records that callback's
    // answer only when the answer reaches it, which a loaded machine can make later than this test's read.
    const seen = await eventually(async () => {
      const calls = agents.callbacks().filter((c) => c.taskId === id);
      return calls.length >= 4 ? calls.map((c) => [c.attempt, c.token, c.status]) : undefined;
    }, 'the agent to record its four callbacks');

    // Assess
    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts).toBe(2);
    expect(seen).toEqual([
      [1, 'made-up', 401],
      [1, 'current', 200],
      [2, 'previous', 409],
      [2, 'current', 200],
    ]);
  });

  it('answers 200 to the same completion sent twice and changes nothing', async () => {
    // Act
    const id = await submit('{"complete_twice":true}');
    const final = await until(id, 'finishing', terminal);
    await eventually(
      async () => (agents.callbacks().filter((c) => c.taskId === id).length === 2 ? true : undefined),
      'the second completion',
    );
    const after = await get(id);

    // Assess
    expect(final.status).toBe('SUCCEEDED');
    expect(
      agents
        .callbacks()
        .filter((c) => c.taskId === id)
        .map((c) => c.status),
    ).toEqual([200, 200]);
    expect(after.task).toEqual(final);
  });
});
