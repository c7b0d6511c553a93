/**
 * POST /tasks/{id}/heartbeat and /complete: an async agent reports on its attempt, and how an attempt ends
 * (`settleAsync`), which the consumer's lapse and the Lambda destinations' completions share.
 *
 * The token (`Authorization: Bearer <token>`) is the credential: the current attempt's token may report while
 * the attempt's deadline holds; an earlier attempt's token is told apart (409) from one nobody was given (401).
 */

import { createHash } from 'node:crypto';
import { answerByteLimit, boundedErrorText, MAX_ERROR_CODE_CHARS } from './agent-outcome';
import {
  heartbeatDeadlineMs,
  lapseError,
  MAX_PROGRESS_MESSAGE_BYTES,
  tokenOwner,
  visibilityUntil,
} from './async-attempt';
import { ApiErrorCode, TaskErrorCode } from './error-codes';
import { HttpError } from './errors';
import { canonicalJson, isJsonObject, parseExactJson, toDouble } from './json-text';
import { agentCounterKey } from './limits';
import type { AsyncEnding, Limiter, TaskMessages, TaskStore } from './ports';
import { itemBytes } from './record-size';
import {
  type BackoffPolicy,
  backoffSeconds,
  isLastAttempt,
  RETRY_CLOCK_SKEW_MS,
  retryDelaySeconds,
} from './retry-policy';
import {
  type Priority,
  type TaskError,
  type TaskProgress,
  type TaskRecord,
  TaskStatus,
  type TaskView,
  toTaskView,
} from './task';
import { retentionEnd } from './topics';
import { leaseExpired } from './transitions';

/** What settling an async attempt needs to know of the queue's settings. */
export interface SettleSettings {
  readonly maxReceiveCount: number;
  readonly backoff: BackoffPolicy;
  readonly maxResultBytes: number;
  readonly retentionSeconds: number;
}

export interface CallbackDeps {
  readonly store: TaskStore;
  readonly messages: TaskMessages;
  readonly settings: SettleSettings;
  /** The limiter's counters: an attempt's end gives back its slots, a heartbeat extends them (limits.ts). */
  readonly limiter?: Limiter;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** A message could not be moved or deleted; the task is settled, and the message comes back to be tidied. */
  readonly onMessageError?: (error: unknown) => void;
  /** Called once per async transition, for structured logs and metrics. */
  readonly onSettled?: (event: AsyncSettledEvent) => void;
}

/** One async attempt's end, for logs and metrics (ids, tier, attempt, status, error code; never the result). */
export interface AsyncSettledEvent {
  readonly task_id: string;
  readonly type: string;
  readonly priority: Priority;
  readonly attempt: number;
  readonly status: TaskStatus;
  readonly code?: string;
  /** `held`: its agent reported; `expired`: it was lost. */
  readonly lease: 'held' | 'expired';
  /** The agent's slots in use once this attempt gave its own back, when it held one (limits.ts). */
  readonly agent_slots_in_use?: number;
}

/** What an agent (or a Lambda destination record) says at the end of its attempt. */
export type Completion =
  | { readonly kind: 'result'; readonly result: unknown }
  | { readonly kind: 'error'; readonly error: TaskError; readonly retryable: boolean };

/** The token of `Authorization: Bearer <token>`, or a 401. */
export function bearerToken(authorization: string | undefined): string {
  // The scheme name is case-insensitive (RFC 9110 §11.1); the token is not.
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/i.exec(authorization?.trim() ?? '');
  if (!match) {
    throw new HttpError(
      ApiErrorCode.Unauthorized,
      'the callback needs the header Authorization: Bearer <token>',
    );
  }
  return match[1]!;
}

const invalid = (path: string, message: string) =>
  new HttpError(ApiErrorCode.ValidationError, `${path} ${message}`, [{ path, message }]);

function parseBody(body: string | undefined): unknown {
  if (body === undefined || body.trim() === '') return undefined;
  try {
    return parseExactJson(body);
  } catch {
    throw new HttpError(ApiErrorCode.InvalidJson, 'the body is not JSON');
  }
}

/**
 * The most bytes of a heartbeat body read: a progress message at its limit, escaped, with room to spare. A
 * longer one is refused (413) before it is parsed.
 */
export const MAX_HEARTBEAT_BODY_BYTES = 8 * 1024;

