/**
 * The task domain: statuses, priorities, the stored record and the queue envelope.
 * Nothing in lambda/core talks to AWS.
 */

export const TaskStatus = {
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  RETRYING: 'RETRYING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export const PRIORITIES = ['high', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Version of the queue message envelope. Consumers ignore envelope fields they do not know. */
export const ENVELOPE_SCHEMA_VERSION = 1;

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/** The task as stored in the task table (one item per task, keyed by `task_id`). */
export interface TaskRecord {
  readonly task_id: string;
  readonly type: string;
  readonly priority: Priority;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly result?: unknown;
  readonly error?: TaskError;
  /** Hash of the canonical request, to tell a replay from a conflicting reuse of an idempotency key. */
  readonly request_hash?: string;
  /** Fences out messages from enqueue attempts that lost a race for the same task id. */
  readonly enqueue_id?: string;
  /** Epoch milliseconds until which a RUNNING claim is held. */
  readonly lease_until?: number;
  /**
   * Epoch milliseconds before which a RETRYING task may not be claimed: the end of its retry's wait, so that a
   * duplicate copy of its message cannot start the next attempt while a late agent may still run the last one
   * (transitions.ts, `retryDue`). Written by the retry, removed by the claim and by an operator's requeue. Not
   * part of the view.
   */
  readonly retry_at?: number;
  /** When an operator last redrove the task from a DLQ (ISO 8601). */
  readonly redriven_at?: string;
  /** How many times an operator redrove the task from a DLQ (`taskq dlq redrive`). */
  readonly redrive_count?: number;
  /** Epoch seconds; DynamoDB TTL removes the item after it. */
  readonly expires_at?: number;
  /**
   * A fresh id written by each claim, so that a claim whose write committed but whose response was lost (the
   * SDK retries it, and the retry fails its condition) recognises its own write. Not part of the view.
   */
  readonly claim_id?: string;
  /** The same for a cancellation: a retried DELETE that finds its own cancellation answers 200, not 409. */
  readonly cancel_id?: string;
}

/** The SQS message body. */
export interface TaskEnvelope {
  readonly schema_version: number;
  readonly task_id: string;
  readonly enqueue_id: string;
  readonly type: string;
  readonly priority: Priority;
  readonly payload: Record<string, unknown>;
  readonly created_at: string;
  readonly request_hash: string;
}

/** The fields GET /tasks/{id} returns. Internal bookkeeping fields stay private. */
export const VIEW_FIELDS = [
  'task_id',
  'type',
  'priority',
  'status',
  'attempts',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'result',
  'error',
] as const;
export type TaskView = Pick<TaskRecord, (typeof VIEW_FIELDS)[number]>;

export function toTaskView(record: TaskRecord): TaskView {
  return Object.fromEntries(
    VIEW_FIELDS.filter((field) => record[field] !== undefined).map((field) => [field, record[field]]),
  ) as TaskView;
}

/** A task id is a UUID; anything else cannot name a task. */
export const TASK_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
