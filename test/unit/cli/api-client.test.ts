import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiError,
  type FetchLike,
  keepAliveFetch,
  NetworkError,
  TaskQueueClient,
} from '../../../cli/api-client';
import { type FakeTaskApi, startFakeTaskApi } from './fake-task-api';

/** A server that answers every request with one fixed response, for bodies the fake API never sends. */
async function fixedServer(status: number, body: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Class: TaskQueueClient', () => {
  let api: FakeTaskApi;
  let client: TaskQueueClient;

  beforeEach(async () => {
    api = await startFakeTaskApi();
    client = new TaskQueueClient({ endpoint: `${api.url}/` });
  });

  afterEach(async () => {
    await api.close();
  });

  it('posts the contract fields and returns the task when the API accepts it', async () => {
    // Act
    const result = await client.submit({
      type: 'echo',
      payload: { a: 1 },
      priority: 'high',
      idempotencyKey: 'k-1',
      delaySeconds: 30,
      tenantId: 'acme',
    });

    // Assess
    expect(result.replayed).toBe(false);
    expect(result.task).toEqual(
      expect.objectContaining({ type: 'echo', priority: 'high', status: 'QUEUED' }),
    );
    expect(api.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/tasks',
        headers: expect.objectContaining({ 'content-type': 'application/json' }),
        body: {
          type: 'echo',
          payload: { a: 1 },
          priority: 'high',
          idempotency_key: 'k-1',
          delay_seconds: 30,
          tenant_id: 'acme',
        },
      }),
    ]);
  });

  it('leaves optional fields out of the body when they are not given', async () => {
    // Act
    await client.submit({ type: 'echo', payload: {} });

    // Assess
    expect(api.requests[0]!.body).toEqual({ type: 'echo', payload: {} });
  });

  it('reports a replay when the API answers 200 for a known idempotency key', async () => {
    // Prepare
    const first = await client.submit({ type: 'echo', payload: {}, idempotencyKey: 'same' });

    // Act
    const second = await client.submit({ type: 'echo', payload: {}, idempotencyKey: 'same' });

    // Assess
    expect(second).toEqual({
      replayed: true,
      task: expect.objectContaining({ task_id: first.task.task_id }),
    });
  });

  it('throws an ApiError with the status, code and message when the API refuses', async () => {
    // Act
    const submitting = client.submit({ type: 'unregistered', payload: {} });

    // Assess
    await expect(submitting).rejects.toThrow(ApiError);
    await expect(client.submit({ type: 'unregistered', payload: {} })).rejects.toMatchObject({
      status: 400,
      code: 'UnknownTaskType',
      message: "task type 'unregistered' is not registered",
    });
  });

  it('gets a task by id when it exists', async () => {
    // Prepare
    const id = api.seed([{ status: 'SUCCEEDED', attempts: 1, result: { echo: {} } }]);

    // Act
    const task = await client.get(id);

    // Assess
    expect(task).toEqual(expect.objectContaining({ task_id: id, status: 'SUCCEEDED', result: { echo: {} } }));
  });

  it('throws NotFound when the task does not exist', async () => {
    // Act & Assess
    await expect(client.get('no-such-task')).rejects.toMatchObject({ status: 404, code: 'NotFound' });
  });

  it('escapes the task id when it holds characters that mean something in a path', async () => {
    // Act
    await client.get('a/b?c').catch(() => undefined);

    // Assess
    expect(api.requests[0]!.path).toBe('/tasks/a%2Fb%3Fc');
  });

  it('cancels a queued task when asked', async () => {
    // Prepare
    const id = api.seed([{ status: 'QUEUED' }]);

    // Act
    const { task, requested } = await client.cancel(id);

    // Assess
    expect(task.status).toBe('CANCELLED');
    expect(requested).toBe(false);
    expect(api.requests[0]).toEqual(expect.objectContaining({ method: 'DELETE', path: `/tasks/${id}` }));
  });

  it('reports a requested cancellation when the API answers 202 for a running async task', async () => {
    // Prepare
    const id = api.seed([{ status: 'RUNNING', attempts: 1 }], 'async-echo', { async: true });

    // Act
    const { task, requested } = await client.cancel(id);

    // Assess
    expect(requested).toBe(true);
    expect(task).toEqual(expect.objectContaining({ status: 'RUNNING', cancel_requested: true }));
  });

  it('reads the progress, heartbeat and deadline of a running async task', async () => {
    // Prepare
    const running = {
      status: 'RUNNING' as const,
      attempts: 1,
      progress: { percent: 40, message: 'step 4 of 10' },
      heartbeat_at: '2026-11-28T08:00:05.000Z',
      deadline: '2026-11-28T08:00:15.000Z',
    };
    const id = api.seed([running], 'async-echo', { async: true });

    // Act
    const task = await client.get(id);

    // Assess
    expect(task).toEqual(expect.objectContaining(running));
  });

  it('throws NotCancellable when the task is running on a sync agent', async () => {
    // Prepare
    const id = api.seed([{ status: 'RUNNING' }]);

    // Act & Assess
    await expect(client.cancel(id)).rejects.toMatchObject({ status: 409, code: 'NotCancellable' });
  });

  it('sends every request through the injected fetch when one is given', async () => {
    // Prepare: the seam a SigV4-signing fetch plugs into
    const signing: FetchLike = (url, init) =>
      fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: 'signed' },
      });
    const signed = new TaskQueueClient({ endpoint: api.url, fetch: signing });

    // Act
    await signed.submit({ type: 'echo', payload: {} });

    // Assess
    expect(api.requests[0]!.headers.authorization).toBe('signed');
  });

  it('throws a NetworkError when nothing listens at the endpoint', async () => {
    // Prepare: port 1 is privileged, so no test can bind it (a freed port can be handed to the next server)
    const offline = new TaskQueueClient({ endpoint: 'http://127.0.0.1:1' });

    // Act & Assess
    await expect(offline.get('x')).rejects.toThrow(NetworkError);
    await expect(offline.get('x')).rejects.toMatchObject({ code: 'Unreachable' });
  });

  it('throws an ApiError named after the status when the error body is not the contract', async () => {
    // Prepare: API Gateway's IAM authorizer answers like this
    const gateway = await fixedServer(403, '{"message":"Forbidden"}');
    const viaGateway = new TaskQueueClient({ endpoint: gateway.url });

    // Act
    const getting = viaGateway.get('x');

    // Assess
    await expect(getting).rejects.toMatchObject({ status: 403, code: 'Http403', message: 'Forbidden' });
    await gateway.close();
  });

  it('throws InvalidResponse when a success answer is not a JSON object', async () => {
    // Prepare
    const broken = await fixedServer(200, 'not json');
    const viaBroken = new TaskQueueClient({ endpoint: broken.url });

    // Act
    const getting = viaBroken.get('x');

    // Assess
    await expect(getting).rejects.toMatchObject({ status: 200, code: 'InvalidResponse' });
    await broken.close();
  });
});

