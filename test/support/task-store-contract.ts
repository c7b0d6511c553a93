/**
 * The task store's contract: one table of cases that every TaskStore must pass, run against the in-memory fake
 * (test/unit/support/in-memory-task-store.test.ts) and against DynamoDB Local
 * (test/integration/task-store-contract.test.ts), so that the fake the use-case tests rely on cannot drift from
 * the real store.
 *
 * The expected answers are written out here, not derived from lambda/core/transitions.ts: a change to a rule
 * must show up as a changed line of this table.
 */
import { randomUUID } from 'node:crypto';
import type { AsyncClaim } from '../../lambda/core/async-attempt';
import type { HeldSlots, TaskWaiting } from '../../lambda/core/limits';
import type { AsyncEnding, TaskStore } from '../../lambda/core/ports';
import type { TaskEnvelope, TaskError, TaskProgress, TaskRecord, TaskStatus } from '../../lambda/core/task';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const NOW_MS = NOW.getTime();
const ISO = NOW.toISOString();
const LEASE_SECONDS = 30;
const EXPIRES_AT = 1_900_000_000;
const GRACE_SECONDS = 900;
/** The end of the redrive grace period at NOW: a redrive at or after it is within the grace. */
const GRACE_END_MS = NOW_MS - GRACE_SECONDS * 1000;
/** The attempt every RUNNING record of the table holds. */
const ATTEMPT = 2;
/** The not-before time a retry write stores (epoch ms). */
const RETRY_AT = NOW_MS + 5_000;

const EARLIER_ERROR: TaskError = { code: 'AgentTimeout', message: 'an earlier attempt timed out' };
const NEW_ERROR: TaskError = { code: 'AgentError', message: 'this attempt failed' };
const DEAD_LETTERED: TaskError = { code: 'DeadLettered', message: 'the message is in the DLQ' };
const RESULT = { answer: 42, nested: [null, { ok: true }] };
const HEARTBEAT_TIMEOUT: TaskError = { code: 'HeartbeatTimeout', message: 'no heartbeat came in time' };
const CANCELLED: TaskError = { code: 'Cancelled', message: 'stopped on request' };
/** What an async agent's completion leaves on the record, so that the same one sent again is recognised. */
const COMPLETION_HASH = 'completion-of-attempt-2';
/** The deadline a heartbeat writes (epoch ms). */
const HEARTBEAT_LEASE = NOW_MS + 120_000;
const PROGRESS: TaskProgress = { percent: 37.5, message: 'half way, almost' };
/** The hashes of the tokens of the async attempts so far (their `callback_tokens` prefixes). */
const TOKEN_1 = 'a'.repeat(64);
const TOKEN_2 = 'b'.repeat(64);
const TOKEN_3 = 'c'.repeat(64);
/** What a wait writes: a limit holds the task back (limits.ts). */
const WAITING: TaskWaiting = { reason: 'AgentConcurrencyLimit', since: '2026-03-01T11:58:00.000Z' };
/** The limiter counters an attempt holds a slot in, and the holder id it holds them under. */
const SLOTS: HeldSlots = { keys: ['agent#echo', 'tenant#acme'], holder: 'task/0123456789ab' };

type Transition = 'claim' | 'succeed' | 'retry' | 'fail' | 'cancel' | 'abandon' | 'requeue';
const TRANSITIONS: readonly Transition[] = [
  'claim',
  'succeed',
  'retry',
  'fail',
  'cancel',
  'abandon',
  'requeue',
];

function envelope(taskId: string, enqueueId = 'e1'): TaskEnvelope {
  return {
    schema_version: 1,
    task_id: taskId,
    enqueue_id: enqueueId,
    type: 'echo',
    priority: 'low',
    payload: {},
    created_at: '2026-03-01T11:00:00.000Z',
    request_hash: 'hash',
  };
}

/** A record of this enqueue (`e1`), at attempt ATTEMPT. */
function record(taskId: string, status: TaskStatus, fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: taskId,
    type: 'echo',
    priority: 'low',
    status,
    attempts: ATTEMPT,
    created_at: '2026-03-01T11:00:00.000Z',
    updated_at: '2026-03-01T11:30:00.000Z',
    request_hash: 'hash',
    enqueue_id: 'e1',
    ...fields,
  };
}

const without = (r: TaskRecord, ...keys: (keyof TaskRecord)[]): TaskRecord =>
  Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k as keyof TaskRecord))) as TaskRecord;

/** What an async attempt leaves on the record, apart from `callback_tokens`: a sync claim removes it. */
const ASYNC_ATTEMPT_FIELDS = [
  'agent_mode',
  'token_hash',
  'receipt_handle',
  'receive_count',
  'heartbeat_seconds',
  'run_deadline',
  'heartbeat_at',
  'progress',
  'cancel_requested',
  'completion_hash',
] as const;

const started = { started_at: '2026-03-01T11:10:00.000Z' };
/** What async attempt ATTEMPT left on the record: its token, the handle of its message, its deadlines. */
const asyncAttempt = (leaseUntil: number): Partial<TaskRecord> => ({
  agent_mode: 'async',
  token_hash: TOKEN_2,
  callback_tokens: new Set([TOKEN_1.slice(0, 32), TOKEN_2.slice(0, 32)]),
  receipt_handle: 'receipt-2',
  receive_count: 2,
  heartbeat_seconds: 60,
  run_deadline: NOW_MS + 3_600_000,
  heartbeat_at: '2026-03-01T11:59:00.000Z',
  progress: { percent: 10 },
  lease_until: leaseUntil,
});
const finished = { finished_at: '2026-03-01T11:40:00.000Z', expires_at: 1_800_000_000 };

/**
 * The states a record can be in, as far as the rules tell them apart. A RUNNING record carries the error of an
 * earlier attempt, as it does after a retry.
 */