/** A heartbeat's body: nothing, `{}`, or `{ "progress": { "percent"?: 0–100, "message"?: ≤ 1 KiB } }`. */
export function parseHeartbeat(body: string | undefined): TaskProgress | undefined {
  const value = parseBody(body);
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw invalid('body', 'must be a JSON object');
  for (const key of Object.keys(value))
    if (key !== 'progress') throw invalid(`body.${key}`, 'is not a field');
  if (value.progress === undefined) return undefined;
  const progress = value.progress;
  if (!isJsonObject(progress)) throw invalid('body.progress', 'must be an object');
  for (const key of Object.keys(progress)) {
    if (key !== 'percent' && key !== 'message') throw invalid(`body.progress.${key}`, 'is not a field');
  }
  const { percent, message } = progress;
  const number = toDouble(percent);
  if (percent !== undefined && !(typeof number === 'number' && number >= 0 && number <= 100)) {
    throw invalid('body.progress.percent', 'must be a number from 0 to 100');
  }
  if (
    message !== undefined &&
    !(typeof message === 'string' && Buffer.byteLength(message) <= MAX_PROGRESS_MESSAGE_BYTES)
  ) {
    throw invalid('body.progress.message', `must be a string of at most ${MAX_PROGRESS_MESSAGE_BYTES} bytes`);
  }
  return {
    ...(percent !== undefined && { percent: number as number }),
    ...(message !== undefined && { message: message as string }),
  };
}

/** The `error.code` of a completion. */
export const COMPLETION_ERROR_CODE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A completion's body: `{ "result": any }` or `{ "error": { "code", "message", "retryable" } }`; the stop after a
 * cancel request may leave `retryable` out (`{ "error": { "code": "Cancelled" } }`).
 */
export function parseCompletion(body: string | undefined): Completion {
  const value = parseBody(body);
  if (!isJsonObject(value))
    throw invalid('body', 'must be { "result": … } or { "error": { code, message, retryable } }');
  const keys = Object.keys(value);
  if (keys.length !== 1 || (keys[0] !== 'result' && keys[0] !== 'error')) {
    throw invalid('body', 'must have exactly one field, result or error');
  }
  if ('result' in value) return { kind: 'result', result: value.result };
  const error = value.error;
  if (!isJsonObject(error)) throw invalid('body.error', 'must be { code, message, retryable }');
  for (const key of Object.keys(error)) {
    if (key !== 'code' && key !== 'message' && key !== 'retryable')
      throw invalid(`body.error.${key}`, 'is not a field');
  }
  const { code, message, retryable } = error;
  if (!(typeof code === 'string' && COMPLETION_ERROR_CODE.test(code))) {
    throw invalid('body.error.code', `must be 1 to ${MAX_ERROR_CODE_CHARS} letters, digits or ._:-`);
  }
  if (message !== undefined && typeof message !== 'string')
    throw invalid('body.error.message', 'must be a string');
  // The stop after a cancel request is `{ "error": { "code": "Cancelled" } }` as the issue writes it: nothing
  // is retried after it, so it needs no `retryable`. Every other error says whether it may be retried.
  const stop = code === TaskErrorCode.Cancelled && retryable === undefined;
  if (!stop && typeof retryable !== 'boolean') throw invalid('body.error.retryable', 'must be true or false');
  return {
    kind: 'error',
    error: { code, message: boundedErrorText(message ?? '') },
    retryable: retryable === true,
  };
}

/** Identifies a completion of one attempt, so that the same one sent twice is recognised. */
export function completionHash(attempt: number, completion: Completion): string {
  return createHash('sha256')
    .update(`${attempt}\n${canonicalJson(completion)}`)
    .digest('hex');
}

/**
 * The record of a task. No task means no token was ever given for it: 401, as for any unknown token, so that
 * the callback routes (which need no IAM or JWT) do not tell which task ids exist.
 */
async function recordOf(store: TaskStore, taskId: string): Promise<TaskRecord> {
  const record = await store.get(taskId);
  if (!record) throw new HttpError(ApiErrorCode.Unauthorized, 'the token is not valid for this task');
  return record;
}

const notCurrent = (taskId: string, why: string) =>
  new HttpError(ApiErrorCode.AttemptNotCurrent, `this token's attempt of task ${taskId} is over: ${why}`);

/** The record, if `token` is its current attempt's; otherwise the 401 or 409 it deserves. */
function authenticate(record: TaskRecord, token: string): TaskRecord {
  const owner = tokenOwner(record, token);
  if (owner === 'unknown')
    throw new HttpError(ApiErrorCode.Unauthorized, 'the token is not valid for this task');
  if (owner === 'stale') throw notCurrent(record.task_id, 'a newer attempt has started');
  return record;
}

/** Whether the current async attempt may still report at `nowMs`; otherwise why not, as a 409. */
function assertRunning(record: TaskRecord, nowMs: number): void {
  if (record.status !== TaskStatus.RUNNING) throw notCurrent(record.task_id, `the task is ${record.status}`);
  if (leaseExpired(record, nowMs)) throw notCurrent(record.task_id, 'its deadline has passed');
}

