/**
 * `async-echo`, the demo agent of the asynchronous protocol (registered with `mode: 'async'`).
 *
 * It answers the consumer's POST with 202 at once and then works on its own, reporting through the task's
 * callback routes with `Authorization: Bearer <callback.token>`:
 * - every `payload.heartbeat_ms` (default 1,000) `POST {callback.url}/heartbeat` with
 *   `{"progress":{"percent":n,"message":"…"}}`;
 * - after `payload.ms` (default 0) `POST {callback.url}/complete` with `{"result":{"echo":payload}}`, the payload's
 *   number literals digit for digit, as `echo` answers (the request is parsed with json-text.ts).
 * - A heartbeat answer with `cancel_requested: true` makes it complete with
 *   `{"error":{"code":"Cancelled","message":"…","retryable":false}}` and stop.
 * - A 429, a 5xx or no answer to a callback is retried with exponential backoff, as the protocol asks of every
 *   agent; any other 4xx (401 unknown token, 409 attempt no longer current) stops the run: the queue has moved on.
 *
 * Chaos knobs in the payload, for the chaos run and the integration tests:
 * - `silent: true`: accepts (202), then never calls back: the attempt ends in `HeartbeatTimeout`.
 * - `crash_after_accept: true`: the same behaviour under the name of the chaos case it stands for (a process
 *   that dies between its 202 and its first callback).
 * - `heartbeat_late_ms: n`: the first heartbeat comes n ms after the hand-off instead of `heartbeat_ms`; past the
 *   heartbeat timeout it finds its attempt gone (409) and the run stops.
 * - `complete_twice: true`: sends its completion a second time once the first was answered 200; the API must
 *   answer 200 again and change nothing.
 * - `stale_token: true`: before completing, sends one completion with a token that is not this attempt's: the
 *   token of this task's previous attempt when this server handed one out (the API answers 409), else a made-up
 *   one (401): the chaos case "completes with a stale token".
 * - `complete_late: true`: sends no heartbeat, so that its attempt is declared lost, and completes (with the echo
 *   and its own token) only once a newer attempt of its task has been handed to this server, or after
 *   {@link MAX_LATE_WAIT_MS} if none comes: the chaos case "completes after a newer attempt has started". The API
 *   must answer 409 `AttemptNotCurrent` and change nothing.
 * - `fail_attempts: n`: attempts 1..n complete with a retryable error (`AsyncEchoFailure`) instead of the echo.
 * - `chaos_attempts: n`: `silent`, `crash_after_accept`, `heartbeat_late_ms` and `complete_late` apply only to
 *   attempts 1..n, so a later attempt can succeed. @default - every attempt
 */
import { randomBytes } from 'node:crypto';

/** The consumer's `callback` object, as the async protocol sends it. */
export interface AsyncCallback {
  /** The task's callback base (`…/tasks/{id}`), no trailing slash. */
  readonly url: string;
  readonly token: string;
  readonly heartbeatSeconds: number;
}

/** What one attempt of `async-echo` will do, read from its payload and attempt number. */
export interface AsyncEchoPlan {
  readonly ms: number;
  readonly heartbeatMs: number;
  /** Delay before the first heartbeat. */
  readonly firstHeartbeatMs: number;
  /** Accept and never call back (`silent` or `crash_after_accept`). */
  readonly silent: boolean;
  readonly completeTwice: boolean;
  readonly staleToken: boolean;
  /** No heartbeat; complete only once a newer attempt of the task has started (`complete_late`). */
  readonly completeLate: boolean;
  /** Complete with a retryable error instead of the echo. */
  readonly fail: boolean;
}

/** The payload or the callback of a request is not what `async-echo` takes; the server answers 400. */
export class AsyncEchoInputError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'AsyncEchoInputError';
  }
}

/** The longest run `payload.ms` may ask for: the longest an attempt may run (12 hours). */
export const MAX_ASYNC_RUN_MS = 12 * 3600 * 1000;
/** Heartbeats closer than this would only load the callback throttle. */
export const MIN_HEARTBEAT_MS = 10;
export const DEFAULT_HEARTBEAT_MS = 1000;
/** The code of the retryable error `fail_attempts` completes with. */
export const ASYNC_ECHO_FAILURE_CODE = 'AsyncEchoFailure';
/** The longest a `complete_late` run waits for a newer attempt of its task before it completes anyway. */
export const MAX_LATE_WAIT_MS = 120_000;
/** How often a `complete_late` run looks for a newer attempt. */
const LATE_POLL_MS = 50;
/** Tries of one callback (the first and its retries) on 429, 5xx or no answer. */
export const MAX_CALLBACK_TRIES = 8;
/** The longest one callback request may take. */
const CALLBACK_TIMEOUT_MS = 10_000;