const STATES = {
  QUEUED: (id: string) => record(id, 'QUEUED'),
  'RUNNING, lease held': (id: string) =>
    record(id, 'RUNNING', {
      ...started,
      error: EARLIER_ERROR,
      lease_until: NOW_MS + 60_000,
      claim_id: 'theirs',
    }),
  'RUNNING, lease expired': (id: string) =>
    record(id, 'RUNNING', { ...started, error: EARLIER_ERROR, lease_until: NOW_MS - 1, claim_id: 'theirs' }),
  RETRYING: (id: string) => record(id, 'RETRYING', { ...started, error: EARLIER_ERROR }),
  'RETRYING, retry due': (id: string) =>
    record(id, 'RETRYING', { ...started, error: EARLIER_ERROR, retry_at: NOW_MS - 1 }),
  'RETRYING, retry not due': (id: string) =>
    record(id, 'RETRYING', { ...started, error: EARLIER_ERROR, retry_at: NOW_MS + 60_000 }),
  SUCCEEDED: (id: string) => record(id, 'SUCCEEDED', { ...started, ...finished }),
  FAILED: (id: string) => record(id, 'FAILED', { ...started, ...finished, error: EARLIER_ERROR }),
  CANCELLED: (id: string) => record(id, 'CANCELLED', { ...finished, cancel_id: 'theirs' }),
  'RUNNING async, lease held': (id: string) =>
    record(id, 'RUNNING', {
      ...started,
      error: EARLIER_ERROR,
      ...asyncAttempt(NOW_MS + 60_000),
      claim_id: 'c',
    }),
  'RUNNING async, lease expired': (id: string) =>
    record(id, 'RUNNING', { ...started, error: EARLIER_ERROR, ...asyncAttempt(NOW_MS - 1), claim_id: 'c' }),
  // What a retryable completion or a lapse leaves: the async fields stay until the next claim.
  'RETRYING after async, retry due': (id: string) =>
    without(
      record(id, 'RETRYING', { ...started, ...asyncAttempt(0), error: EARLIER_ERROR, retry_at: NOW_MS - 1 }),
      'lease_until',
    ),
  'SUCCEEDED after async': (id: string) =>
    without(
      record(id, 'SUCCEEDED', {
        ...started,
        ...finished,
        ...asyncAttempt(0),
        result: RESULT,
        completion_hash: COMPLETION_HASH,
      }),
      'lease_until',
    ),
} as const;
type State = keyof typeof STATES;

/** Status × transition → does the store apply it? (the caller's enqueue id and attempt match, no redrive). */
// biome-ignore format: a table reads as a table
const ALLOWED: Record<State, Record<Transition, boolean>> = {
  //                             claim  succeed retry  fail   cancel abandon requeue
  QUEUED:                    row(true,  false, false, false, true,  true,  false),
  'RUNNING, lease held':     row(false, true,  true,  true,  false, false, false),
  'RUNNING, lease expired':  row(true,  true,  true,  true,  false, true,  true),
  RETRYING:                  row(true,  false, false, false, true,  true,  true),
  'RETRYING, retry due':     row(true,  false, false, false, true,  true,  true),
  'RETRYING, retry not due': row(false, false, false, false, true,  true,  true),
  SUCCEEDED:                 row(false, false, false, false, false, false, false),
  FAILED:                    row(false, false, false, false, false, false, true),
  CANCELLED:                 row(false, false, false, false, false, false, false),
  // The settle rules of the consumer's own (sync) attempt fence on the attempt alone; an async attempt's agent
  // settles through the complete… rules below. A claim never takes over an async attempt whose lease expired: the
  // lapse records the loss first.
  'RUNNING async, lease held':        row(false, true,  true,  true,  false, false, false),
  'RUNNING async, lease expired':     row(false, true,  true,  true,  false, true,  true),
  'RETRYING after async, retry due':  row(true,  false, false, false, true,  true,  true),
  'SUCCEEDED after async':            row(false, false, false, false, false, false, false),
};

type AsyncTransition =
  | 'adopt'
  | 'heartbeat'
  | 'requestCancel'
  | 'completeSucceed'
  | 'completeRetry'
  | 'completeFail'
  | 'completeCancel'
  | 'lapseRetry'
  | 'lapseFail'
  | 'lapseCancel';
const ASYNC_TRANSITIONS: readonly AsyncTransition[] = [
  'adopt',
  'heartbeat',
  'requestCancel',
  'completeSucceed',
  'completeRetry',
  'completeFail',
  'completeCancel',
  'lapseRetry',
  'lapseFail',
  'lapseCancel',
];

/**
 * Status × async transition → does the store apply it? An async write needs the current async attempt
 * (`agent_mode`, the caller's attempt), RUNNING; the agent's writes need its deadline to hold, the lapse needs it
 * to have passed, and a cancel request takes either.
 */
// biome-ignore format: a table reads as a table
const ASYNC_ALLOWED: Record<State, Record<AsyncTransition, boolean>> = {
  //                                      adopt  hbeat  reqCxl cSucc  cRetry cFail  cCxl   lRetry lFail  lCxl
  QUEUED:                            arow(false, false, false, false, false, false, false, false, false, false),
  'RUNNING, lease held':             arow(false, false, false, false, false, false, false, false, false, false),
  'RUNNING, lease expired':          arow(false, false, false, false, false, false, false, false, false, false),
  RETRYING:                          arow(false, false, false, false, false, false, false, false, false, false),
  'RETRYING, retry due':             arow(false, false, false, false, false, false, false, false, false, false),
  'RETRYING, retry not due':         arow(false, false, false, false, false, false, false, false, false, false),
  SUCCEEDED:                         arow(false, false, false, false, false, false, false, false, false, false),
  FAILED:                            arow(false, false, false, false, false, false, false, false, false, false),
  CANCELLED:                         arow(false, false, false, false, false, false, false, false, false, false),
  'RUNNING async, lease held':       arow(true,  true,  true,  true,  true,  true,  true,  false, false, false),
  'RUNNING async, lease expired':    arow(false, false, true,  false, false, false, false, true,  true,  true),
  'RETRYING after async, retry due': arow(false, false, false, false, false, false, false, false, false, false),
  'SUCCEEDED after async':           arow(false, false, false, false, false, false, false, false, false, false),
};

