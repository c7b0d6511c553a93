/**
 * The task state machine, whole. Every conditional write of the task store is one of the rules below: the
 * DynamoDB adapter builds its condition from the rule (adapters/dynamodb-task-store.ts, `conditionOf`), and
 * the in-memory fake of the tests evaluates the same rule (`permits`). A contract test runs the same cases
 * against both (test/support/task-store-contract.ts), so neither can drift from the rules.
 *
 *   QUEUED ──claim──▶ RUNNING ──succeed──▶ SUCCEEDED
 *     │                 │  ├──retry (transient)──▶ RETRYING ──claim──▶ RUNNING …
 *     │                 │  └──fail (permanent / retries exhausted)──▶ FAILED
 *     └──cancel──▶ CANCELLED ◀──cancel── RETRYING
 *   RUNNING whose lease expired (its consumer died) may be claimed again; RETRYING only once its retry is due
 *   (`retry_at`), so that a duplicate copy of the message does not start the next attempt during the wait.
 *   The dead-letter sweep abandons (fails) a task that nobody works on; an operator's redrive requeues it.
 *
 * An async attempt (async-attempt.ts) is settled by its agent's callbacks while its lease (its deadline) holds,
 * and lapses once it has run out: the consumer that receives the message again records the loss (RETRYING,
 * FAILED, or CANCELLED when a cancel was requested). A claim never takes over an async attempt directly, so that
 * the loss is recorded and the next attempt waits its backoff.
 */
import { type TaskRecord, TaskStatus } from './task';

export type TransitionName =
  | 'claim'
  | 'succeed'
  | 'retry'
  | 'fail'
  | 'cancel'
  | 'abandon'
  | 'requeue'
  | 'waitQueued'
  | 'waitRetrying'
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

/** What a rule asks of the lease of the RUNNING record it leaves from. */
export type LeaseRequirement = 'any' | 'held' | 'expired';

/** One conditional write: the record it may change, and the status it leaves the record in. */
export interface TransitionRule {
  readonly name: TransitionName;
  /** Statuses it leaves from, whoever holds the task. */
  readonly from: readonly TaskStatus[];
  /**
   * It also leaves from RUNNING once the lease has run out (`lease_until` before now, or no lease): the consumer
   * that held it died, so nobody is working on the task. `sync`: only from a sync attempt (no `agent_mode`); an
   * async attempt whose lease ran out lapses first.
   */
  readonly fromExpiredLease: false | 'any' | 'sync';
  /**
   * For a rule that leaves from RUNNING: `held`, only while the lease holds (`lease_until` at or after now);
   * `expired`, only once it has run out.
   */
  readonly lease: LeaseRequirement;
  /** Only a record whose current attempt is an async one (`agent_mode`). */
  readonly asyncOnly: boolean;
  /**
   * What a missing record means. `create`: the producer's record write failed after its send, and the claim
   * writes the record from the message. `refuse`: there is nothing to change.
   */
  readonly ifMissing: 'create' | 'refuse';
  /**
   * Fences out messages of enqueue attempts that lost a race for the same task id. `same`: the record's
   * `enqueue_id` is the caller's. `same-or-unset`: the same, or a record written before records carried
   * one (then a caller without an enqueue id matches only such a record).
   */
  readonly enqueueFence?: 'same' | 'same-or-unset';
  /**
   * It leaves from RETRYING only once the retry is due (`retry_at` at or before now, or none): until then a late
   * agent may still be running the previous attempt, and a duplicate copy of the message must not start the next.
   */
  readonly retryWait: boolean;
  /** Only the attempt that holds the claim may settle it: the record's `attempts` is the caller's attempt. */
  readonly attemptFence: boolean;
  /** Leaves alone a task redriven within the grace period (`redriven_at` at or after its end), in any status. */
  readonly redriveGrace: boolean;
  readonly to: TaskStatus;
  /**
   * A fresh id the write stores, so that a call whose write committed but whose response was lost (the SDK
   * retries it, and the retry fails its condition) recognises its own write (`isOwnWrite`).
   */
  readonly marker?: 'claim_id' | 'cancel_id';
}

