/**
 * The async agent protocol's rules: the callback token, the attempt's deadline, and how the message in flight
 * follows it.
 *
 * SQS is the timer. The consumer hands the task over and leaves its message in flight, invisible until the
 * attempt's deadline (`lease_until`); each heartbeat moves the deadline and the message's visibility on. If the
 * agent goes silent, the message comes back after the deadline and the consumer that receives it records the
 * attempt as lost (`lapseError`), exactly as a failed attempt: a retry after backoff, or the end of its retries.
 *
 * One attempt lasts at most 12 hours: SQS keeps a received message in flight for at most 12 hours from the
 * receive that returned it (lambda/contract/agent-target.ts `maxRunTimeLimitSeconds` bounds `maxRunTime`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TaskErrorCode } from './error-codes';
import { MAX_VISIBILITY_SECONDS } from './retry-policy';
import type { TaskError, TaskRecord } from './task';

/** Bytes of randomness in a callback token (256 bits; the issue asks for at least 128). */
export const TOKEN_BYTES = 32;
/** Characters of a token's hash kept in `callback_tokens` to recognise a stale token: 128 bits. */
export const TOKEN_ID_CHARS = 32;
/** The longest `progress.message`, in bytes of UTF-8. */
export const MAX_PROGRESS_MESSAGE_BYTES = 1024;
/**
 * Seconds the message stays invisible past the deadline, so that it comes back only once the attempt is
 * really lost (the consumer's clock and SQS's may differ by a little).
 */
export const VISIBILITY_MARGIN_SECONDS = 2;

/** What the consumer sends an async agent beside the usual body. */
export interface AgentCallback {
  /** The task's callback base: POST `<url>/heartbeat` and `<url>/complete`. */
  readonly url: string;
  /** This attempt's secret; sent back as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** How far each heartbeat moves the deadline. */
  readonly heartbeat_seconds: number;
}

/** A fresh token for one attempt, and the hash that is all the table keeps of it. */
export function newCallbackToken(): { readonly token: string; readonly hash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: tokenHash(token) };
}

/** SHA-256 of a token, in hex. A token has 256 random bits, so it needs no salt. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The prefix of a token hash kept in `callback_tokens`. */
export function tokenId(hash: string): string {
  return hash.slice(0, TOKEN_ID_CHARS);
}

/** Compares two hex hashes in constant time. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whose token this is: the current async attempt's, an earlier attempt's (`stale`), or nobody's. Compared in
 * constant time against the current hash and against every kept one.
 */
export function tokenOwner(
  record: Pick<TaskRecord, 'token_hash' | 'callback_tokens'>,
  token: string,
): 'current' | 'stale' | 'unknown' {
  const hash = tokenHash(token);
  if (record.token_hash !== undefined && sameHash(record.token_hash, hash)) return 'current';
  const id = tokenId(hash);
  let stale = false;
  for (const kept of record.callback_tokens ?? []) stale = sameHash(kept, id) || stale;
  return stale ? 'stale' : 'unknown';
}

/** The callback base of a task: the API's `/tasks/{id}`. */
export function callbackUrl(baseUrl: string, taskId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/tasks/${taskId}`;
}

/** What an async claim writes on the record besides the claim itself. */
export interface AsyncClaim {
  readonly tokenHash: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  readonly heartbeatSeconds: number;
  /** Epoch ms: the attempt's maxRunTime runs out. */
  readonly runDeadlineMs: number;
  /** Epoch ms: the attempt's first deadline (its `lease_until`). */
  readonly leaseUntilMs: number;
}

/**
 * The async fields of a claim at `nowMs`. The first deadline leaves time for the hand-off call (up to the agent's
 * timeout) and then one heartbeat window, never past the run deadline.
 */
export function asyncClaim(opts: {
  readonly nowMs: number;
  readonly tokenHash: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  readonly handOffSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly maxRunTimeSeconds: number;
}): AsyncClaim {
  const runDeadlineMs = opts.nowMs + opts.maxRunTimeSeconds * 1000;
  return {
    tokenHash: opts.tokenHash,
    receiptHandle: opts.receiptHandle,
    receiveCount: opts.receiveCount,
    heartbeatSeconds: opts.heartbeatTimeoutSeconds,
    runDeadlineMs,
    leaseUntilMs: Math.min(
      opts.nowMs + (opts.handOffSeconds + opts.heartbeatTimeoutSeconds) * 1000,
      runDeadlineMs,
    ),
  };
}

/**
 * The deadline a heartbeat at `nowMs` gives: one window on from now, never earlier than the deadline it had (a
 * heartbeat during the hand-off must not cut the time the hand-off was given) and never past the run deadline.
 */
export function heartbeatDeadlineMs(
  record: Pick<TaskRecord, 'heartbeat_seconds' | 'run_deadline' | 'lease_until'>,
  nowMs: number,
): number {
  const next = Math.max(nowMs + (record.heartbeat_seconds ?? 0) * 1000, record.lease_until ?? 0);
  return record.run_deadline === undefined ? next : Math.min(next, record.run_deadline);
}

/**
 * The visibility timeout that keeps an async attempt's message away until the attempt would be lost and its
 * retry due: the deadline `leaseUntilMs`, a margin, and the backoff of the attempt (retry-policy.ts, drawn by
 * whoever sets it). So the delivery that finds the attempt lost is also the next attempt, and an async attempt
 * costs one delivery of `maxReceiveCount`, as a sync one does.
 */
export function visibilityUntil(leaseUntilMs: number, nowMs: number, backoffSeconds: number): number {
  const seconds = Math.ceil((leaseUntilMs - nowMs) / 1000) + VISIBILITY_MARGIN_SECONDS + backoffSeconds;
  return Math.min(Math.max(seconds, 0), MAX_VISIBILITY_SECONDS);
}

/**
 * Why a lapsed attempt was lost: its maxRunTime ran out (the deadline had reached the run deadline), or no
 * heartbeat came within the window.
 */
export function lapseError(record: Pick<TaskRecord, 'lease_until' | 'run_deadline'>): TaskError {
  if (
    record.run_deadline !== undefined &&
    record.lease_until !== undefined &&
    record.lease_until >= record.run_deadline
  ) {
    return {
      code: TaskErrorCode.AgentRunTimeExceeded,
      message: 'the attempt reached its maxRunTime without a completion',
    };
  }
  return {
    code: TaskErrorCode.HeartbeatTimeout,
    message: 'no heartbeat or completion came within the heartbeat window',
  };
}