/** A limit holds the task back: the wait of the status the consumer read (`waitQueued` / `waitRetrying`). */
type WaitTransition = 'waitQueued' | 'waitRetrying';
const WAIT_TRANSITIONS: readonly WaitTransition[] = ['waitQueued', 'waitRetrying'];

/**
 * Status × wait → does the store apply it? A wait keeps the status it names, for the record's own enqueue only,
 * and a RETRYING task's only once its retry is due (before that the delivery is a duplicate copy, not a waiter).
 */
// biome-ignore format: a table reads as a table
const WAIT_ALLOWED: Record<State, Record<WaitTransition, boolean>> = {
  //                                      waitQueued waitRetrying
  QUEUED:                            wrow(true,      false),
  'RUNNING, lease held':             wrow(false,     false),
  'RUNNING, lease expired':          wrow(false,     false),
  RETRYING:                          wrow(false,     true),
  'RETRYING, retry due':             wrow(false,     true),
  'RETRYING, retry not due':         wrow(false,     false),
  SUCCEEDED:                         wrow(false,     false),
  FAILED:                            wrow(false,     false),
  CANCELLED:                         wrow(false,     false),
  'RUNNING async, lease held':       wrow(false,     false),
  'RUNNING async, lease expired':    wrow(false,     false),
  'RETRYING after async, retry due': wrow(false,     true),
  'SUCCEEDED after async':           wrow(false,     false),
};

function wrow(...allowed: boolean[]): Record<WaitTransition, boolean> {
  return Object.fromEntries(WAIT_TRANSITIONS.map((t, i) => [t, allowed[i]!])) as Record<
    WaitTransition,
    boolean
  >;
}

function arow(...allowed: boolean[]): Record<AsyncTransition, boolean> {
  return Object.fromEntries(ASYNC_TRANSITIONS.map((t, i) => [t, allowed[i]!])) as Record<
    AsyncTransition,
    boolean
  >;
}

function row(...allowed: boolean[]): Record<Transition, boolean> {
  return Object.fromEntries(TRANSITIONS.map((t, i) => [t, allowed[i]!])) as Record<Transition, boolean>;
}

type AnyTransition = Transition | AsyncTransition | WaitTransition;

/** The record after the transition was applied to `before`. */
const AFTER: Record<AnyTransition, (before: TaskRecord) => TaskRecord> = {
  // A claim clears the retry time of the attempt before it. A sync claim clears what an async attempt left, but
  // keeps the hashes of its tokens (`callback_tokens`), so that an old token is told apart as stale.
  claim: (b) => ({
    ...without(b, 'retry_at', 'waiting', 'slots', ...ASYNC_ATTEMPT_FIELDS),
    status: 'RUNNING',
    attempts: b.attempts + 1,
    lease_until: NOW_MS + LEASE_SECONDS * 1000,
    updated_at: ISO,
    started_at: b.started_at ?? ISO,
    claim_id: expect.any(String),
  }),
  // A success clears the error an earlier attempt left.
  succeed: (b) => ({
    ...without(b, 'lease_until', 'error'),
    status: 'SUCCEEDED',
    result: RESULT,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
  }),
  retry: (b) => ({
    ...without(b, 'lease_until'),
    status: 'RETRYING',
    error: NEW_ERROR,
    updated_at: ISO,
    retry_at: RETRY_AT,
  }),
  fail: (b) => ({
    ...without(b, 'lease_until'),
    status: 'FAILED',
    error: NEW_ERROR,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
  }),
  cancel: (b) => ({
    ...b,
    status: 'CANCELLED',
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
    cancel_id: expect.any(String),
  }),
  abandon: (b) => ({
    ...without(b, 'lease_until'),
    status: 'FAILED',
    error: DEAD_LETTERED,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
  }),
  // The attempt history (attempts, error) stays; an operator's redrive does not wait for the retry time.
  // A requeue forgets the async attempts: the redriven task starts afresh, and no old token can report. Its
  // retries are counted afresh from `attempts_base`, the attempts so far; a wait or a slot is forgotten too.
  requeue: (b) => ({
    ...without(
      b,
      'lease_until',
      'finished_at',
      'expires_at',
      'retry_at',
      'callback_tokens',
      'waiting',
      'slots',
      ...ASYNC_ATTEMPT_FIELDS,
    ),
    attempts_base: b.attempts,
    status: 'QUEUED',
    updated_at: ISO,
    redriven_at: ISO,
    redrive_count: (b.redrive_count ?? 0) + 1,
  }),
  // A wait records why and since when, nothing else: the status, the attempts and the times stay.
  waitQueued: (b) => ({ ...b, waiting: WAITING }),
  waitRetrying: (b) => ({ ...b, waiting: WAITING }),
  // A duplicate receive records its own receipt handle and receive count, nothing else.
  adopt: (b) => ({ ...b, receipt_handle: 'receipt-3', receive_count: 3 }),
  heartbeat: (b) => ({
    ...b,
    lease_until: HEARTBEAT_LEASE,
    heartbeat_at: ISO,
    updated_at: ISO,
    progress: PROGRESS,
  }),
  requestCancel: (b) => ({ ...b, cancel_requested: true, updated_at: ISO }),
  // An async attempt's end keeps its async fields (the completion reads the receipt handle from them) and records
  // which completion ended it.
  completeSucceed: (b) => ({
    ...without(b, 'lease_until', 'error'),
    status: 'SUCCEEDED',
    result: RESULT,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
    completion_hash: COMPLETION_HASH,
  }),
  completeRetry: (b) => ({
    ...without(b, 'lease_until'),
    status: 'RETRYING',
    error: NEW_ERROR,
    updated_at: ISO,
    retry_at: RETRY_AT,
    completion_hash: COMPLETION_HASH,
  }),
  completeFail: (b) => ({
    ...without(b, 'lease_until'),
    status: 'FAILED',
    error: NEW_ERROR,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
    completion_hash: COMPLETION_HASH,
  }),
  completeCancel: (b) => ({
    ...without(b, 'lease_until'),
    status: 'CANCELLED',
    error: CANCELLED,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
    completion_hash: COMPLETION_HASH,
  }),
  // A lapse is nobody's completion: it records none.
  lapseRetry: (b) => ({
    ...without(b, 'lease_until'),
    status: 'RETRYING',
    error: HEARTBEAT_TIMEOUT,
    updated_at: ISO,
    retry_at: RETRY_AT,
  }),
  lapseFail: (b) => ({
    ...without(b, 'lease_until'),
    status: 'FAILED',
    error: HEARTBEAT_TIMEOUT,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
  }),
  lapseCancel: (b) => ({
    ...without(b, 'lease_until'),
    status: 'CANCELLED',
    error: CANCELLED,
    updated_at: ISO,
    finished_at: ISO,
    expires_at: EXPIRES_AT,
  }),
};

