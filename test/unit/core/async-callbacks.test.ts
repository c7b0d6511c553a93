import fc from 'fast-check';
import { tokenHash, tokenId } from '../../../lambda/core/async-attempt';
import {
  type AsyncSettledEvent,
  bearerToken,
  type CallbackDeps,
  type Completion,
  completeTask,
  heartbeatTask,
  parseCompletion,
  parseHeartbeat,
  settleAsync,
} from '../../../lambda/core/async-callbacks';
import { HttpError } from '../../../lambda/core/errors';
import { agentCounterKey, type HeldSlots, liveHolders } from '../../../lambda/core/limits';
import { RETRY_CLOCK_SKEW_MS } from '../../../lambda/core/retry-policy';
import type { TaskRecord } from '../../../lambda/core/task';
import { InMemoryLimiter, InMemoryTaskMessages, InMemoryTaskStore } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const NOW_MS = NOW.getTime();
const NOW_S = NOW_MS / 1000;
const TOKEN = 'current-token-of-attempt-2';
const STALE_TOKEN = 'earlier-token-of-attempt-1';
const HEARTBEAT_SECONDS = 60;
/** Attempt 2's backoff with base 10 s at random 0.5 (setup): a delay in [0, 20], 10 s. */
const ATTEMPT_2_BACKOFF = 10;

const settings = {
  maxReceiveCount: 3,
  backoff: { baseSeconds: 10, capSeconds: 300 },
  maxResultBytes: 64,
  retentionSeconds: 3600,
};

/** Attempt 2 of an async agent, running under its deadline, its message held by `receipt-2`. */
function runningAsync(fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: TASK_ID,
    type: 'research',
    priority: 'low',
    status: 'RUNNING',
    attempts: 2,
    created_at: '2026-01-01T11:00:00.000Z',
    updated_at: '2026-01-01T11:59:00.000Z',
    started_at: '2026-01-01T11:10:00.000Z',
    enqueue_id: 'e1',
    request_hash: 'hash',
    error: { code: 'HeartbeatTimeout', message: 'attempt 1 went silent' },
    agent_mode: 'async',
    token_hash: tokenHash(TOKEN),
    callback_tokens: new Set([tokenId(tokenHash(STALE_TOKEN)), tokenId(tokenHash(TOKEN))]),
    receipt_handle: 'receipt-2',
    receive_count: 2,
    heartbeat_seconds: HEARTBEAT_SECONDS,
    run_deadline: NOW_MS + 3_600_000,
    lease_until: NOW_MS + 30_000,
    claim_id: 'claim-2',
    ...fields,
  };
}

function setup(record: TaskRecord = runningAsync()) {
  const store = new InMemoryTaskStore([record]);
  const messages = new InMemoryTaskMessages();
  const messageErrors: unknown[] = [];
  const settled: AsyncSettledEvent[] = [];
  const deps: CallbackDeps = {
    store,
    messages,
    settings,
    now: () => NOW,
    random: () => 0.5,
    onMessageError: (error) => messageErrors.push(error),
    onSettled: (event) => settled.push(event),
  };
  return { store, messages, messageErrors, settled, deps, task: () => store.records.get(TASK_ID)! };
}

/** The error an async call rejected with, as its HTTP answer: status, code and the fields it names. */
async function rejection(
  promise: Promise<unknown>,
): Promise<{ status: number; code: string; paths?: string[] }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof HttpError)) throw new Error(`expected an HttpError, got ${String(error)}`);
  return {
    status: error.statusCode,
    code: error.code,
    ...(error.details && { paths: error.details.map((d) => d.path) }),
  };
}

/** The same, for a synchronous call. */
function thrown(fn: () => unknown): { status: number; code: string; paths?: string[] } {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return {
      status: error.statusCode,
      code: error.code,
      ...(error.details && { paths: error.details.map((d) => d.path) }),
    };
  }
  throw new Error('expected it to throw');
}

const result = (value: unknown): Completion => ({ kind: 'result', result: value });
const failure = (code: string, retryable: boolean): Completion => ({
  kind: 'error',
  error: { code, message: `the agent says ${code}` },
  retryable,
});