/** POST /tasks/{id}/heartbeat. */
export async function heartbeatTask(
  taskId: string,
  token: string,
  progress: TaskProgress | undefined,
  deps: CallbackDeps,
): Promise<{ status: 'RUNNING'; cancel_requested: boolean }> {
  const now = (deps.now ?? (() => new Date()))();
  const record = authenticate(await recordOf(deps.store, taskId), token);
  assertRunning(record, now.getTime());
  const deadline = heartbeatDeadlineMs(record, now.getTime());
  const written = await deps.store.heartbeat(taskId, record.attempts, now, deadline, progress);
  if (!written) {
    // Between the read and the write the attempt ended or lapsed: say which.
    assertRunning(authenticate(await recordOf(deps.store, taskId), token), now.getTime());
    throw notCurrent(taskId, 'it ended while the heartbeat was written');
  }
  // The attempt's slots are held as long as it is: until its new deadline.
  if (written.slots && deps.limiter) {
    await deps.limiter.extend(written.slots, deadline, now);
  }
  await moveMessage(deps, () =>
    deps.messages.changeVisibility(
      written.priority,
      written.receipt_handle!,
      visibilityUntil(
        deadline,
        now.getTime(),
        backoffSeconds(written.attempts, deps.settings.backoff, deps.random),
      ),
    ),
  );
  return { status: 'RUNNING', cancel_requested: written.cancel_requested === true };
}

/** POST /tasks/{id}/complete: settles the attempt, or recognises the same completion sent again. */
export async function completeTask(
  taskId: string,
  token: string,
  completion: Completion,
  deps: CallbackDeps,
): Promise<TaskView> {
  const now = (deps.now ?? (() => new Date()))();
  const record = authenticate(await recordOf(deps.store, taskId), token);
  const hash = completionHash(record.attempts, completion);
  const replay = async (current: TaskRecord): Promise<TaskView | undefined> => {
    if (current.status === TaskStatus.RUNNING) return undefined;
    // The same completion again: answered as the first was, its result read back wherever it is stored.
    if (current.completion_hash === hash) return toTaskView(await deps.store.loadResult(current));
    if (current.completion_hash !== undefined) {
      throw new HttpError(
        ApiErrorCode.CompletionConflict,
        `task ${taskId}'s attempt ${current.attempts} was already completed differently`,
      );
    }
    throw notCurrent(taskId, `the task is ${current.status}`);
  };
  const early = await replay(record);
  if (early) return early;
  assertRunning(record, now.getTime());
  const settled = await settleAsync(
    record,
    completion,
    { lease: 'held', hash, receiveCount: record.receive_count ?? 1 },
    deps,
  );
  if (settled) {
    await applyFate(settled.record, settled.fate, deps);
    return toTaskView(settled.record);
  }
  // Refused: something settled the attempt between the read and the write (the same completion, sent twice at
  // once, or the lapse).
  const current = authenticate(await recordOf(deps.store, taskId), token);
  const again = await replay(current);
  if (again) return again;
  throw notCurrent(taskId, 'its deadline has passed');
}

/** Runs a message operation; a failure is reported, not thrown (the message comes back and is tidied then). */
async function moveMessage(
  deps: Pick<CallbackDeps, 'onMessageError'>,
  op: () => Promise<void>,
): Promise<void> {
  try {
    await op();
  } catch (error) {
    deps.onMessageError?.(error);
  }
}

/** What becomes of an attempt's message once the attempt has ended: deleted, or visible after some seconds. */
export type MessageFate = { readonly delete: true } | { readonly visibilitySeconds: number };

/**
 * Ends async attempt `record.attempts` with `completion` (`held`: reported by its agent) or as lost (`expired`:
 * the lapse, with `lapseError`), by the same rules as a synchronous answer:
 * - a result over `maxResultBytes` fails with `ResultTooLarge`;
 * - a retryable error is RETRYING with backoff, or FAILED when the attempt is the task's last (the delivery that
 *   holds the message, `receiveCount`, is its last, or its attempts are used up: retry-policy.ts `isLastAttempt`);
 * - after a cancel request, the error `Cancelled`, a retryable error or a lapse is CANCELLED; a result still
 * succeeds, and a non-retryable error still fails.
 * The message then follows (the returned fate): deleted when the task is SUCCEEDED or CANCELLED, back after the
 * backoff when it is RETRYING, and visible at once when it FAILED (the consumer that receives it copies it to
 * the DLQ, or SQS moves it there when its receives have run out). Undefined when the rule refused the write.
 */