const rule = (r: Pick<TransitionRule, 'name' | 'from' | 'to'> & Partial<TransitionRule>): TransitionRule => ({
  fromExpiredLease: false,
  lease: 'any',
  asyncOnly: false,
  retryWait: false,
  ifMissing: 'refuse',
  attemptFence: false,
  redriveGrace: false,
  ...r,
});

/** A settle write: only the attempt that holds the claim, while the task is RUNNING, even past its lease. */
const settle = (name: TransitionName, to: TaskStatus): TransitionRule =>
  rule({ name, from: [TaskStatus.RUNNING], attemptFence: true, to });

/**
 * A write on the current async attempt: RUNNING, that attempt, and its lease `held` (the agent reports in time)
 * or `expired` (the consumer records the loss).
 */
const onAsync = (name: TransitionName, to: TaskStatus, lease: 'held' | 'expired'): TransitionRule =>
  rule({ name, from: [TaskStatus.RUNNING], attemptFence: true, asyncOnly: true, lease, to });

export const TRANSITIONS = {
  /** A consumer holding a message for this task starts an attempt (a retry once it is due). */
  claim: rule({
    name: 'claim',
    from: [TaskStatus.QUEUED, TaskStatus.RETRYING],
    fromExpiredLease: 'sync',
    retryWait: true,
    ifMissing: 'create',
    enqueueFence: 'same',
    to: TaskStatus.RUNNING,
    marker: 'claim_id',
  }),
  succeed: settle('succeed', TaskStatus.SUCCEEDED),
  /** A transient failure: the message comes back after a backoff, and the record says when (`retry_at`). */
  retry: settle('retry', TaskStatus.RETRYING),
  fail: settle('fail', TaskStatus.FAILED),
  /** A client cancels a task whose agent has not been invoked for the current attempt. */
  cancel: rule({
    name: 'cancel',
    from: [TaskStatus.QUEUED, TaskStatus.RETRYING],
    to: TaskStatus.CANCELLED,
    marker: 'cancel_id',
  }),
  /**
   * The dead-letter sweep fails a task one of whose messages is in a DLQ, if it is stranded (core/sweep.ts):
   * - the letter is this record's own message. A same-key race sends two messages and only the winning
   *   `enqueue_id` is recorded: the loser's copy in a DLQ says nothing about the winner, which may still be
   *   waiting in its queue;
   * - no redrive within the grace period (then the message may be back in its queue, in any status);
   * - nobody is working on it: QUEUED or RETRYING, or RUNNING with an expired lease (the same as a claim, so
   *   a consumer holding a valid lease, which may be dead-lettering it right now, is left alone).
   */
  abandon: rule({
    name: 'abandon',
    from: [TaskStatus.QUEUED, TaskStatus.RETRYING],
    fromExpiredLease: 'any',
    enqueueFence: 'same-or-unset',
    redriveGrace: true,
    to: TaskStatus.FAILED,
  }),
  /**
   * An operator puts a dead-lettered task back before redriving its message (`taskq dlq redrive`): one that
   * failed, or that nobody works on.
   */
  requeue: rule({
    name: 'requeue',
    from: [TaskStatus.FAILED, TaskStatus.RETRYING],
    fromExpiredLease: 'any',
    to: TaskStatus.QUEUED,
  }),
  /**
   * A limit holds the task back (limits.ts): the record says why and since when (`waiting`), and keeps its status.
   * Only the message of the record's own enqueue, and a RETRYING task only once its retry is due (before that, the
   * delivery is a duplicate copy and waits for the retry, not for a slot). One rule per status, so that each
   * names its status honestly; the consumer picks the one of the status it read.
   */
  waitQueued: rule({
    name: 'waitQueued',
    from: [TaskStatus.QUEUED],
    enqueueFence: 'same',
    to: TaskStatus.QUEUED,
  }),
  waitRetrying: rule({
    name: 'waitRetrying',
    from: [TaskStatus.RETRYING],
    enqueueFence: 'same',
    retryWait: true,
    to: TaskStatus.RETRYING,
  }),
  /**
   * A duplicate delivery of a running async attempt's message records its own receipt handle, so that heartbeats
   * extend the copy SQS will show next (each receive has its own handle).
   */
  adopt: onAsync('adopt', TaskStatus.RUNNING, 'held'),
  /** The agent reports in time: the deadline moves on. */
  heartbeat: onAsync('heartbeat', TaskStatus.RUNNING, 'held'),
  /**
   * A client asks to cancel a running async attempt; the agent learns it from its next heartbeat's answer. Also
   * once the lease ran out: the lapse then cancels instead of retrying.
   */
  requestCancel: rule({
    name: 'requestCancel',
    from: [TaskStatus.RUNNING],
    asyncOnly: true,
    to: TaskStatus.RUNNING,
  }),
  completeSucceed: onAsync('completeSucceed', TaskStatus.SUCCEEDED, 'held'),
  completeRetry: onAsync('completeRetry', TaskStatus.RETRYING, 'held'),
  completeFail: onAsync('completeFail', TaskStatus.FAILED, 'held'),
  completeCancel: onAsync('completeCancel', TaskStatus.CANCELLED, 'held'),
  lapseRetry: onAsync('lapseRetry', TaskStatus.RETRYING, 'expired'),
  lapseFail: onAsync('lapseFail', TaskStatus.FAILED, 'expired'),
  lapseCancel: onAsync('lapseCancel', TaskStatus.CANCELLED, 'expired'),
} as const satisfies Record<TransitionName, TransitionRule>;