describe('Function: heartbeatTask', () => {
  it("moves the deadline one heartbeat window on from now, and the message visibility to it plus the margin and the attempt's backoff", async () => {
    // Prepare
    const { deps, messages, task } = setup(runningAsync({ lease_until: NOW_MS + 10_000 }));

    // Act
    const answer = await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(answer).toEqual({ status: 'RUNNING', cancel_requested: false });
    expect(task()).toMatchObject({ lease_until: NOW_MS + 60_000, heartbeat_at: NOW.toISOString() });
    expect(messages.operations).toEqual([
      {
        op: 'changeVisibility',
        priority: 'low',
        receiptHandle: 'receipt-2',
        seconds: 60 + 2 + ATTEMPT_2_BACKOFF,
      },
    ]);
  });

  it('never shrinks the deadline: a heartbeat during the hand-off keeps the time the hand-off was given', async () => {
    // Prepare
    const { deps, messages, task } = setup(runningAsync({ lease_until: NOW_MS + 120_000 }));

    // Act
    await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(task().lease_until).toBe(NOW_MS + 120_000);
    expect(messages.operations).toEqual([
      {
        op: 'changeVisibility',
        priority: 'low',
        receiptHandle: 'receipt-2',
        seconds: 120 + 2 + ATTEMPT_2_BACKOFF,
      },
    ]);
  });

  it('never moves the deadline past the run deadline (maxRunTime)', async () => {
    // Prepare
    const { deps, messages, task } = setup(
      runningAsync({ lease_until: NOW_MS + 10_000, run_deadline: NOW_MS + 30_000 }),
    );

    // Act
    await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(task().lease_until).toBe(NOW_MS + 30_000);
    expect(messages.operations).toEqual([
      {
        op: 'changeVisibility',
        priority: 'low',
        receiptHandle: 'receipt-2',
        seconds: 30 + 2 + ATTEMPT_2_BACKOFF,
      },
    ]);
  });

  it('records the progress it reports, and keeps the last one when a heartbeat reports none', async () => {
    // Prepare
    const { deps, task } = setup();

    // Act
    await heartbeatTask(TASK_ID, TOKEN, { percent: 40, message: 'reading sources' }, deps);
    await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(task().progress).toEqual({ percent: 40, message: 'reading sources' });
  });

  it('tells the agent that a cancel was requested', async () => {
    // Prepare
    const { deps } = setup(runningAsync({ cancel_requested: true }));

    // Act
    const answer = await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(answer).toEqual({ status: 'RUNNING', cancel_requested: true });
  });

  it('accepts a heartbeat at the very millisecond of the deadline', async () => {
    // Prepare
    const { deps, task } = setup(runningAsync({ lease_until: NOW_MS }));

    // Act
    await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(task().lease_until).toBe(NOW_MS + 60_000);
  });

  it('answers 401 for a token nobody was given', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const answer = await rejection(heartbeatTask(TASK_ID, 'not-a-token-of-this-task', undefined, deps));

    // Assess
    expect(answer).toEqual({ status: 401, code: 'Unauthorized' });
  });

  it('answers 401 for a task that does not exist, as for any unknown token', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const answer = await rejection(
      heartbeatTask('7c9e6679-7425-40de-944b-e07fc1f90ae7', TOKEN, undefined, deps),
    );

    // Assess
    expect(answer).toEqual({ status: 401, code: 'Unauthorized' });
  });

  it.each<[string, string, Partial<TaskRecord>]>([
    ['an earlier attempt', STALE_TOKEN, {}],
    ['the current attempt, a millisecond after its deadline', TOKEN, { lease_until: NOW_MS - 1 }],
    ['the attempt that ended the task', TOKEN, { status: 'SUCCEEDED', result: 1 }],
    ['the attempt that is waiting for its retry', TOKEN, { status: 'RETRYING', retry_at: NOW_MS + 5000 }],
  ])(
    'answers 409 AttemptNotCurrent to the token of %s, and changes nothing',
    async (_name, token, fields) => {
      // Prepare
      const before = runningAsync(fields);
      const { deps, messages, task } = setup(before);

      // Act
      const answer = await rejection(heartbeatTask(TASK_ID, token, undefined, deps));

      // Assess
      expect(answer).toEqual({ status: 409, code: 'AttemptNotCurrent' });
      expect(task()).toEqual(before);
      expect(messages.operations).toEqual([]);
    },
  );

  it('answers 409 to the token of an earlier async attempt once a sync attempt runs the task', async () => {
    // Prepare: a sync claim removed the async fields but kept the hashes of every token
    const {
      agent_mode: _m,
      token_hash: _h,
      receipt_handle: _r,
      heartbeat_seconds: _s,
      run_deadline: _d,
      ...sync
    } = runningAsync();
    const { deps } = setup(sync);

    // Act
    const answer = await rejection(heartbeatTask(TASK_ID, TOKEN, undefined, deps));

    // Assess
    expect(answer).toEqual({ status: 409, code: 'AttemptNotCurrent' });
  });

  it('answers 200 even when the message cannot be moved: the record holds the deadline', async () => {
    // Prepare
    const { deps, messages, messageErrors, task } = setup();
    messages.failure = new Error('ReceiptHandleIsInvalid');

    // Act
    const answer = await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(answer).toEqual({ status: 'RUNNING', cancel_requested: false });
    expect(task().lease_until).toBe(NOW_MS + 60_000);
    expect(messageErrors).toEqual([messages.failure]);
  });
});

