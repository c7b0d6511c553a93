import { type DemoAgents, MAX_SLEEP_MS, sleepDurationMs, startDemoAgents } from '../../../local/demo-agents';

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

  it.each([[{ ms: 'soon' }], [{ ms: -1 }], [{}], [null]])(
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
    // Prepare: a second server whose agents hang for a while before answering
    const slow = await startDemoAgents({
      beforeAnswer: () => new Promise((resolve) => setTimeout(resolve, 300)),
    });
    try {
      // Act
      const request = fetch(`${slow.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: TASK_ID, type: 'echo', payload: {}, attempt: 1 }),
        signal: AbortSignal.timeout(50),
      });
      await expect(request).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 400));

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