/** The rule that ends an async attempt in `status`: its agent's completion (`held`) or its lapse (`expired`). */
export function asyncEndingRule(status: TaskStatus, lease: 'held' | 'expired'): TransitionRule {
  const rules: Partial<Record<TaskStatus, TransitionRule>> =
    lease === 'held'
      ? {
          SUCCEEDED: TRANSITIONS.completeSucceed,
          RETRYING: TRANSITIONS.completeRetry,
          FAILED: TRANSITIONS.completeFail,
          CANCELLED: TRANSITIONS.completeCancel,
        }
      : {
          RETRYING: TRANSITIONS.lapseRetry,
          FAILED: TRANSITIONS.lapseFail,
          CANCELLED: TRANSITIONS.lapseCancel,
        };
  const r = rules[status];
  if (!r) throw new Error(`no rule ends an async attempt as ${status} with its lease ${lease}`);
  return r;
}

/** The rule that marks a task of `status` as waiting for a slot. */
export function waitRule(status: typeof TaskStatus.QUEUED | typeof TaskStatus.RETRYING): TransitionRule {
  return status === TaskStatus.QUEUED ? TRANSITIONS.waitQueued : TRANSITIONS.waitRetrying;
}

/** What the caller brings to a transition, which the rule's predicates compare with the record. */
export interface TransitionFacts {
  /** Epoch milliseconds: a lease that ends before this has expired; a retry at or before this is due. */
  readonly nowMs: number;
  /** The enqueue the caller's message came from (the envelope's, or the dead letter's when it has one). */
  readonly enqueueId?: string;
  /** The attempt the caller holds (settle writes). */
  readonly attempt?: number;
  /** ISO 8601: a redrive at or after this is within the grace period (see `redriveGraceEnd`). */
  readonly redriveGraceEnd?: string;
}

/** The record's fields that the rules read. */
export type GuardedFields = Pick<
  TaskRecord,
  'status' | 'attempts' | 'enqueue_id' | 'lease_until' | 'retry_at' | 'redriven_at' | 'agent_mode'
>;

/** The fact a rule needs, or a programming error: a rule is never evaluated without its facts. */
export function requiredFact<K extends keyof TransitionFacts>(
  r: TransitionRule,
  facts: TransitionFacts,
  key: K,
): NonNullable<TransitionFacts[K]> {
  const value = facts[key];
  if (value === undefined) throw new Error(`the ${r.name} rule needs ${key}`);
  return value as NonNullable<TransitionFacts[K]>;
}

/** Whether the lease of a RUNNING record has run out at `nowMs` (a record without a lease has none to hold). */
export function leaseExpired(current: Pick<TaskRecord, 'lease_until'>, nowMs: number): boolean {
  return (current.lease_until ?? 0) < nowMs;
}