describe('Function: completeTask', () => {
  it('stores a result as SUCCEEDED, deletes the message and answers the task', async () => {
    // Prepare
    const { deps, messages, settled, task } = setup();

    // Act
    const view = await completeTask(TASK_ID, TOKEN, result({ answer: 42 }), deps);

    // Assess
    expect(task()).toMatchObject({
      status: 'SUCCEEDED',
      result: { answer: 42 },
      finished_at: NOW.toISOString(),
      expires_at: NOW_S + 3600,
    });
    expect(task().error).toBeUndefined();
    expect(task().lease_until).toBeUndefined();
    expect(view).toMatchObject({
      task_id: TASK_ID,
      status: 'SUCCEEDED',
      result: { answer: 42 },
      attempts: 2,
    });
    expect(messages.operations).toEqual([{ op: 'delete', priority: 'low', receiptHandle: 'receipt-2' }]);
    expect(settled).toEqual([
      { task_id: TASK_ID, type: 'research', priority: 'low', attempt: 2, status: 'SUCCEEDED', lease: 'held' },
    ]);
  });

  it('answers the same completion sent twice with 200 both times, and the second changes nothing', async () => {
    // Prepare
    const { deps, messages, settled, task } = setup();
    const first = await completeTask(TASK_ID, TOKEN, result({ answer: 42 }), deps);
    const after = task();

    // Act
    const second = await completeTask(TASK_ID, TOKEN, result({ answer: 42 }), deps);

    // Assess
    expect(second).toEqual(first);
    expect(task()).toBe(after);
    expect(messages.operations).toHaveLength(1);
    expect(settled).toHaveLength(1);
  });

  it.each<[string, Completion]>([
    ['another result', result({ answer: 43 })],
    ['an error', failure('AgentError', false)],
  ])(
    'answers 409 CompletionConflict to %s after the task ended, and changes nothing',
    async (_name, other) => {
      // Prepare
      const { deps, messages, task } = setup();
      await completeTask(TASK_ID, TOKEN, result({ answer: 42 }), deps);
      const after = task();

      // Act
      const answer = await rejection(completeTask(TASK_ID, TOKEN, other, deps));

      // Assess
      expect(answer).toEqual({ status: 409, code: 'CompletionConflict' });
      expect(task()).toBe(after);
      expect(messages.operations).toHaveLength(1);
    },
  );

  it('answers the same retryable error sent twice with 200: the attempt is RETRYING, not a new one', async () => {
    // Prepare
    const { deps, task } = setup();
    await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);
    const after = task();

    // Act
    const view = await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

    // Assess
    expect(view.status).toBe('RETRYING');
    expect(task()).toBe(after);
  });

  it('retries a retryable error with backoff: RETRYING, its retry time, and the message back after the backoff', async () => {
    // Prepare: attempt 2, base 10 s: a delay in [0, 20], 10 s at random 0.5
    const { deps, messages, task } = setup();

    // Act
    const view = await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

    // Assess
    expect(view.status).toBe('RETRYING');
    expect(task()).toMatchObject({
      status: 'RETRYING',
      error: { code: 'AgentBusy', message: 'the agent says AgentBusy' },
      retry_at: NOW_MS + 10_000 - RETRY_CLOCK_SKEW_MS,
    });
    expect(task().finished_at).toBeUndefined();
    expect(messages.operations).toEqual([
      { op: 'changeVisibility', priority: 'low', receiptHandle: 'receipt-2', seconds: 10 },
    ]);
  });

  it.each([3, 4])(
    'fails a retryable error on the last delivery (receive count %i of 3) and makes the message visible at once',
    async (receiveCount) => {
      // Prepare
      const { deps, messages, task } = setup(runningAsync({ receive_count: receiveCount }));

      // Act
      await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

      // Assess
      expect(task()).toMatchObject({
        status: 'FAILED',
        error: { code: 'AgentBusy' },
        expires_at: NOW_S + 3600,
      });
      expect(messages.operations).toEqual([
        { op: 'changeVisibility', priority: 'low', receiptHandle: 'receipt-2', seconds: 0 },
      ]);
    },
  );

  it('fails a non-retryable error at once and makes the message visible, for the DLQ copy', async () => {
    // Prepare
    const { deps, messages, task } = setup();

    // Act
    const view = await completeTask(TASK_ID, TOKEN, failure('BadInput', false), deps);

    // Assess
    expect(view.status).toBe('FAILED');
    expect(task()).toMatchObject({
      status: 'FAILED',
      error: { code: 'BadInput', message: 'the agent says BadInput' },
    });
    expect(messages.operations).toEqual([
      { op: 'changeVisibility', priority: 'low', receiptHandle: 'receipt-2', seconds: 0 },
    ]);
  });

  it('fails a result over maxResultBytes with ResultTooLarge, and stores no result', async () => {
    // Prepare: JSON.stringify('x'.repeat(63)) is 65 bytes, one over the limit
    const { deps, messages, task } = setup();

    // Act
    await completeTask(TASK_ID, TOKEN, result('x'.repeat(63)), deps);

    // Assess
    expect(task()).toMatchObject({ status: 'FAILED', error: { code: 'ResultTooLarge' } });
    expect(task().result).toBeUndefined();
    expect(messages.operations).toEqual([
      { op: 'changeVisibility', priority: 'low', receiptHandle: 'receipt-2', seconds: 0 },
    ]);
  });

  it('stores a result of exactly maxResultBytes', async () => {
    // Prepare: JSON.stringify('x'.repeat(62)) is 64 bytes
    const { deps, task } = setup();

    // Act
    await completeTask(TASK_ID, TOKEN, result('x'.repeat(62)), deps);

    // Assess
    expect(task().status).toBe('SUCCEEDED');
  });

  it('cancels the task when the agent stops with Cancelled after a cancel request, and deletes the message', async () => {
    // Prepare
    const { deps, messages, task } = setup(runningAsync({ cancel_requested: true }));

    // Act
    const view = await completeTask(
      TASK_ID,
      TOKEN,
      parseCompletion('{"error":{"code":"Cancelled","message":"stopped"}}'),
      deps,
    );

    // Assess
    expect(view.status).toBe('CANCELLED');
    expect(task()).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    expect(messages.operations).toEqual([{ op: 'delete', priority: 'low', receiptHandle: 'receipt-2' }]);
  });

  it('cancels the task when a retryable error follows a cancel request: no retry of a cancelled task', async () => {
    // Prepare
    const { deps, messages, task } = setup(runningAsync({ cancel_requested: true }));

    // Act
    await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

    // Assess
    expect(task()).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    expect(messages.operations).toEqual([{ op: 'delete', priority: 'low', receiptHandle: 'receipt-2' }]);
  });

  it('succeeds with a result sent after a cancel request: the work is done', async () => {
    // Prepare
    const { deps, task } = setup(runningAsync({ cancel_requested: true }));

    // Act
    await completeTask(TASK_ID, TOKEN, result({ done: true }), deps);

    // Assess
    expect(task()).toMatchObject({ status: 'SUCCEEDED', result: { done: true } });
  });

  it('answers 401 for a token nobody was given, and changes nothing', async () => {
    // Prepare
    const before = runningAsync();
    const { deps, task } = setup(before);

    // Act
    const answer = await rejection(completeTask(TASK_ID, 'wrong', result(1), deps));

    // Assess
    expect(answer).toEqual({ status: 401, code: 'Unauthorized' });
    expect(task()).toEqual(before);
  });

  it.each<[string, string, Partial<TaskRecord>]>([
    ['an earlier attempt', STALE_TOKEN, {}],
    ['the current attempt, a millisecond after its deadline', TOKEN, { lease_until: NOW_MS - 1 }],
    [
      'the attempt whose loss the consumer recorded',
      TOKEN,
      { status: 'RETRYING', retry_at: NOW_MS + 5000, error: { code: 'HeartbeatTimeout', message: 'lost' } },
    ],
    ['the attempt of a FAILED task that no completion ended', TOKEN, { status: 'FAILED' }],
  ])(
    'answers 409 AttemptNotCurrent to the token of %s, and changes nothing',
    async (_name, token, fields) => {
      // Prepare
      const before = runningAsync(fields);
      const { deps, messages, task } = setup(before);

      // Act
      const answer = await rejection(completeTask(TASK_ID, token, result(1), deps));

      // Assess
      expect(answer).toEqual({ status: 409, code: 'AttemptNotCurrent' });
      expect(task()).toEqual(before);
      expect(messages.operations).toEqual([]);
    },
  );

  it('answers with the task even when its message cannot be deleted: the task is settled', async () => {
    // Prepare
    const { deps, messages, messageErrors, task } = setup();
    messages.failure = new Error('ReceiptHandleIsInvalid');

    // Act
    const view = await completeTask(TASK_ID, TOKEN, result(1), deps);

    // Assess
    expect(view.status).toBe('SUCCEEDED');
    expect(task().status).toBe('SUCCEEDED');
    expect(messageErrors).toEqual([messages.failure]);
  });
});

