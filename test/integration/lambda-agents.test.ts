/**
 * `taskq local` on another team's app (test/fixtures/lambda-agents-app): its agents are Lambda functions of the
 * same app, run on this machine from their synthesized assets. Sync and async (destinations) agents complete,
 * a function that outlives its timeout is an AgentTimeout, a PermanentError is not retried, an agent imported
 * by ARN is named as not runnable and fails its task with a clear error, and `--agent TYPE=URL` points any agent
 * at a local HTTP endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { bootRuntime, eventually, type RunningRuntime, runTaskq } from './support/local-runtime';

const APP_DIR = path.join(__dirname, '..', 'fixtures', 'lambda-agents-app');

interface TaskView {
  readonly status: string;
  readonly attempts: number;
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

async function submit(runtime: RunningRuntime, type: string, payload: object): Promise<string> {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, payload }),
  });
  const body = (await response.json()) as { task_id: string };
  expect(response.status).toBe(202);
  return body.task_id;
}

async function finished(runtime: RunningRuntime, id: string, withinMs = 60_000): Promise<TaskView> {
  return eventually(
    async () => {
      const task = (await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).json()) as TaskView;
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status) ? task : undefined;
    },
    `task ${id} finishing`,
    withinMs,
  );
}

describe('taskq local on an app with Lambda agents', () => {
  let runtime: RunningRuntime;
  /**
   * The tasks of the tests below, submitted together as soon as the runtime is up: each test then awaits its own,
   * so that the slow ones (an AgentTimeout after its retries, an agent outside the app) run side by side.
   */
  let ids: Record<'shout' | 'shoutAsync' | 'slow' | 'refuse' | 'elsewhere', string>;

  beforeAll(async () => {
    runtime = await bootRuntime({ cwd: APP_DIR, demoAgents: false });
    const [shout, shoutAsync, slow, refuse, elsewhere] = await Promise.all([
      submit(runtime, 'shout', { text: 'hello' }),
      submit(runtime, 'shout.async', { text: 'later' }),
      submit(runtime, 'slow', { ms: 10_000 }),
      submit(runtime, 'refuse', { why: 'no such document' }),
      submit(runtime, 'elsewhere', {}),
    ]);
    ids = { shout, shoutAsync, slow, refuse, elsewhere };
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('names the agent imported by ARN as not runnable locally at start', () => {
    expect(runtime.output()).toMatch(/elsewhere.*arn:aws:lambda:us-east-1:123456789012:function:elsewhere/);
    expect(runtime.output()).toMatch(/not runnable locally/i);
  });

  it('runs a sync Lambda agent from its asset and stores its answer', async () => {
    const id = ids.shout;
    const task = await finished(runtime, id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { text: 'HELLO', task_id: id } });
  });

  it('runs an async Lambda agent through Event invocation and its destination', async () => {
    const id = ids.shoutAsync;
    const task = await finished(runtime, id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { text: 'LATER', task_id: id } });
  });

  it('ends a function that outlives its timeout, and the task fails with AgentTimeout after its retries', async () => {
    const id = ids.slow;
    const task = await finished(runtime, id, 120_000);
    expect(task).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'AgentTimeout' } });
  }, 150_000);

  it('does not retry a Lambda agent that throws a PermanentError', async () => {
    const id = ids.refuse;
    const task = await finished(runtime, id);
    expect(task.status).toBe('FAILED');
    expect(task.attempts).toBe(1);
    expect(task.error?.code).toBe('PermanentError');
    expect(task.error?.message).toContain('no such document');
  });

  it('fails a task of an agent outside the app with an error that says how to map it', async () => {
    const id = ids.elsewhere;
    const task = await finished(runtime, id, 120_000);
    expect(task.status).toBe('FAILED');
    expect(task.error?.message).toMatch(/--agent/);
  }, 150_000);

  it('completes a task with taskq submit --wait', async () => {
    const run = await runTaskq(
      runtime.apiUrl,
      'submit',
      '--type',
      'shout',
      '--payload',
      '{"text":"cli"}',
      '--wait',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('CLI');
  });
});

describe('taskq local --agent TYPE=URL', () => {
  let runtime: RunningRuntime;
  let server: Server;
  const calls: Array<{ url: string; body: { task_id: string; type: string } }> = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        calls.push({ url: request.url ?? '', body: JSON.parse(text) });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ from: 'local endpoint', path: request.url }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    runtime = await bootRuntime({
      cwd: APP_DIR,
      demoAgents: false,
      args: ['--agent', `shout=${url}/shout`, '--agent', `elsewhere=${url}/elsewhere`],
    });
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends a Lambda agent of the app to the mapped endpoint', async () => {
    const id = await submit(runtime, 'shout', { text: 'mapped' });
    const task = await finished(runtime, id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', result: { from: 'local endpoint', path: '/shout' } });
    expect(calls.find((c) => c.body.task_id === id)).toMatchObject({
      url: '/shout',
      body: { type: 'shout' },
    });
  });

  it('makes an agent imported by ARN runnable when it is mapped', async () => {
    expect(runtime.output()).not.toMatch(/not runnable locally/i);
    const id = await submit(runtime, 'elsewhere', {});
    const task = await finished(runtime, id);
    expect(task).toMatchObject({ status: 'SUCCEEDED', result: { path: '/elsewhere' } });
  });

  it('leaves the agents it does not map as they are', async () => {
    const id = await submit(runtime, 'refuse', { why: 'still a Lambda' });
    const task = await finished(runtime, id);
    expect(task).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'PermanentError' } });
  });
});