/** Whether the retry of a RETRYING record is due at `nowMs` (a record without a retry time is due at once). */
export function retryDue(current: Pick<TaskRecord, 'retry_at'>, nowMs: number): boolean {
  return (current.retry_at ?? 0) <= nowMs;
}

/**
 * Whether rule `r` may change `current` (undefined: there is no record). The DynamoDB adapter's condition
 * expression says the same; the contract test holds both to it.
 */
export function permits(
  r: TransitionRule,
  current: GuardedFields | undefined,
  facts: TransitionFacts,
): boolean {
  if (current === undefined) return r.ifMissing === 'create';
  if (r.enqueueFence === 'same' && current.enqueue_id !== requiredFact(r, facts, 'enqueueId')) return false;
  if (
    r.enqueueFence === 'same-or-unset' &&
    current.enqueue_id !== undefined &&
    current.enqueue_id !== facts.enqueueId
  ) {
    return false;
  }
  if (r.attemptFence && current.attempts !== requiredFact(r, facts, 'attempt')) return false;
  if (r.redriveGrace) {
    const graceEnd = requiredFact(r, facts, 'redriveGraceEnd');
    if (current.redriven_at !== undefined && current.redriven_at >= graceEnd) return false;
  }
  if (r.asyncOnly && current.agent_mode !== 'async') return false;
  if (r.from.includes(current.status)) {
    if (current.status === TaskStatus.RUNNING && r.lease !== 'any') {
      return leaseExpired(current, facts.nowMs) === (r.lease === 'expired');
    }
    return !(r.retryWait && current.status === TaskStatus.RETRYING && !retryDue(current, facts.nowMs));
  }
  return (
    r.fromExpiredLease !== false &&
    current.status === TaskStatus.RUNNING &&
    leaseExpired(current, facts.nowMs) &&
    (r.fromExpiredLease === 'any' || current.agent_mode === undefined)
  );
}

/**
 * Whether a write refused against `current` was this call's own, committed earlier (see `marker`): the record
 * is in the rule's target status and carries the marker this call wrote.
 */
export function isOwnWrite(
  r: TransitionRule,
  current: Pick<TaskRecord, 'status' | 'claim_id' | 'cancel_id'> | undefined,
  marker: string,
): boolean {
  return r.marker !== undefined && current?.status === r.to && current[r.marker] === marker;
}

/** Redrives at or after this time (ISO 8601) are within the grace period. */
export function redriveGraceEnd(now: Date, redriveGraceSeconds: number): string {
  return new Date(now.getTime() - redriveGraceSeconds * 1000).toISOString();
}

export const TERMINAL_STATUSES: readonly TaskStatus[] = [
  TaskStatus.SUCCEEDED,
  TaskStatus.FAILED,
  TaskStatus.CANCELLED,
];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * Why a claim was refused, so the agent is not run for this delivery. `waiting-retry`: a RETRYING task whose
 * retry is not due yet (a duplicate copy of its message, received during the wait).
 */
export type SkipReason =
  | 'running'
  | 'running-async'
  | 'lapsed'
  | 'waiting-retry'
  | 'finished'
  | 'cancelled'
  | 'superseded';

/**
 * `running-async`: an async attempt holds the task and its deadline has not passed (a duplicate receive, or the
 * message back early); `lapsed`: an async attempt's deadline passed, so the attempt is lost.
 */
export function skipReason(
  current: Pick<TaskRecord, 'status' | 'enqueue_id' | 'retry_at' | 'lease_until' | 'agent_mode'>,
  enqueueId: string,
  nowMs: number,
): SkipReason {
  if (current.enqueue_id !== undefined && current.enqueue_id !== enqueueId) return 'superseded';
  if (current.status === TaskStatus.CANCELLED) return 'cancelled';
  if (isTerminal(current.status)) return 'finished';
  if (current.status === TaskStatus.RETRYING && !retryDue(current, nowMs)) return 'waiting-retry';
  if (current.status === TaskStatus.RUNNING && current.agent_mode === 'async')
    return leaseExpired(current, nowMs) ? 'lapsed' : 'running-async';
  return 'running';
}