/** The ending each complete… and lapse… transition writes, and the lease it is written under. */
const ENDINGS: Record<
  Exclude<AsyncTransition, 'adopt' | 'heartbeat' | 'requestCancel'>,
  readonly [AsyncEnding, 'held' | 'expired']
> = {
  completeSucceed: [
    { status: 'SUCCEEDED', result: RESULT, expiresAt: EXPIRES_AT, completionHash: COMPLETION_HASH },
    'held',
  ],
  completeRetry: [
    { status: 'RETRYING', error: NEW_ERROR, retryAtMs: RETRY_AT, completionHash: COMPLETION_HASH },
    'held',
  ],
  completeFail: [
    { status: 'FAILED', error: NEW_ERROR, expiresAt: EXPIRES_AT, completionHash: COMPLETION_HASH },
    'held',
  ],
  completeCancel: [
    { status: 'CANCELLED', error: CANCELLED, expiresAt: EXPIRES_AT, completionHash: COMPLETION_HASH },
    'held',
  ],
  lapseRetry: [{ status: 'RETRYING', error: HEARTBEAT_TIMEOUT, retryAtMs: RETRY_AT }, 'expired'],
  lapseFail: [{ status: 'FAILED', error: HEARTBEAT_TIMEOUT, expiresAt: EXPIRES_AT }, 'expired'],
  lapseCancel: [{ status: 'CANCELLED', error: CANCELLED, expiresAt: EXPIRES_AT }, 'expired'],
};

interface CallOptions {
  readonly enqueueId?: string;
  readonly attempt?: number;
  /** For a claim: the async attempt it starts (a sync one without). */
  readonly async?: AsyncClaim;
  /** For a claim: the limiter counters it holds a slot in. */
  readonly slots?: HeldSlots;
  /** For a wait: why the task waits (WAITING without it). */
  readonly waiting?: TaskWaiting;
}

/** Calls the transition the way its caller does, with the facts of this table unless `opts` says otherwise. */
function call(store: TaskStore, t: AnyTransition, taskId: string, opts: CallOptions = {}): Promise<unknown> {
  const attempt = opts.attempt ?? ATTEMPT;
  switch (t) {
    case 'claim':
      return store.claim(
        envelope(taskId, opts.enqueueId ?? 'e1'),
        NOW,
        LEASE_SECONDS,
        opts.async,
        opts.slots,
      );
    case 'waitQueued':
    case 'waitRetrying':
      return store.wait(
        taskId,
        t === 'waitQueued' ? 'QUEUED' : 'RETRYING',
        opts.enqueueId ?? 'e1',
        opts.waiting ?? WAITING,
        NOW,
      );
    case 'adopt':
      return store.adopt(taskId, attempt, 'receipt-3', 3, NOW);
    case 'heartbeat':
      return store.heartbeat(taskId, attempt, NOW, HEARTBEAT_LEASE, PROGRESS);
    case 'requestCancel':
      return store.requestCancel(taskId, attempt, NOW);
    case 'completeSucceed':
    case 'completeRetry':
    case 'completeFail':
    case 'completeCancel':
    case 'lapseRetry':
    case 'lapseFail':
    case 'lapseCancel':
      return store.finishAsync(taskId, attempt, ENDINGS[t][0], NOW, ENDINGS[t][1]);
    case 'succeed':
      return store.succeed(taskId, attempt, RESULT, NOW, EXPIRES_AT);
    case 'retry':
      return store.retry(taskId, attempt, NEW_ERROR, NOW, RETRY_AT);
    case 'fail':
      return store.fail(taskId, attempt, NEW_ERROR, NOW, EXPIRES_AT);
    case 'cancel':
      return store.cancel(taskId, NOW, EXPIRES_AT);
    case 'abandon': {
      // `enqueueId: undefined` in opts: a dead letter that carries none.
      const enqueueId = 'enqueueId' in opts ? opts.enqueueId : 'e1';
      return store.abandon({ taskId, ...(enqueueId !== undefined && { enqueueId }) }, DEAD_LETTERED, NOW, {
        redriveGraceSeconds: GRACE_SECONDS,
        expiresAt: EXPIRES_AT,
      });
    }
    case 'requeue':
      return store.requeue(taskId, NOW);
  }
}

