/**
 * The OpenAPI document against the real local runtime: `GET /openapi.json` serves it, and the answers of every
 * operation, errors included, pass the check that the integration project's setup (support/openapi-setup.ts) runs
 * on every response. The check itself is shown to fail on a response that breaks the document.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DEFAULTS } from '../../lambda/contract';
import { bootRuntime, eventually, type RunningRuntime } from './support/local-runtime';
import { responseChecks } from './support/openapi-setup';

jest.setTimeout(240_000);

const DOCUMENT = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'openapi.json'), 'utf8'));

let runtime: RunningRuntime;

beforeAll(async () => {
  runtime = await bootRuntime({});
});

afterAll(async () => {
  await runtime?.stop();
});

const post = (route: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${runtime.apiUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

describe('local runtime: the OpenAPI document', () => {
  it('serves openapi.json at GET /openapi.json, naming this runtime as its first server', async () => {
    // Act
    const response = await fetch(`${runtime.apiUrl}/openapi.json`);
    const served = (await response.json()) as { servers: { url: string }[] };

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(served.servers[0].url).toBe(runtime.apiUrl);
    expect({ ...served, servers: undefined }).toEqual({ ...DOCUMENT, servers: undefined });
  });

  it('answers every operation, and its errors, as the document declares (each response checked by the setup)', async () => {
    // Prepare
    const before = responseChecks().checked;
    const key = randomUUID();
    const task = { type: 'echo', payload: { q: 1 }, idempotency_key: key };

    // Act: the setup checks each answer against openapi.json
    const created = await post('/tasks', JSON.stringify(task));
    const id = ((await created.json()) as { task_id: string }).task_id;
    const statuses = [
      created.status,
      (await post('/tasks', JSON.stringify(task))).status,
      (await post('/tasks', JSON.stringify({ ...task, payload: { q: 2 } }))).status,
      (await post('/tasks', '{"type":')).status,
      (await post('/tasks', JSON.stringify({ type: 'nobody', payload: {} }))).status,
      (await post('/tasks', JSON.stringify({ type: 'echo', payload: {}, extra: 1 }))).status,
      (await post('/tasks', JSON.stringify(task), { 'content-type': 'text/plain' })).status,
      (
        await post(
          '/tasks',
          JSON.stringify({ type: 'echo', payload: { big: 'x'.repeat(DEFAULTS.maxBodyBytes) } }),
        )
      ).status,
      (await fetch(`${runtime.apiUrl}/tasks/not-a-task`)).status,
      (await fetch(`${runtime.apiUrl}/tasks/${randomUUID()}`)).status,
      (await fetch(`${runtime.apiUrl}/tasks/${randomUUID()}`, { method: 'DELETE' })).status,
      (await post(`/tasks/${id}/heartbeat`, '{}')).status,
      (await post(`/tasks/${id}/complete`, '{"result":1}', { authorization: 'Bearer nobody' })).status,
    ];
    await eventually(async () => {
      const view = (await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).json()) as { status: string };
      return view.status === 'SUCCEEDED' ? view : undefined;
    }, `task ${id} succeeding`);
    statuses.push((await fetch(`${runtime.apiUrl}/tasks/${id}`, { method: 'DELETE' })).status);

    // Assess
    expect(statuses).toEqual([202, 200, 409, 400, 400, 400, 415, 413, 400, 404, 404, 401, 401, 409]);
    expect(responseChecks().checked - before).toBeGreaterThanOrEqual(statuses.length + 1);
  });

  it('records a response that breaks the document, with what is wrong', async () => {
    // Prepare: a server on a loopback address that answers GET /tasks/{id} with a body the document refuses
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ task_id: randomUUID(), status: 'DONE' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    try {
      // Act
      const response = await fetch(`http://127.0.0.1:${port}/tasks/${randomUUID()}`);
      await response.text();

      // Assess: taken here, so that this test does not fail for it
      const problems = responseChecks().takeProblems();
      expect(problems).toEqual([
        expect.stringMatching(/GET \/tasks\/.+ \(\/tasks\/\{id\}\) → 200: the body/),
      ]);
      expect(problems[0]).toContain("must have required property 'type'");
      expect(problems[0]).toContain('must be equal to one of the allowed values');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