describe('Function: keepAliveFetch', () => {
  let api: FakeTaskApi;
  const transport = keepAliveFetch();

  beforeEach(async () => {
    api = await startFakeTaskApi();
  });

  afterEach(async () => {
    await api.close();
  });

  afterAll(() => {
    transport.close();
  });

  it("carries the client's requests and answers, errors included", async () => {
    // Prepare
    const client = new TaskQueueClient({ endpoint: api.url, fetch: transport });

    // Act
    const { task, replayed } = await client.submit({
      type: 'echo',
      payload: { a: 1 },
      idempotencyKey: 'k-1',
    });
    const again = await client.submit({ type: 'echo', payload: { a: 1 }, idempotencyKey: 'k-1' });
    const read = await client.get(task.task_id);
    const missing = client.get('no-such-task');

    // Assess
    expect(replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(read.task_id).toBe(task.task_id);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'NotFound' });
    expect(api.requests[0]).toEqual(
      expect.objectContaining({
        method: 'POST',
        path: '/tasks',
        headers: expect.objectContaining({ 'content-type': 'application/json' }),
        body: { type: 'echo', payload: { a: 1 }, idempotency_key: 'k-1' },
      }),
    );
  });

  it("fails with the client's Timeout when the answer is slower than the request timeout", async () => {
    // Prepare: a server that never answers
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new TaskQueueClient({
      endpoint: `http://127.0.0.1:${port}`,
      fetch: transport,
      requestTimeoutMs: 50,
    });

    // Act
    const getting = client.get('x');

    // Assess
    await expect(getting).rejects.toThrow(NetworkError);
    await expect(getting).rejects.toMatchObject({ code: 'Timeout' });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
