/**
 * The task state machine. Every conditional write in the task store is derived from these sets,
 * so the rules live here and the DynamoDB expressions only carry them out.
 *
 *   QUEUED ──claim──▶ RUNNING ──success──▶ SUCCEEDED
 *     │                 │  ├──transient──▶ RETRYING ──claim──▶ RUNNING …
 *     │                 │  └──permanent / retries exhausted──▶ FAILED
 *     └──cancel──▶ CANCELLED ◀──cancel── RETRYING
 *   RUNNING whose lease expired (its consumer died) may be claimed again.
 */
import { TaskStatus } from './task';

/** Statuses a consumer may claim unconditionally. RUNNING is claimable only once its lease has expired. */
export const CLAIMABLE_STATUSES: readonly TaskStatus[] = [TaskStatus.QUEUED, TaskStatus.RETRYING];

/** Statuses a client may cancel: the agent has not been invoked for the current attempt. */
export const CANCELLABLE_STATUSES: readonly TaskStatus[] = [TaskStatus.QUEUED, TaskStatus.RETRYING];

export const TERMINAL_STATUSES: readonly TaskStatus[] = [
  TaskStatus.SUCCEEDED,
  TaskStatus.FAILED,
  TaskStatus.CANCELLED,
];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function isCancellable(status: TaskStatus): boolean {
  return CANCELLABLE_STATUSES.includes(status);
}

/** Whether a consumer holding a message for this task may start an attempt now. */
export function canClaim(
  current: { status: TaskStatus; lease_until?: number } | undefined,
  nowMs: number,
): boolean {
  if (current === undefined) return true; // the producer's record write failed after the send
  if (CLAIMABLE_STATUSES.includes(current.status)) return true;
  return current.status === TaskStatus.RUNNING && (current.lease_until ?? 0) < nowMs;
}

/** Why a delivery was acknowledged without running the agent. */
export type SkipReason = 'running' | 'finished' | 'cancelled' | 'superseded';

export function skipReason(
  current: {
    status: TaskStatus;
    enqueue_id?: string;
  },
  enqueueId: string,
): SkipReason {
  if (current.enqueue_id !== undefined && current.enqueue_id !== enqueueId) return 'superseded';
  if (current.status === TaskStatus.CANCELLED) return 'cancelled';
  if (isTerminal(current.status)) return 'finished';
  return 'running';
}