/** What the transition returns when it applied, leaving `after`. */
function applied(t: AnyTransition, before: TaskRecord | undefined, after: TaskRecord): unknown {
  switch (t) {
    case 'claim':
      return {
        claimed: true,
        attempt: (before?.attempts ?? 0) + 1,
        attemptsBase: before?.attempts_base ?? 0,
      };
    case 'cancel':
      return { cancelled: after };
    case 'requeue':
      return { requeued: true, record: after };
    case 'succeed':
    case 'retry':
    case 'fail':
    case 'abandon':
    case 'adopt':
    case 'waitQueued':
    case 'waitRetrying':
      return true;
    // The async writes that keep or end the attempt return the record as written.
    default:
      return after;
  }
}

/** What the transition returns when it refused: the record as it was, where the port returns one. */
function refused(t: AnyTransition, current: TaskRecord | undefined): unknown {
  switch (t) {
    case 'claim':
      return { claimed: false, current };
    case 'cancel':
      return { current };
    case 'requeue':
      return { requeued: false, current };
    case 'succeed':
    case 'retry':
    case 'fail':
    case 'abandon':
    case 'adopt':
    case 'waitQueued':
    case 'waitRetrying':
      return false;
    default:
      return undefined;
  }
}

/**
 * Defines the contract's tests against the store `subject()` returns (called inside each test, so a store set
 * up in `beforeAll` works). Every case uses a fresh task id, so the store may be shared.
 */
