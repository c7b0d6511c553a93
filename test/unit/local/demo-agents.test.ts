import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DemoAgents,
  LIMITED_DEFAULT_MS,
  MAX_SLEEP_MS,
  SLEEP_DEFAULT_MS,
  sleepDurationMs,
  startDemoAgents,
} from '../../../local/demo-agents';

const TASK_ID = '8f14e45f-ceea-4e67-a2c3-2f1a3c1d9b10';

describe('Function: startDemoAgents', () => {
  let agents: DemoAgents;

  beforeEach(async () => {
    agents = await startDemoAgents({ port: 0 });
  });

  afterEach(async () => {
    await agents.close();
  });

  const call = async (type: string, payload: unknown, attempt = 1) => {
    const response = await fetch(`${agents.url}/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: TASK_ID, type, payload, attempt }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('listens on a free port when port 0 is asked for', () => {
    // Assess
    expect(agents.port).toBeGreaterThan(0);
    expect(agents.url).toBe(`http://127.0.0.1:${agents.port}`);
  });

  it('listens on loopback only, with no option to choose another interface', async () => {
    // Arrange: an options object that names an interface, as a caller outside the type might
    const options = { port: 0, host: '0.0.0.0' } as Parameters<typeof startDemoAgents>[0];

    // Act
    const other = await startDemoAgents(options);

    // Assess
    try {
      expect(other.url).toBe(`http://127.0.0.1:${other.port}`);
    } finally {
      await other.close();
    }
  });

  it('answers echo with the payload when a task is posted', async () => {
    // Act
    const reply = await call('echo', { prompt: 'hi', n: [1, 2] });

    // Assess
    expect(reply).toEqual({ status: 200, body: { echo: { prompt: 'hi', n: [1, 2] } } });
  });

  it('echoes the payload with every number literal digit for digit', async () => {
    // Prepare
    const payload = `{"n":9007199254740993,"big":1e400,"long":${'3'.repeat(300)}}`;

    // Act
    const response = await fetch(`${agents.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"task_id":"${TASK_ID}","type":"echo","payload":${payload},"attempt":1}`,
    });

    // Assess
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`{"echo":${payload}}`);
  });

  it('streams an echo answer of exactly payload.answer_bytes bytes', async () => {
    // Act
    const reply = await call('echo', { answer_bytes: 3_000_000 });

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.stringify(reply.body)).toHaveLength(3_000_000);
  });

  it('answers the first attempt of a late echo only after payload.late_ms, and a later attempt at once, counting the overlap', async () => {
    // Prepare: the first attempt waits a minute; its caller gives up, as the consumer does at its timeout.
    const first = new AbortController();
    const late = fetch(`${agents.url}/echo`, {
      method: 'POST',
      body: JSON.stringify({ task_id: TASK_ID, type: 'echo', payload: { late_ms: 60_000 }, attempt: 1 }),
      signal: first.signal,
    }).catch(() => 'aborted');
    while (agents.calls('echo') < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    first.abort();

    // Act
    const second = await call('echo', { late_ms: 60_000 }, 2);

    // Assess
    expect(second).toEqual({ status: 200, body: { echo: { late_ms: 60_000 } } });
    expect(await late).toBe('aborted');
    expect(agents.overlaps().get(TASK_ID)).toBe(1);
  });

  it.each([[{ answer_bytes: -1 }], [{ answer_bytes: 1.5 }], [{ late_ms: 'soon' }]])(
    'answers echo with 400 when the payload is %j',
    async (payload) => {
      // Act
      const reply = await call('echo', payload);

      // Assess
      expect(reply.status).toBe(400);
    },
  );

  it('answers sleep with slept_ms when payload.ms is a number', async () => {
    // Act
    const reply = await call('sleep', { ms: 5 });

    // Assess
    expect(reply).toEqual({ status: 200, body: { slept_ms: 5 } });
  });

  it.each([[{ ms: 'soon' }], [{ ms: -1 }]])(
    'answers sleep with 400 when the payload is %j',
    async (payload) => {
      // Act
      const reply = await call('sleep', payload);

      // Assess
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({
        error: { code: 'BadRequest', message: expect.stringContaining('payload.ms') },
      });
    },
  );

  it('answers sleep after SLEEP_DEFAULT_MS when the payload has no ms, so that any payload published to demo.fanout succeeds', async () => {
    // Act
    const started = Date.now();
    const reply = await call('sleep', {});

    // Assess
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLEEP_DEFAULT_MS - 5);
  });

  it('answers limited with slept_ms and the calls in flight, sleeping 200 ms when payload.ms is left out', async () => {
    // Act
    const given = await call('limited', { ms: 5 });
    const defaulted = await call('limited', {});

    // Assess
    expect(given).toEqual({ status: 200, body: { slept_ms: 5, in_flight: 1 } });
    expect(defaulted).toEqual({ status: 200, body: { slept_ms: LIMITED_DEFAULT_MS, in_flight: 1 } });
    expect(LIMITED_DEFAULT_MS).toBe(200);
  });

  it.each([[{ ms: 'soon' }], [{ ms: -1 }]])(
    'answers limited with 400 when the payload is %j',
    async (payload) => {
      // Act
      const reply = await call('limited', payload);

      // Assess
      expect(reply.status).toBe(400);
      expect(agents.limited().calls).toHaveLength(0);
    },
  );

  it('counts the limited calls running at once, overall and per tenant, with when each started and answered', async () => {
    // Prepare
    const limited = (taskId: string, tenant?: string) =>
      fetch(`${agents.url}/limited`, {
        method: 'POST',
        body: JSON.stringify({
          task_id: taskId,
          type: 'limited',
          payload: { ms: 300 },
          attempt: 1,
          ...(tenant && { tenant_id: tenant }),
        }),
      }).then((r) => r.json());

    // Act: three at once, two of them for tenant a; then one more once they are done
    const replies = await Promise.all([limited('t1', 'a'), limited('t2', 'a'), limited('t3')]);
    await limited('t4', 'a');
    const stats = agents.limited();

    // Assess
    expect(replies.map((r) => (r as { in_flight: number }).in_flight).sort()).toEqual([1, 2, 3]);
    expect(stats.current).toBe(0);
    expect(stats.max).toBe(3);
    expect(stats.calls.map((c) => c.task_id).slice(-1)).toEqual(['t4']);
    const byTask = new Map(stats.calls.map((c) => [c.task_id, c]));
    expect([byTask.get('t1')?.tenant_in_flight, byTask.get('t2')?.tenant_in_flight].sort()).toEqual([1, 2]);
    expect(byTask.get('t3')).not.toHaveProperty('tenant_in_flight');
    expect(byTask.get('t4')).toMatchObject({ tenant_id: 'a', tenant_in_flight: 1, in_flight: 1, attempt: 1 });
    for (const c of stats.calls) expect(c.answered_ms).toBeGreaterThanOrEqual(c.received_ms);
  });

  it('serves the limited count at GET /limited/stats, and refuses other methods there', async () => {
    // Prepare
    await call('limited', { ms: 1 });

    // Act
    const got = await fetch(`${agents.url}/limited/stats`);
    const posted = await fetch(`${agents.url}/limited/stats`, { method: 'POST', body: '{}' });

    // Assess
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      current: 0,
      max: 1,
      calls: [
        {
          task_id: TASK_ID,
          attempt: 1,
          received_ms: expect.any(Number),
          answered_ms: expect.any(Number),
          in_flight: 1,
        },
      ],
    });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET');
    expect(agents.calls()).toBe(1);
  });

  it('answers flaky with 503 while attempt <= payload.failures and 200 after', async () => {
    // Act
    const replies = [
      await call('flaky', { failures: 2 }, 1),
      await call('flaky', { failures: 2 }, 2),
      await call('flaky', { failures: 2 }, 3),
    ];

    // Assess
    expect(replies.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(replies[2]!.body).toEqual({ attempt: 3 });
  });

  it('fails flaky once when payload.failures is left out', async () => {
    // Act
    const first = await call('flaky', {}, 1);
    const second = await call('flaky', {}, 2);

    // Assess
    expect(first.status).toBe(503);
    expect(second).toEqual({ status: 200, body: { attempt: 2 } });
  });

  it('answers flaky with 400 when attempt is missing', async () => {
    // Act
    const response = await fetch(`${agents.url}/flaky`, {
      method: 'POST',
      body: JSON.stringify({ task_id: TASK_ID, type: 'flaky', payload: {} }),
    });

    // Assess
    expect(response.status).toBe(400);
  });

  it('answers poison with 422 and a JSON error body when called', async () => {
    // Act
    const replies = [await call('poison', {}, 1), await call('poison', {}, 7)];

    // Assess
    for (const reply of replies) {
      expect(reply.status).toBe(422);
      expect(reply.body).toEqual({ error: { code: 'PoisonTask', message: expect.any(String) } });
    }
  });

  it('counts requests per type when calls() is asked', async () => {
    // Prepare
    await call('echo', {});
    await call('echo', {});
    await call('poison', {});

    // Act
    const counts = [agents.calls('echo'), agents.calls('poison'), agents.calls('sleep'), agents.calls()];

    // Assess
    expect(counts).toEqual([2, 1, 0, 3]);
  });

  it('counts successful executions per task, and not failures', async () => {
    // Act
    await call('echo', {});
    await call('echo', {});
    await call('poison', {});
    await call('flaky', { failures: 1 }, 1);

    // Assess
    expect([...agents.successes()]).toEqual([[TASK_ID, 2]]);
  });

  it('does not count an answer the caller gave up on', async () => {
    // Prepare: a second server whose agents wait, before answering, until the test lets them
    let arrived!: () => void;
    const called = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = await startDemoAgents({
      beforeAnswer: () => {
        arrived();
        return held;
      },
    });
    try {
      // Act: the caller gives up once the call has reached the agent, and only then may the agent answer
      const caller = new AbortController();
      const request = fetch(`${slow.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: TASK_ID, type: 'echo', payload: {}, attempt: 1 }),
        signal: caller.signal,
      });
      await called;
      caller.abort();
      await expect(request).rejects.toThrow();
      // The server learns of the closed connection from its socket; give it that moment before it answers.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      await new Promise((resolve) => setTimeout(resolve, 300));

      // Assess
      expect(slow.calls('echo')).toBe(1);
      expect(slow.successes().size).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('answers 404 and counts nothing when the path names no agent', async () => {
    // Act
    const response = await fetch(`${agents.url}/nope`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(404);
    expect(agents.calls()).toBe(0);
  });

  it('answers 400 InvalidJson when the body does not parse', async () => {
    // Act
    const response = await fetch(`${agents.url}/echo`, { method: 'POST', body: '{"task_id":' });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'InvalidJson', message: expect.any(String) } });
  });

  it('answers 405 when the method is not POST', async () => {
    // Act
    const response = await fetch(`${agents.url}/echo`);

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers a pending sleep with 503 when closed', async () => {
    // Prepare
    const pending = call('sleep', { ms: MAX_SLEEP_MS }).then(
      (reply) => reply.status,
      () => 'connection dropped',
    );
    for (let i = 0; agents.calls('sleep') === 0 && i < 1000; i++) await new Promise((r) => setTimeout(r, 1));
    expect(agents.calls('sleep')).toBe(1);

    // Act
    await agents.close();

    // Assess: a sleep that close() did not wake would be dropped unanswered
    expect(await pending).toBe(503);
    agents = await startDemoAgents({});
  });
});

describe('Function: sleepDurationMs', () => {
  it('caps the wait at 60 000 ms when payload.ms is larger', () => {
    // Act
    const ms = sleepDurationMs({ ms: 3_600_000 });

    // Assess
    expect(ms).toBe(60_000);
  });

  it('keeps payload.ms when it is under the cap', () => {
    // Act
    const ms = sleepDurationMs({ ms: 1500 });

    // Assess
    expect(ms).toBe(1500);
  });

  it('throws when payload.ms is not a finite number', () => {
    // Act & Assess
    expect(() => sleepDurationMs({ ms: Number.POSITIVE_INFINITY })).toThrow('payload.ms must be a number');
  });
});

/** A stand-in for the task API's callback routes: records each call and answers as the test scripts it. */
interface CallbackCall {
  readonly route: string;
  readonly token: string;
  readonly text: string;
  readonly body: Record<string, unknown>;
}
type Answer = { status: number; body: unknown };

async function startCallbackServer(answer: (call: CallbackCall, calls: readonly CallbackCall[]) => Answer) {
  const calls: CallbackCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const call: CallbackCall = {
        route: (req.url ?? '').slice(`/tasks/${TASK_ID}/`.length),
        token: String(req.headers.authorization ?? '').replace(/^Bearer /, ''),
        text,
        body: JSON.parse(text) as Record<string, unknown>,
      };
      calls.push(call);
      const reply = answer(call, calls);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tasks/${TASK_ID}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const RUNNING = { status: 200, body: { status: 'RUNNING', cancel_requested: false } };
const DONE = { status: 200, body: { task_id: TASK_ID, status: 'SUCCEEDED' } };
const accept = (call: CallbackCall): Answer => (call.route === 'heartbeat' ? RUNNING : DONE);

describe('Agent: async-echo', () => {
  let agents: DemoAgents;
  let callbacks: Awaited<ReturnType<typeof startCallbackServer>>;
  let answer: (call: CallbackCall, calls: readonly CallbackCall[]) => Answer;

  beforeEach(async () => {
    answer = accept;
    agents = await startDemoAgents({ port: 0, callbackRetryBaseMs: 1 });
    callbacks = await startCallbackServer((call, calls) => answer(call, calls));
  });

  afterEach(async () => {
    await agents.close();
    await callbacks.close();
  });

  /** Posts a hand-off as the consumer does; `payload` is JSON text, so its digits reach the agent as written. */
  const handOff = async (payload: string, options: { attempt?: number; token?: string } = {}) => {
    const callback = { url: callbacks.url, token: options.token ?? 'token-1', heartbeat_seconds: 10 };
    const response = await fetch(`${agents.url}/async-echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"task_id":"${TASK_ID}","type":"async-echo","payload":${payload},"attempt":${options.attempt ?? 1},"deadline":"2026-12-01T00:00:00.000Z","callback":${JSON.stringify(callback)}}`,
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  /** Resolves once `count` runs have started and every run is over. */
  const runsOver = async (count = 1) => {
    while (agents.asyncRuns().started < count || agents.asyncRuns().active > 0)
      await new Promise((resolve) => setTimeout(resolve, 2));
  };

  it('answers 202 at once and completes with the echo of the payload, digits exact, with its bearer token', async () => {
    // Prepare
    const payload = '{"n":9007199254740993,"big":1e400,"q":"hi"}';

    // Act
    const reply = await handOff(payload);
    await runsOver();

    // Assess
    expect(reply.status).toBe(202);
    expect(callbacks.calls).toHaveLength(1);
    expect(callbacks.calls[0]).toMatchObject({ route: 'complete', token: 'token-1' });
    expect(callbacks.calls[0]!.text).toBe(`{"result":{"echo":${payload}}}`);
    expect([...agents.successes()]).toEqual([[TASK_ID, 1]]);
  });

  it('heartbeats with progress until payload.ms has passed, then completes', async () => {
    // Act
    await handOff('{"ms":300,"heartbeat_ms":20}');
    await runsOver();

    // Assess
    const routes = callbacks.calls.map((c) => c.route);
    expect(routes.at(-1)).toBe('complete');
    const beats = callbacks.calls.filter((c) => c.route === 'heartbeat');
    expect(beats.length).toBeGreaterThan(0);
    const percents = beats.map((c) => (c.body.progress as { percent: number }).percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    for (const beat of beats) {
      expect(beat.token).toBe('token-1');
      expect(beat.body).toEqual({
        progress: { percent: expect.any(Number), message: expect.stringMatching(/of 300 ms/) },
      });
      expect((beat.body.progress as { percent: number }).percent).toBeLessThan(100);
    }
  });

  it('completes with a Cancelled error and stops when a heartbeat answer says cancel_requested', async () => {
    // Prepare
    answer = (call) =>
      call.route === 'heartbeat'
        ? { status: 200, body: { status: 'RUNNING', cancel_requested: true } }
        : DONE;

    // Act
    await handOff('{"ms":60000,"heartbeat_ms":10}');
    await runsOver();

    // Assess
    expect(callbacks.calls.map((c) => c.route)).toEqual(['heartbeat', 'complete']);
    expect(callbacks.calls[1]!.body).toEqual({
      error: { code: 'Cancelled', message: expect.any(String), retryable: false },
    });
    expect(agents.successes().size).toBe(0);
  });

  it('retries a heartbeat and a completion answered 429 or 503', async () => {
    // Prepare: each route's first call is refused
    answer = (call, calls) => {
      const first = calls.filter((c) => c.route === call.route).length === 1;
      if (first) return call.route === 'heartbeat' ? { status: 429, body: {} } : { status: 503, body: {} };
      return accept(call);
    };

    // Act
    await handOff('{"ms":100,"heartbeat_ms":20}');
    await runsOver();

    // Assess
    expect(callbacks.calls.filter((c) => c.route === 'complete')).toHaveLength(2);
    const records = agents.callbacks();
    expect(records[0]).toMatchObject({ route: 'heartbeat', status: 200, tries: 2, token: 'current' });
    expect(records.at(-1)).toMatchObject({ route: 'complete', status: 200, tries: 2 });
    expect([...agents.successes()]).toEqual([[TASK_ID, 1]]);
  });

  it.each([401, 409])('stops the run without completing when a heartbeat is answered %i', async (status) => {
    // Prepare
    answer = (call) =>
      call.route === 'heartbeat' ? { status, body: { error: { code: 'X', message: 'no' } } } : DONE;

    // Act
    await handOff('{"ms":60000,"heartbeat_ms":10}');
    await runsOver();

    // Assess
    expect(callbacks.calls.map((c) => c.route)).toEqual(['heartbeat']);
  });

  it('answers 400 and starts nothing when the request has no callback (registered as sync)', async () => {
    // Act
    const response = await fetch(`${agents.url}/async-echo`, {
      method: 'POST',
      body: JSON.stringify({ task_id: TASK_ID, type: 'async-echo', payload: {}, attempt: 1 }),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'BadRequest', message: expect.stringContaining('callback') },
    });
    expect(agents.asyncRuns().started).toBe(0);
  });

  it.each([
    ['{"ms":-1}'],
    ['{"heartbeat_ms":0}'],
    ['{"silent":"yes"}'],
    ['{"complete_late":1}'],
    ['{"fail_attempts":1.5}'],
  ])('answers 400 when the payload is %s', async (payload) => {
    // Act
    const reply = await handOff(payload);

    // Assess
    expect(reply.status).toBe(400);
  });

  it.each([['silent'], ['crash_after_accept']])(
    'accepts and never calls back when payload.%s is true',
    async (knob) => {
      // Act
      const reply = await handOff(`{"${knob}":true}`);
      await runsOver();

      // Assess
      expect(reply.status).toBe(202);
      expect(callbacks.calls).toEqual([]);
    },
  );

  it('applies silent only to the first chaos_attempts attempts', async () => {
    // Act
    await handOff('{"silent":true,"chaos_attempts":1}', { attempt: 1, token: 'token-1' });
    await runsOver(1);
    await handOff('{"silent":true,"chaos_attempts":1}', { attempt: 2, token: 'token-2' });
    await runsOver(2);

    // Assess
    expect(callbacks.calls.map((c) => [c.route, c.token])).toEqual([['complete', 'token-2']]);
  });

  it('sends no heartbeat before payload.heartbeat_late_ms, even when heartbeat_ms is shorter', async () => {
    // Act: the late first heartbeat would come after the run is over
    await handOff('{"ms":100,"heartbeat_ms":10,"heartbeat_late_ms":60000}');
    await runsOver();

    // Assess
    expect(callbacks.calls.map((c) => c.route)).toEqual(['complete']);
  });

  it('sends the same completion twice when payload.complete_twice is true', async () => {
    // Act
    await handOff('{"complete_twice":true}');
    await runsOver();

    // Assess
    expect(callbacks.calls.map((c) => c.route)).toEqual(['complete', 'complete']);
    expect(callbacks.calls[0]!.text).toBe(callbacks.calls[1]!.text);
    expect([...agents.successes()]).toEqual([[TASK_ID, 1]]);
  });

  it('completes with a retryable error on the first fail_attempts attempts, then with the echo', async () => {
    // Act
    await handOff('{"fail_attempts":1}', { attempt: 1, token: 'token-1' });
    await runsOver(1);
    await handOff('{"fail_attempts":1}', { attempt: 2, token: 'token-2' });
    await runsOver(2);

    // Assess
    expect(callbacks.calls.map((c) => c.body)).toEqual([
      { error: { code: 'AsyncEchoFailure', message: expect.any(String), retryable: true } },
      { result: { echo: { fail_attempts: 1 } } },
    ]);
  });

  it('sends a completion with a made-up token, then with the previous attempt’s token, when stale_token is set', async () => {
    // Prepare: the API refuses unknown tokens with 401 and the first attempt's with 409 once the second runs
    let current = 'token-1';
    answer = (call) => {
      if (call.token === 'token-1' && current === 'token-2')
        return { status: 409, body: { error: { code: 'AttemptNotCurrent', message: 'stale' } } };
      if (call.token !== 'token-1' && call.token !== 'token-2')
        return { status: 401, body: { error: { code: 'Unauthorized', message: 'unknown' } } };
      return accept(call);
    };

    // Act
    await handOff('{"stale_token":true,"fail_attempts":1}', { attempt: 1, token: 'token-1' });
    await runsOver(1);
    current = 'token-2';
    await handOff('{"stale_token":true,"fail_attempts":1}', { attempt: 2, token: 'token-2' });
    await runsOver(2);

    // Assess
    expect(agents.callbacks().map((r) => [r.attempt, r.token, r.status])).toEqual([
      [1, 'made-up', 401],
      [1, 'current', 200],
      [2, 'previous', 409],
      [2, 'current', 200],
    ]);
    expect(callbacks.calls[2]!.token).toBe('token-1');
    expect(callbacks.calls[3]!.body).toEqual({ result: { echo: { stale_token: true, fail_attempts: 1 } } });
  });

  it('completes with its own token only once a newer attempt has started when payload.complete_late is true', async () => {
    // Prepare: the API refuses the first attempt's token with 409 once the second attempt holds the task
    let current = 'token-1';
    answer = (call) =>
      call.token === current
        ? accept(call)
        : { status: 409, body: { error: { code: 'AttemptNotCurrent', message: 'stale' } } };
    const payload = '{"complete_late":true,"chaos_attempts":1}';

    // Act
    await handOff(payload, { attempt: 1, token: 'token-1' });
    while (agents.asyncRuns().started < 1) await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const callsBeforeNewerAttempt = callbacks.calls.length;
    current = 'token-2';
    await handOff(payload, { attempt: 2, token: 'token-2' });
    await runsOver(2);

    // Assess: no heartbeat and no completion until attempt 2 ran; then attempt 1's completion was refused
    expect(callsBeforeNewerAttempt).toBe(0);
    expect(callbacks.calls.map((c) => [c.route, c.token]).sort()).toEqual([
      ['complete', 'token-1'],
      ['complete', 'token-2'],
    ]);
    expect(
      agents
        .callbacks()
        .map((r) => [r.attempt, r.route, r.token, r.status, r.completion])
        .sort(),
    ).toEqual([
      [1, 'complete', 'current', 409, 'result'],
      [2, 'complete', 'current', 200, 'result'],
    ]);
    expect([...agents.successes()]).toEqual([[TASK_ID, 1]]);
    expect([...agents.asyncRunAttempts()]).toEqual([[TASK_ID, [1, 2]]]);
  });

  it('records whether each completion carried the echo or an error', async () => {
    // Act
    await handOff('{"fail_attempts":1}', { attempt: 1, token: 'token-1' });
    await runsOver(1);
    await handOff('{"fail_attempts":1}', { attempt: 2, token: 'token-2' });
    await runsOver(2);

    // Assess
    expect(agents.callbacks().map((r) => [r.attempt, r.completion])).toEqual([
      [1, 'error'],
      [2, 'result'],
    ]);
  });

  it('stops its runs, timers and callbacks when the server is closed', async () => {
    // Prepare
    await handOff('{"ms":3600000,"heartbeat_ms":10}');
    while (callbacks.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 2));

    // Act
    await agents.close();

    // Assess
    expect(agents.asyncRuns().active).toBe(0);
    const seen = callbacks.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(callbacks.calls.length).toBe(seen);
    expect(callbacks.calls.every((c) => c.route === 'heartbeat')).toBe(true);
    agents = await startDemoAgents({});
  });
});