export async function settleAsync(
  record: TaskRecord,
  completion: Completion | undefined,
  opts: {
    lease: 'held' | 'expired';
    hash?: string;
    receiveCount: number;
    /** The lapse: the message stayed away for the backoff already, so a retry is due at once. */
    backoffWaited?: boolean;
  },
  deps: Pick<CallbackDeps, 'store' | 'settings' | 'now' | 'random' | 'onSettled' | 'limiter'>,
): Promise<{ record: TaskRecord; fate: MessageFate } | undefined> {
  const now = (deps.now ?? (() => new Date()))();
  const { settings } = deps;
  const expiresAt = retentionEnd(now, settings.retentionSeconds, record);
  const { ending, fate } = endingOf(
    record,
    completion ?? { kind: 'error', error: lapseError(record), retryable: true },
    {
      settings,
      nowMs: now.getTime(),
      expiresAt,
      receiveCount: opts.receiveCount,
      backoffWaited: opts.backoffWaited === true,
      random: deps.random,
    },
  );
  const withHash: AsyncEnding = opts.hash === undefined ? ending : { ...ending, completionHash: opts.hash };
  const written = await deps.store.finishAsync(record.task_id, record.attempts, withHash, now, opts.lease);
  if (!written) return undefined;
  // Its agent says the attempt is over: its slots are free. A lapsed attempt's slots ran out with its deadline.
  // If giving them back fails, they are free when the attempt's deadline passes.
  const inUse =
    opts.lease === 'held' && written.slots && deps.limiter
      ? await deps.limiter.release(written.slots, now).catch(() => undefined)
      : undefined;
  const agentInUse = inUse?.get(agentCounterKey(record.type));
  deps.onSettled?.({
    task_id: record.task_id,
    type: record.type,
    priority: record.priority,
    attempt: record.attempts,
    status: withHash.status,
    lease: opts.lease,
    ...('error' in withHash && { code: withHash.error.code }),
    ...(agentInUse !== undefined && { agent_slots_in_use: agentInUse }),
  });
  return { record: written, fate };
}

/** Applies a fate to the message of `record` (the handle of the delivery that holds it). */
async function applyFate(record: TaskRecord, fate: MessageFate, deps: CallbackDeps): Promise<void> {
  const handle = record.receipt_handle;
  if (handle === undefined) return;
  await moveMessage(deps, () =>
    'delete' in fate
      ? deps.messages.delete(record.priority, handle)
      : deps.messages.changeVisibility(record.priority, handle, fate.visibilitySeconds),
  );
}

/** How an attempt ends, and the visibility its message gets (undefined: deleted). */
function endingOf(
  record: TaskRecord,
  completion: Completion,
  ctx: {
    settings: SettleSettings;
    nowMs: number;
    expiresAt: number;
    receiveCount: number;
    backoffWaited: boolean;
    random?: () => number;
  },
): { ending: AsyncEnding; fate: MessageFate } {
  const deleted = { delete: true } as const;
  const visibleNow = { visibilitySeconds: 0 };
  const { settings, expiresAt } = ctx;
  if (completion.kind === 'result') {
    const bytes = Buffer.byteLength(JSON.stringify(completion.result ?? null));
    if (bytes <= settings.maxResultBytes) {
      return {
        ending: {
          status: TaskStatus.SUCCEEDED,
          result: completion.result,
          expiresAt,
          recordBytes: itemBytes(record),
        },
        fate: deleted,
      };
    }
    const error = {
      code: TaskErrorCode.ResultTooLarge,
      message: `the agent's result is ${bytes} bytes; the limit is ${settings.maxResultBytes} bytes`,
    };
    return { ending: { status: TaskStatus.FAILED, error, expiresAt }, fate: visibleNow };
  }
  const { error } = completion;
  if (record.cancel_requested === true && (completion.retryable || error.code === TaskErrorCode.Cancelled)) {
    const cancelled = error.code === TaskErrorCode.Cancelled ? error : cancelledAfter(error);
    return { ending: { status: TaskStatus.CANCELLED, error: cancelled, expiresAt }, fate: deleted };
  }
  const last = isLastAttempt(
    { attempt: record.attempts, attemptsBase: record.attempts_base, receiveCount: ctx.receiveCount },
    settings.maxReceiveCount,
  );
  if (!completion.retryable || last) {
    return { ending: { status: TaskStatus.FAILED, error, expiresAt }, fate: visibleNow };
  }
  const delay = ctx.backoffWaited
    ? 0
    : retryDelaySeconds(record.attempts, error, settings.backoff, 0, ctx.random);
  return {
    ending: { status: TaskStatus.RETRYING, error, retryAtMs: ctx.nowMs + delay * 1000 - RETRY_CLOCK_SKEW_MS },
    fate: { visibilitySeconds: delay },
  };
}

/** The error of a task cancelled while its attempt failed or was lost. */
function cancelledAfter(error: TaskError): TaskError {
  return {
    code: TaskErrorCode.Cancelled,
    message: boundedErrorText(`cancelled on request; the attempt ended with ${error.code}: ${error.message}`),
  };
}

/** The most bytes of a completion body read: the result limit and the margin of a synchronous answer. */
export function completionByteLimit(maxResultBytes: number): number {
  return answerByteLimit(maxResultBytes);
}