export function describeTaskStoreContract(makeStore: () => TaskStore): void {
  /**
   * The store under test, its claims' `recordBytes` checked and set aside: the size is optional in the port (a
   * store that does not weigh its records leaves it out), so the cases below compare the rest of a claim's answer.
   * When a store gives it, it is the size of the record the claim left: positive, and as large as the record's
   * task id at least.
   */
  const subject = (): TaskStore => {
    const store = makeStore();
    // A view of the (possibly shared) store whose own `claim` is the checked one; the rest is the store's.
    const checked: TaskStore = Object.create(store);
    checked.claim = async (...args: Parameters<TaskStore['claim']>) => {
      const answer = await store.claim(...args);
      if (!answer.claimed || answer.recordBytes === undefined) return answer;
      const { recordBytes, ...rest } = answer;
      expect(Number.isInteger(recordBytes)).toBe(true);
      expect(recordBytes).toBeGreaterThan(args[0].task_id.length);
      return rest;
    };
    return checked;
  };
  /** Seeds `before` (if any), runs the transition, and checks what it returned and what the store holds. */
  async function expectTransition(
    t: AnyTransition,
    before: TaskRecord | undefined,
    expected: 'applied' | 'refused',
    opts: CallOptions = {},
    taskId = before?.task_id ?? randomUUID(),
  ): Promise<void> {
    // Prepare
    const store = subject();
    if (before) await store.create(before);

    // Act
    const result = await call(store, t, taskId, opts);

    // Assess
    const stored = await store.get(taskId);
    if (expected === 'applied') {
      const after = AFTER[t](before ?? createdByClaim(taskId));
      expect({ result, stored }).toEqual({ result: applied(t, before, stored!), stored: after });
    } else {
      expect({ result, stored }).toEqual({ result: refused(t, before), stored: before });
    }
  }

  /** A claim of a missing record writes it from the envelope: what it starts from, before its own fields. */
  function createdByClaim(taskId: string): TaskRecord {
    const e = envelope(taskId);
    return {
      task_id: taskId,
      type: e.type,
      priority: e.priority,
      created_at: e.created_at,
      enqueue_id: e.enqueue_id,
      request_hash: e.request_hash,
      status: 'QUEUED',
      attempts: 0,
      updated_at: ISO,
    };
  }

  describe('every transition from every state', () => {
    const cells = (Object.keys(STATES) as State[]).flatMap((state) =>
      TRANSITIONS.map((t) => [t, state, ALLOWED[state][t] ? 'applies' : 'refuses'] as const),
    );
    it.each(cells)('%s of a %s task %s', async (t, state, verdict) => {
      await expectTransition(t, STATES[state](randomUUID()), verdict === 'applies' ? 'applied' : 'refused');
    });
  });

  describe('every async transition from every state', () => {
    const cells = (Object.keys(STATES) as State[]).flatMap((state) =>
      ASYNC_TRANSITIONS.map((t) => [t, state, ASYNC_ALLOWED[state][t] ? 'applies' : 'refuses'] as const),
    );
    it.each(cells)('%s of a %s task %s', async (t, state, verdict) => {
      await expectTransition(t, STATES[state](randomUUID()), verdict === 'applies' ? 'applied' : 'refused');
    });
  });

  describe('every wait from every state', () => {
    const cells = (Object.keys(STATES) as State[]).flatMap((state) =>
      WAIT_TRANSITIONS.map((t) => [t, state, WAIT_ALLOWED[state][t] ? 'applies' : 'refuses'] as const),
    );
    it.each(cells)('%s of a %s task %s', async (t, state, verdict) => {
      await expectTransition(t, STATES[state](randomUUID()), verdict === 'applies' ? 'applied' : 'refused');
    });
  });

  describe('a wait', () => {
    const retryTimes = [
      ['a millisecond later', 'refused', NOW_MS + 1],
      ['right now', 'applied', NOW_MS],
      ['a millisecond ago', 'applied', NOW_MS - 1],
      ['missing', 'applied', undefined],
    ] as const;
    it.each(retryTimes)(
      'waitRetrying of a task whose retry time is %s: %s (before it, the delivery is a duplicate copy)',
      async (_name, verdict, retryAt) => {
        const before = record(randomUUID(), 'RETRYING', {
          ...started,
          error: EARLIER_ERROR,
          ...(retryAt !== undefined && { retry_at: retryAt }),
        });
        await expectTransition('waitRetrying', before, verdict);
      },
    );

    it.each([
      ['waitQueued', 'QUEUED'],
      ['waitRetrying', 'RETRYING'],
    ] as const)('%s refuses the message of another enqueue', async (t, state) => {
      await expectTransition(t, STATES[state](randomUUID()), 'refused', { enqueueId: 'e2' });
    });

    it('waitQueued refuses a record without an enqueue id', async () => {
      await expectTransition('waitQueued', without(STATES.QUEUED(randomUUID()), 'enqueue_id'), 'refused');
    });

    it('replaces the reason of an earlier wait, and keeps the since it is given', async () => {
      // Prepare
      const store = subject();
      const before = record(randomUUID(), 'QUEUED', { waiting: WAITING });
      await store.create(before);
      const waiting: TaskWaiting = { reason: 'AgentRateLimit', since: WAITING.since };

      // Act
      const result = await store.wait(before.task_id, 'QUEUED', 'e1', waiting, NOW);

      // Assess
      expect({ result, stored: await store.get(before.task_id) }).toEqual({
        result: true,
        stored: { ...before, waiting },
      });
    });
  });

  describe('the slots of a claim', () => {
    it('a claim with slots records them, and removes the waiting that held the task back', async () => {
      // Prepare
      const store = subject();
      const before = record(randomUUID(), 'QUEUED', { waiting: WAITING });
      await store.create(before);

      // Act
      const result = await store.claim(envelope(before.task_id), NOW, LEASE_SECONDS, undefined, SLOTS);

      // Assess
      expect({ result, stored: await store.get(before.task_id) }).toEqual({
        result: { claimed: true, attempt: ATTEMPT + 1, attemptsBase: 0 },
        stored: { ...AFTER.claim(before), slots: SLOTS },
      });
    });

    it("a claim with slots replaces those of the attempt before (held through its retry's wait)", async () => {
      // Prepare
      const store = subject();
      const before = STATES['RETRYING, retry due'](randomUUID());
      await store.create({ ...before, slots: { keys: ['agent#echo'], holder: 'task/earlier00000' } });

      // Act
      await store.claim(envelope(before.task_id), NOW, LEASE_SECONDS, undefined, SLOTS);

      // Assess
      expect(await store.get(before.task_id)).toEqual({ ...AFTER.claim(before), slots: SLOTS });
    });

    it('a claim without slots removes the slots and the waiting an earlier attempt or wait left', async () => {
      // Prepare
      const store = subject();
      const before = { ...STATES['RETRYING, retry due'](randomUUID()), slots: SLOTS, waiting: WAITING };
      await store.create(before);

      // Act
      await store.claim(envelope(before.task_id), NOW, LEASE_SECONDS);

      // Assess
      const stored = await store.get(before.task_id);
      expect(stored).toEqual(AFTER.claim(before));
      expect(stored).not.toHaveProperty('slots');
      expect(stored).not.toHaveProperty('waiting');
    });

    it('an async claim records its slots too', async () => {
      // Prepare
      const store = subject();
      const taskId = randomUUID();
      const async: AsyncClaim = {
        tokenHash: TOKEN_3,
        receiptHandle: 'receipt-1',
        receiveCount: 1,
        heartbeatSeconds: 90,
        runDeadlineMs: NOW_MS + 7_200_000,
        leaseUntilMs: NOW_MS + 120_000,
      };

      // Act
      await store.claim(envelope(taskId), NOW, LEASE_SECONDS, async, SLOTS);

      // Assess
      expect(await store.get(taskId)).toMatchObject({ status: 'RUNNING', agent_mode: 'async', slots: SLOTS });
    });

    it('a refused claim leaves the record as it was, waiting included', async () => {
      await expectTransition(
        'claim',
        { ...STATES['RETRYING, retry not due'](randomUUID()), waiting: WAITING },
        'refused',
        { slots: SLOTS },
      );
    });
  });

  describe('the attempts since a redrive (attempts_base)', () => {
    it("a claim answers the record's attempts_base with its attempt", async () => {
      // Prepare
      const store = subject();
      const before = record(randomUUID(), 'QUEUED', { attempts: 5, attempts_base: 5, redrive_count: 1 });
      await store.create(before);

      // Act
      const result = await store.claim(envelope(before.task_id), NOW, LEASE_SECONDS);

      // Assess
      expect(result).toEqual({ claimed: true, attempt: 6, attemptsBase: 5 });
      expect(await store.get(before.task_id)).toMatchObject({ attempts: 6, attempts_base: 5 });
    });

    it('a requeue records the attempts so far, again on every redrive', async () => {
      // Prepare
      const store = subject();
      const before = record(randomUUID(), 'FAILED', {
        ...started,
        ...finished,
        error: EARLIER_ERROR,
        attempts: 9,
        attempts_base: 4,
        redrive_count: 1,
      });
      await store.create(before);

      // Act
      const result = await store.requeue(before.task_id, NOW);

      // Assess
      expect(result).toEqual({ requeued: true, record: expect.objectContaining({ attempts_base: 9 }) });
      expect(await store.get(before.task_id)).toEqual(AFTER.requeue(before));
    });

    it('a requeue forgets a wait and the slots of the last attempt', async () => {
      // Prepare
      const store = subject();
      const before = { ...STATES['RETRYING, retry not due'](randomUUID()), waiting: WAITING, slots: SLOTS };
      await store.create(before);

      // Act
      await store.requeue(before.task_id, NOW);

      // Assess
      const stored = await store.get(before.task_id);
      expect(stored).toEqual(AFTER.requeue(before));
      expect(stored).not.toHaveProperty('waiting');
      expect(stored).not.toHaveProperty('slots');
    });
  });

  describe('the deadline of an async attempt', () => {
    const leases = [
      ['running a millisecond longer', NOW_MS + 1, 'held'],
      ['ending right now', NOW_MS, 'held'],
      ['ended a millisecond ago', NOW_MS - 1, 'expired'],
    ] as const;
    const held = ['adopt', 'heartbeat', 'completeSucceed', 'completeRetry', 'completeFail', 'completeCancel'];
    const cells = ASYNC_TRANSITIONS.flatMap((t) =>
      leases.map(([name, leaseUntil, lease]) => {
        const applies = t === 'requestCancel' || held.includes(t) === (lease === 'held');
        return [t, name, applies ? 'applied' : 'refused', leaseUntil] as const;
      }),
    );
    it.each(cells)(
      '%s of an async attempt whose deadline is %s: %s',
      async (t, _name, verdict, leaseUntil) => {
        const before = record(randomUUID(), 'RUNNING', { ...started, ...asyncAttempt(leaseUntil) });
        await expectTransition(t, before, verdict);
      },
    );

    it.each(['claim', 'abandon', 'requeue'] as const)(
      '%s of an async attempt whose deadline is missing: the claim refuses (the lapse comes first), %s',
      async (t) => {
        const before = without(
          record(randomUUID(), 'RUNNING', { ...started, ...asyncAttempt(0) }),
          'lease_until',
        );
        await expectTransition(t, before, t === 'claim' ? 'refused' : 'applied');
      },
    );
  });

  describe('the attempt fence of an async attempt', () => {
    const fenced = ASYNC_TRANSITIONS.filter((t) => t !== 'requestCancel');
    const cells = fenced.flatMap((t) => [ATTEMPT - 1, ATTEMPT + 1].map((attempt) => [t, attempt] as const));
    it.each(cells)(
      '%s by attempt %i refuses: only the current attempt reports or lapses',
      async (t, attempt) => {
        const state = t.startsWith('lapse') ? 'RUNNING async, lease expired' : 'RUNNING async, lease held';
        await expectTransition(t, STATES[state](randomUUID()), 'refused', { attempt });
      },
    );
  });

  describe('an async claim', () => {
    const async: AsyncClaim = {
      tokenHash: TOKEN_3,
      receiptHandle: 'receipt-3',
      receiveCount: 3,
      heartbeatSeconds: 90,
      runDeadlineMs: NOW_MS + 7_200_000,
      leaseUntilMs: NOW_MS + 120_000,
    };

    it("writes the attempt's token, message and deadlines, and adds its token to the attempt's hashes", async () => {
      // Prepare
      const store = subject();
      const before = STATES['RETRYING after async, retry due'](randomUUID());
      await store.create({ ...before, cancel_requested: false });

      // Act
      const result = await store.claim(envelope(before.task_id), NOW, LEASE_SECONDS, async);

      // Assess
      expect({ result, stored: await store.get(before.task_id) }).toEqual({
        result: { claimed: true, attempt: ATTEMPT + 1, attemptsBase: 0 },
        stored: {
          ...without(before, 'retry_at', 'heartbeat_at', 'progress'),
          status: 'RUNNING',
          attempts: ATTEMPT + 1,
          agent_mode: 'async',
          token_hash: TOKEN_3,
          callback_tokens: new Set([TOKEN_1.slice(0, 32), TOKEN_2.slice(0, 32), TOKEN_3.slice(0, 32)]),
          receipt_handle: 'receipt-3',
          receive_count: 3,
          heartbeat_seconds: 90,
          run_deadline: NOW_MS + 7_200_000,
          lease_until: NOW_MS + 120_000,
          updated_at: ISO,
          claim_id: expect.any(String),
        },
      });
    });

    it('creates a missing record as the first async attempt', async () => {
      // Prepare
      const store = subject();
      const taskId = randomUUID();

      // Act
      const result = await store.claim(envelope(taskId), NOW, LEASE_SECONDS, async);

      // Assess
      expect({ result, stored: await store.get(taskId) }).toEqual({
        result: { claimed: true, attempt: 1, attemptsBase: 0 },
        stored: {
          ...createdByClaim(taskId),
          status: 'RUNNING',
          attempts: 1,
          agent_mode: 'async',
          token_hash: TOKEN_3,
          callback_tokens: new Set([TOKEN_3.slice(0, 32)]),
          receipt_handle: 'receipt-3',
          receive_count: 3,
          heartbeat_seconds: 90,
          run_deadline: NOW_MS + 7_200_000,
          lease_until: NOW_MS + 120_000,
          started_at: ISO,
          claim_id: expect.any(String),
        },
      });
    });
  });

  describe('the lease', () => {
    const leases = [
      ['running a millisecond longer', NOW_MS + 1, 'refused'],
      ['ending right now', NOW_MS, 'refused'],
      ['ended a millisecond ago', NOW_MS - 1, 'applied'],
      ['missing', undefined, 'applied'],
    ] as const;
    const cells = (['claim', 'abandon', 'requeue'] as const).flatMap((t) =>
      leases.map(([name, leaseUntil, verdict]) => [t, name, verdict, leaseUntil] as const),
    );
    it.each(cells)('%s of a RUNNING task whose lease is %s: %s', async (t, _name, verdict, leaseUntil) => {
      const before = record(randomUUID(), 'RUNNING', {
        ...started,
        ...(leaseUntil !== undefined && { lease_until: leaseUntil }),
      });
      await expectTransition(t, before, verdict);
    });

    it.each(['succeed', 'retry', 'fail'] as const)(
      '%s needs no lease: the attempt that holds the claim settles it after its lease ran out',
      async (t) => {
        await expectTransition(t, STATES['RUNNING, lease expired'](randomUUID()), 'applied');
      },
    );
  });

  describe('the retry time', () => {
    const retryTimes = [
      ['a millisecond later', 'refused', NOW_MS + 1],
      ['right now', 'applied', NOW_MS],
      ['a millisecond ago', 'applied', NOW_MS - 1],
      ['missing', 'applied', undefined],
    ] as const;
    it.each(retryTimes)(
      'claim of a RETRYING task whose retry time is %s: %s (a late attempt may still be running)',
      async (_name, verdict, retryAt) => {
        const before = record(randomUUID(), 'RETRYING', {
          ...started,
          error: EARLIER_ERROR,
          ...(retryAt !== undefined && { retry_at: retryAt }),
        });
        await expectTransition('claim', before, verdict);
      },
    );

    it.each(['cancel', 'abandon', 'requeue'] as const)('%s ignores the retry time', async (t) => {
      await expectTransition(t, STATES['RETRYING, retry not due'](randomUUID()), 'applied');
    });
  });

  describe('the enqueue fence', () => {
    it.each(['QUEUED', 'RETRYING', 'RUNNING, lease expired'] as const)(
      "claim refuses the message of another enqueue, and returns the winner's %s record",
      async (state) => {
        await expectTransition('claim', STATES[state](randomUUID()), 'refused', { enqueueId: 'e2' });
      },
    );

    it('claim refuses a record without an enqueue id', async () => {
      await expectTransition('claim', without(STATES.QUEUED(randomUUID()), 'enqueue_id'), 'refused');
    });

    it("abandon refuses a dead letter of another enqueue: the winner's message may still be queued", async () => {
      await expectTransition('abandon', STATES.RETRYING(randomUUID()), 'refused', { enqueueId: 'e2' });
    });

    it('abandon takes a dead letter with an enqueue id for a record without one', async () => {
      await expectTransition('abandon', without(STATES.RETRYING(randomUUID()), 'enqueue_id'), 'applied');
    });

    it('abandon takes a dead letter without an enqueue id for a record without one', async () => {
      await expectTransition('abandon', without(STATES.RETRYING(randomUUID()), 'enqueue_id'), 'applied', {
        enqueueId: undefined,
      });
    });

    it('abandon refuses a dead letter without an enqueue id for a record with one', async () => {
      await expectTransition('abandon', STATES.RETRYING(randomUUID()), 'refused', { enqueueId: undefined });
    });
  });

  describe('the attempt fence', () => {
    const cells = (['succeed', 'retry', 'fail'] as const).flatMap((t) =>
      [ATTEMPT - 1, ATTEMPT + 1].map((attempt) => [t, attempt] as const),
    );
    it.each(cells)(
      '%s by attempt %i refuses: only the attempt that holds the claim settles it',
      async (t, attempt) => {
        await expectTransition(t, STATES['RUNNING, lease held'](randomUUID()), 'refused', { attempt });
      },
    );
  });

  describe('the redrive grace', () => {
    const redrives = [
      ['at the end of the grace period', GRACE_END_MS, 'refused'],
      ['within the grace period', NOW_MS - 1000, 'refused'],
      ['a millisecond before the grace period', GRACE_END_MS - 1, 'applied'],
    ] as const;
    const cells = (['QUEUED', 'RETRYING', 'RUNNING, lease expired'] as const).flatMap((state) =>
      redrives.map(([name, at, verdict]) => [state, name, verdict, at] as const),
    );
    it.each(cells)('abandon of a %s task redriven %s: %s', async (state, _name, verdict, at) => {
      const before = {
        ...STATES[state](randomUUID()),
        redriven_at: new Date(at).toISOString(),
        redrive_count: 1,
      };
      await expectTransition('abandon', before, verdict);
    });

    it.each(['claim', 'cancel', 'requeue'] as const)('%s ignores the redrive grace', async (t) => {
      const before = { ...STATES.RETRYING(randomUUID()), redriven_at: ISO, redrive_count: 1 };
      await expectTransition(t, before, 'applied');
    });
  });

  describe('a missing record', () => {
    it('claim creates it from the envelope, as attempt 1: the producer failed after its send', async () => {
      await expectTransition('claim', undefined, 'applied');
    });

    it("claim creates it with the envelope's tenant_id", async () => {
      // Prepare
      const store = subject();
      const taskId = randomUUID();

      // Act
      const result = await store.claim({ ...envelope(taskId), tenant_id: 'acme' }, NOW, LEASE_SECONDS);

      // Assess
      expect({ result, stored: await store.get(taskId) }).toEqual({
        result: { claimed: true, attempt: 1, attemptsBase: 0 },
        stored: {
          ...createdByClaim(taskId),
          tenant_id: 'acme',
          status: 'RUNNING',
          attempts: 1,
          lease_until: NOW_MS + LEASE_SECONDS * 1000,
          started_at: ISO,
          claim_id: expect.any(String),
        },
      });
    });

    it('claim keeps the tenant_id of a record that exists, and gives none to one that has none', async () => {
      // Prepare
      const store = subject();
      const withTenant = record(randomUUID(), 'QUEUED', { tenant_id: 'acme' });
      const withoutTenant = record(randomUUID(), 'QUEUED');
      await store.create(withTenant);
      await store.create(withoutTenant);

      // Act
      await store.claim({ ...envelope(withTenant.task_id), tenant_id: 'other' }, NOW, LEASE_SECONDS);
      await store.claim(envelope(withoutTenant.task_id), NOW, LEASE_SECONDS);

      // Assess
      expect((await store.get(withTenant.task_id))?.tenant_id).toBe('acme');
      expect(await store.get(withoutTenant.task_id)).not.toHaveProperty('tenant_id');
    });

    it.each([
      'succeed',
      'retry',
      'fail',
      'cancel',
      'abandon',
      'requeue',
      ...ASYNC_TRANSITIONS,
      ...WAIT_TRANSITIONS,
    ] as const)('%s refuses, and creates nothing', async (t) => {
      await expectTransition(t, undefined, 'refused');
    });
  });
}