const asObject = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

function optionalNumber(payload: Record<string, unknown>, field: string, min: number, max: number) {
  const value = payload[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new AsyncEchoInputError(
      `payload.${field} must be a number from ${min} to ${max}, but ${JSON.stringify(value)} was sent`,
    );
  return Math.round(value);
}

function optionalInteger(payload: Record<string, unknown>, field: string, min: number) {
  const value = payload[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new AsyncEchoInputError(
      `payload.${field} must be an integer of ${min} or more, but ${JSON.stringify(value)} was sent`,
    );
  return value;
}

function flag(payload: Record<string, unknown>, field: string): boolean {
  const value = payload[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new AsyncEchoInputError(
      `payload.${field} must be true or false, but ${JSON.stringify(value)} was sent`,
    );
  return value;
}

/** Reads the knobs of one attempt; throws {@link AsyncEchoInputError} for a malformed one. */
export function asyncEchoPlan(payload: unknown, attempt: number): AsyncEchoPlan {
  const p = asObject(payload);
  const ms = optionalNumber(p, 'ms', 0, MAX_ASYNC_RUN_MS) ?? 0;
  const heartbeatMs =
    optionalNumber(p, 'heartbeat_ms', MIN_HEARTBEAT_MS, MAX_ASYNC_RUN_MS) ?? DEFAULT_HEARTBEAT_MS;
  const lateMs = optionalNumber(p, 'heartbeat_late_ms', 0, MAX_ASYNC_RUN_MS);
  const failAttempts = optionalInteger(p, 'fail_attempts', 0) ?? 0;
  const chaosAttempts = optionalInteger(p, 'chaos_attempts', 1);
  const silent = flag(p, 'silent');
  const crash = flag(p, 'crash_after_accept');
  const completeTwice = flag(p, 'complete_twice');
  const staleToken = flag(p, 'stale_token');
  const completeLate = flag(p, 'complete_late');
  const chaos = chaosAttempts === undefined || attempt <= chaosAttempts;
  return {
    ms,
    heartbeatMs,
    firstHeartbeatMs: chaos && lateMs !== undefined ? lateMs : heartbeatMs,
    silent: chaos && (silent || crash),
    completeTwice,
    staleToken,
    completeLate: chaos && completeLate,
    fail: attempt <= failAttempts,
  };
}

/** Reads the request's `callback`; throws {@link AsyncEchoInputError} when it is missing or malformed. */
export function parseCallback(value: unknown): AsyncCallback {
  const c = asObject(value);
  const { url, token, heartbeat_seconds: heartbeatSeconds } = c;
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    !parsed ||
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    typeof token !== 'string' ||
    token === '' ||
    typeof heartbeatSeconds !== 'number' ||
    !(heartbeatSeconds > 0)
  )
    throw new AsyncEchoInputError(
      'async-echo needs callback { url, token, heartbeat_seconds } in the request: register it with mode "async"',
    );
  return { url: (url as string).replace(/\/+$/, ''), token, heartbeatSeconds };
}

export type CallbackRoute = 'heartbeat' | 'complete';

/** One callback as the agent saw it, for tests and the chaos run. Tokens are never kept here. */
export interface CallbackRecord {
  readonly taskId: string;
  readonly attempt: number;
  readonly route: CallbackRoute;
  /** Which token it carried: this attempt's, an earlier attempt's of the same task, or a made-up one. */
  readonly token: 'current' | 'previous' | 'made-up';
  /** The final answer's status, or `unreachable` when the last try got no answer. */
  readonly status: number | 'unreachable';
  /** Tries it took (retries of 429, 5xx and no answer included). */
  readonly tries: number;
  /** What a completion carried: the echo, or an error (a retryable failure, or `Cancelled`). */
  readonly completion?: 'result' | 'error';
}

/** What a run needs from the server that hosts it, so that stopping the server stops every run. */
export interface RunContext {
  /** A sleep that `close()` cuts short. */
  sleep(ms: number): Promise<void>;
  /** True once the server is stopping: the run returns at its next step. */
  closing(): boolean;
  /** Aborted when the server stops: cancels callbacks in flight. */
  readonly signal: AbortSignal;
  /** Pause before retry `n` (1-based) of a callback. */
  backoffMs(retry: number): number;
  record(entry: CallbackRecord): void;
}

interface CallbackAnswer {
  readonly status: number | 'unreachable';
  readonly body: unknown;
}

const isRetried = (status: number | 'unreachable') =>
  status === 'unreachable' || status === 429 || status >= 500;
const isOk = (answer: CallbackAnswer) =>
  typeof answer.status === 'number' && answer.status >= 200 && answer.status < 300;

/**
 * One attempt of `async-echo`, from its 202 to its last callback. Resolves when the run is over: completed,
 * refused by the API (4xx), given up after {@link MAX_CALLBACK_TRIES}, or stopped with the server. `onSuccess`
 * runs once when a completion with the echo is answered 2xx (the chaos run counts executions with it).
 */
export async function runAsyncEcho(
  job: {
    readonly taskId: string;
    readonly attempt: number;
    readonly payload: unknown;
    readonly callback: AsyncCallback;
    readonly plan: AsyncEchoPlan;
    /** The token of this task's previous attempt, if this server saw one. */
    readonly previousToken?: string;
    /** Whether a newer attempt of this task has been handed to this server since this run started. */
    readonly newerAttemptStarted?: () => boolean;
  },
  ctx: RunContext,
  onSuccess: () => void,
): Promise<void> {
  const { plan, callback } = job;
  if (plan.silent) return;

  const post = async (
    route: CallbackRoute,
    body: unknown,
    token: { value: string; kind: CallbackRecord['token'] },
  ): Promise<CallbackAnswer | undefined> => {
    for (let tries = 1; ; tries++) {
      if (ctx.closing()) return undefined;
      let answer: CallbackAnswer;
      try {
        const response = await fetch(`${callback.url}/${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token.value}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
        });
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        answer = { status: response.status, body: parsed };
      } catch {
        if (ctx.closing()) return undefined;
        answer = { status: 'unreachable', body: undefined };
      }
      if (!isRetried(answer.status) || tries >= MAX_CALLBACK_TRIES) {
        const sent = asObject(body);
        ctx.record({
          taskId: job.taskId,
          attempt: job.attempt,
          route,
          token: token.kind,
          status: answer.status,
          tries,
          ...(route === 'complete' && { completion: 'error' in sent ? 'error' : 'result' }),
        });
        return answer;
      }
      await ctx.sleep(ctx.backoffMs(tries));
    }
  };
  const current = { value: callback.token, kind: 'current' as const };

  const started = Date.now();
  if (plan.completeLate) {
    // Silent until overtaken: the queue declares the attempt lost and starts the next one, then this one reports.
    while (!job.newerAttemptStarted?.() && Date.now() - started < MAX_LATE_WAIT_MS) {
      await ctx.sleep(LATE_POLL_MS);
      if (ctx.closing()) return;
    }
    const answer = await post('complete', { result: { echo: job.payload } }, current);
    if (answer !== undefined && isOk(answer)) onSuccess();
    return;
  }
  let nextHeartbeatMs = plan.firstHeartbeatMs;
  for (;;) {
    const elapsed = Date.now() - started;
    if (elapsed >= plan.ms) break;
    if (nextHeartbeatMs >= plan.ms) {
      await ctx.sleep(plan.ms - elapsed);
      if (ctx.closing()) return;
      continue;
    }
    await ctx.sleep(Math.max(0, nextHeartbeatMs - elapsed));
    if (ctx.closing()) return;
    const done = Math.min(Date.now() - started, plan.ms);
    const answer = await post(
      'heartbeat',
      {
        progress: {
          percent: Math.min(99, Math.floor((done * 100) / plan.ms)),
          message: `echoing: ${done} of ${plan.ms} ms`,
        },
      },
      current,
    );
    if (answer === undefined) return;
    // 4xx: the attempt is over for the queue (409) or the token is refused (401). Retries that ran out on a
    // heartbeat are not fatal: the work goes on, and the next heartbeat may get through.
    if (!isOk(answer) && !isRetried(answer.status)) return;
    if (isOk(answer) && asObject(answer.body).cancel_requested === true) {
      await post(
        'complete',
        {
          error: {
            code: 'Cancelled',
            message: 'async-echo stopped: cancellation was requested',
            retryable: false,
          },
        },
        current,
      );
      return;
    }
    nextHeartbeatMs += plan.heartbeatMs;
  }

  if (plan.staleToken) {
    const stale = job.previousToken
      ? { value: job.previousToken, kind: 'previous' as const }
      : { value: randomBytes(32).toString('base64url'), kind: 'made-up' as const };
    await post('complete', { result: { echo: job.payload } }, stale);
    if (ctx.closing()) return;
  }
  const completion = plan.fail
    ? {
        error: {
          code: ASYNC_ECHO_FAILURE_CODE,
          message: `attempt ${job.attempt} fails on purpose (payload.fail_attempts)`,
          retryable: true,
        },
      }
    : { result: { echo: job.payload } };
  const answer = await post('complete', completion, current);
  if (answer === undefined || !isOk(answer)) return;
  if (!plan.fail) onSuccess();
  if (plan.completeTwice) await post('complete', completion, current);
}