describe('Properties: a wrong token', () => {
  it('never changes the task, through either callback route, whatever the task state', async () => {
    // Prepare
    const states = fc.constantFrom<Partial<TaskRecord>>(
      {},
      { lease_until: NOW_MS - 1 },
      { cancel_requested: true },
      { status: 'SUCCEEDED', result: 1, completion_hash: 'x' },
      { status: 'RETRYING', retry_at: NOW_MS + 1000 },
    );
    const tokens = fc
      .oneof(fc.string(), fc.base64String(), fc.constant(`${TOKEN}x`), fc.constant(TOKEN.slice(1)))
      .filter((t) => t !== TOKEN);
    const calls = fc.constantFrom('heartbeat', 'complete');

    // Act & Assess
    await fc.assert(
      fc.asyncProperty(states, tokens, calls, async (fields, token, route) => {
        const before = runningAsync(fields);
        const { deps, messages, task } = setup(structuredClone(before));
        const call =
          route === 'heartbeat'
            ? heartbeatTask(TASK_ID, token, { percent: 99 }, deps)
            : completeTask(TASK_ID, token, result({ forged: true }), deps);
        const answer = await rejection(call);
        expect([401, 409]).toContain(answer.status);
        expect(task()).toEqual(before);
        expect(messages.operations).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Function: bearerToken', () => {
  it('reads the token of an Authorization: Bearer header', () => {
    // Act
    const token = bearerToken('Bearer abc-DEF_123');

    // Assess
    expect(token).toBe('abc-DEF_123');
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])('reads the scheme name %s in any case, as HTTP does', (scheme) => {
    // Act
    const token = bearerToken(`${scheme} abc-DEF_123`);

    // Assess
    expect(token).toBe('abc-DEF_123');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['of another scheme', 'Basic dXNlcjpwYXNz'],
    ['without a token', 'Bearer '],
    ['with a space in the token', 'Bearer a b'],
  ])('answers 401 Unauthorized to a header %s', (_name, header) => {
    // Act
    const answer = thrown(() => bearerToken(header));

    // Assess
    expect(answer).toEqual({ status: 401, code: 'Unauthorized' });
  });
});

describe('Function: parseHeartbeat', () => {
  it.each([
    ['no body', undefined],
    ['an empty body', ''],
    ['an empty object', '{}'],
  ])('takes %s as a heartbeat without progress', (_name, body) => {
    // Act
    const progress = parseHeartbeat(body);

    // Assess
    expect(progress).toBeUndefined();
  });

  it('reads the percent and the message', () => {
    // Act
    const progress = parseHeartbeat('{"progress":{"percent":12.5,"message":"step 3"}}');

    // Assess
    expect(progress).toEqual({ percent: 12.5, message: 'step 3' });
  });

  it.each([0, 100])('accepts the percent %i, a bound of the range', (percent) => {
    // Act
    const progress = parseHeartbeat(JSON.stringify({ progress: { percent } }));

    // Assess
    expect(progress).toEqual({ percent });
  });

  it('accepts a message of exactly 1 KiB of UTF-8', () => {
    // Prepare: 512 two-byte characters
    const message = 'é'.repeat(512);

    // Act
    const progress = parseHeartbeat(JSON.stringify({ progress: { message } }));

    // Assess
    expect(progress).toEqual({ message });
  });

  it.each<[string, string, string]>([
    ['a percent below 0', '{"progress":{"percent":-0.1}}', 'body.progress.percent'],
    ['a percent above 100', '{"progress":{"percent":100.5}}', 'body.progress.percent'],
    ['a percent that is a string', '{"progress":{"percent":"50"}}', 'body.progress.percent'],
    [
      'a message over 1 KiB of UTF-8',
      JSON.stringify({ progress: { message: 'é'.repeat(513) } }),
      'body.progress.message',
    ],
    ['a message that is not a string', '{"progress":{"message":5}}', 'body.progress.message'],
    ['an unknown progress field', '{"progress":{"eta":5}}', 'body.progress.eta'],
    ['an unknown field', '{"progress":{},"status":"ok"}', 'body.status'],
    ['a progress that is not an object', '{"progress":50}', 'body.progress'],
    ['a body that is not an object', '[1]', 'body'],
  ])('answers 400 ValidationError to %s, naming the field', (_name, body, path) => {
    // Act
    const answer = thrown(() => parseHeartbeat(body));

    // Assess
    expect(answer).toEqual({ status: 400, code: 'ValidationError', paths: [path] });
  });

  it('answers 400 InvalidJson to a body that is not JSON', () => {
    // Act
    const answer = thrown(() => parseHeartbeat('{"progress":'));

    // Assess
    expect(answer).toEqual({ status: 400, code: 'InvalidJson' });
  });
});

describe('Function: parseCompletion', () => {
  it.each([
    ['an object', '{"result":{"a":[1,2]}}', { a: [1, 2] }],
    ['null', '{"result":null}', null],
    ['a string', '{"result":"done"}', 'done'],
  ])('reads a result that is %s', (_name, body, value) => {
    // Act
    const completion = parseCompletion(body);

    // Assess
    expect(completion).toEqual({ kind: 'result', result: value });
  });

  it('reads an error with its code, message and whether it may be retried', () => {
    // Act
    const completion = parseCompletion('{"error":{"code":"RateLimited","message":"later","retryable":true}}');

    // Assess
    expect(completion).toEqual({
      kind: 'error',
      error: { code: 'RateLimited', message: 'later' },
      retryable: true,
    });
  });

  it('reads { "error": { "code": "Cancelled" } }, the stop the protocol asks for after a cancel request', () => {
    // Act
    const completion = parseCompletion('{"error":{"code":"Cancelled"}}');

    // Assess
    expect(completion).toEqual({
      kind: 'error',
      error: { code: 'Cancelled', message: '' },
      retryable: false,
    });
  });

  it.each<[string, string | undefined, string]>([
    ['no body', undefined, 'body'],
    ['both a result and an error', '{"result":1,"error":{"code":"X","retryable":false}}', 'body'],
    ['neither a result nor an error', '{}', 'body'],
    ['an unknown field', '{"outcome":1}', 'body'],
    ['an error that is not an object', '{"error":"boom"}', 'body.error'],
    ['an error without a code', '{"error":{"message":"m","retryable":false}}', 'body.error.code'],
    ['an error code with a space', '{"error":{"code":"a b","retryable":false}}', 'body.error.code'],
    [
      'a message that is not a string',
      '{"error":{"code":"X","message":5,"retryable":false}}',
      'body.error.message',
    ],
    ['a retryable that is not a boolean', '{"error":{"code":"X","retryable":"yes"}}', 'body.error.retryable'],
    ['a missing retryable', '{"error":{"code":"X","message":"m"}}', 'body.error.retryable'],
    [
      'an unknown field of the error',
      '{"error":{"code":"X","retryable":true,"extra":1}}',
      'body.error.extra',
    ],
  ])('answers 400 ValidationError to %s, naming the field', (_name, body, path) => {
    // Act
    const answer = thrown(() => parseCompletion(body));

    // Assess
    expect(answer).toEqual({ status: 400, code: 'ValidationError', paths: [path] });
  });

  it('answers 400 InvalidJson to a body that is not JSON', () => {
    // Act
    const answer = thrown(() => parseCompletion('{"result":'));

    // Assess
    expect(answer).toEqual({ status: 400, code: 'InvalidJson' });
  });
});

describe('Limits: the slots of an async attempt', () => {
  const AGENT = agentCounterKey('research');

  /** Attempt 2 holding a slot of its agent until its deadline, as its claim was granted. */
  async function holding(fields: Partial<TaskRecord> = {}) {
    const limiter = new InMemoryLimiter();
    const record = runningAsync(fields);
    const grant = await limiter.acquire({
      holder: `${TASK_ID}/0123456789ab`,
      priority: 'low',
      nowMs: NOW_MS - 1_000,
      holdUntilMs: record.lease_until!,
      wakeUpMs: 5_000,
      agent: { key: AGENT, limits: { maxConcurrency: 2 } },
    });
    if (!grant.granted) throw new Error('the test could not take a slot');
    const slots: HeldSlots = grant.slots;
    const context = setup({ ...record, slots });
    const deps: CallbackDeps = { ...context.deps, limiter };
    return {
      ...context,
      deps,
      limiter,
      slots,
      live: () => liveHolders(limiter.counters.get(AGENT)!, NOW_MS),
    };
  }

  it('a heartbeat holds the slots until the new deadline', async () => {
    // Prepare
    const { deps, live, slots, task } = await holding({ lease_until: NOW_MS + 10_000 });

    // Act
    await heartbeatTask(TASK_ID, TOKEN, undefined, deps);

    // Assess
    expect(task().lease_until).toBe(NOW_MS + HEARTBEAT_SECONDS * 1000);
    expect(live()).toEqual({ [slots.holder]: NOW_MS + HEARTBEAT_SECONDS * 1000 });
  });

  it.each([
    ['a result', result({ ok: true }), 'SUCCEEDED'],
    ['a retryable error', failure('AgentBusy', true), 'RETRYING'],
    ['a non-retryable error', failure('BadInput', false), 'FAILED'],
  ] as const)('a completion with %s gives the slots back', async (_name, completion, status) => {
    // Prepare
    const { deps, live, settled } = await holding();

    // Act
    const view = await completeTask(TASK_ID, TOKEN, completion, deps);

    // Assess: given back, and the gauge is told how many are left in use
    expect(view.status).toBe(status);
    expect(live()).toEqual({});
    expect(settled).toEqual([expect.objectContaining({ agent_slots_in_use: 0 })]);
  });

  it('a completion refused (a stale token) leaves the slots alone', async () => {
    // Prepare
    const { deps, live, slots } = await holding();

    // Act
    await completeTask(TASK_ID, STALE_TOKEN, result({ ok: true }), deps).catch(() => undefined);

    // Assess
    expect(live()).toEqual({ [slots.holder]: NOW_MS + 30_000 });
  });

  it('a lapse does not touch them: they ran out with the deadline', async () => {
    // Prepare
    const { deps, limiter, task } = await holding({ lease_until: NOW_MS - 1 });
    const before = limiter.counters.get(AGENT);
    const release = jest.spyOn(limiter, 'release');
    const extend = jest.spyOn(limiter, 'extend');

    // Act
    const settled = await settleAsync(
      task(),
      undefined,
      { lease: 'expired', receiveCount: 2, backoffWaited: true },
      deps,
    );

    // Assess
    expect(settled?.record.status).toBe('RETRYING');
    expect({ release: release.mock.calls, extend: extend.mock.calls }).toEqual({ release: [], extend: [] });
    expect(limiter.counters.get(AGENT)).toBe(before);
  });
});

describe('Limits: the attempts bound of an async attempt', () => {
  it("fails a retryable error once the attempts since the last redrive reach maxReceiveCount, though SQS's receive count is low", async () => {
    // Prepare: attempt 3 of 3, its message re-sent after a wait (receive count 1)
    const { deps, messages, task } = setup(runningAsync({ attempts: 3, receive_count: 1 }));

    // Act
    await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

    // Assess: visible at once, so that the consumer copies it to the DLQ (the FAILED task's message)
    expect(task()).toMatchObject({ status: 'FAILED', error: { code: 'AgentBusy' } });
    expect(messages.operations).toEqual([
      { op: 'changeVisibility', priority: 'low', receiptHandle: 'receipt-2', seconds: 0 },
    ]);
  });

  it('retries it when the task was redriven since', async () => {
    // Prepare
    const { deps, task } = setup(runningAsync({ attempts: 3, attempts_base: 2, receive_count: 1 }));

    // Act
    await completeTask(TASK_ID, TOKEN, failure('AgentBusy', true), deps);

    // Assess
    expect(task().status).toBe('RETRYING');
  });
});
