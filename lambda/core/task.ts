import type { HeldSlots, TaskWaiting } from './limits';
import type { DeliveryView } from './topics';

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

/**
 * Version of the queue message envelope whose payload is in it. Consumers ignore envelope fields they do not
 * know.
 */
export const ENVELOPE_SCHEMA_VERSION = 1;

/**
 * Version of an envelope whose payload is an object of the task bucket (`payload_object`, payload-storage.ts): a
 * consumer that reads only version 1 refuses it (UnsupportedEnvelope) instead of calling its agent without the
 * payload.
 */
export const OBJECT_PAYLOAD_SCHEMA_VERSION = 2;

/** The newest envelope version this consumer reads. */
export const NEWEST_ENVELOPE_SCHEMA_VERSION = OBJECT_PAYLOAD_SCHEMA_VERSION;

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/** The task as stored in the task table (one item per task, keyed by `task_id`). */
export interface TaskRecord {
  readonly task_id: string;
  readonly type: string;
  readonly priority: Priority;
  /** Who the task is for, as submitted (`tenant_id`). */
  readonly tenant_id?: string;
  /**
   * Publish/subscribe (topics.ts). A published task: the topic (its `type`). A delivery: the topic it was
   * published to.
   */
  readonly topic?: string;
  /** A published task: the agent types it is delivered to, one delivery each. Its own status is the fan-out's. */
  readonly subscribers?: readonly string[];
  /** A delivery: the published task it belongs to. */
  readonly published_task_id?: string;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  /** The agent's result, as read back (however it is stored: result-storage.ts). */
  readonly result?: unknown;
  /**
   * The key of the results bucket's object that holds the result, when the record does not (result-storage.ts):
   * `result` is then absent until it is read back (task-status.ts `withResult`). Not part of the view.
   */
  readonly result_object?: string;
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
  /**
   * A limit holds the task back (limits.ts): why, and since when. Written when a QUEUED or RETRYING task is first
   * refused a slot (and when the reason changes); removed by the claim.
   */
  readonly waiting?: TaskWaiting;
  /**
   * The limiter counters (limits.ts keys) in which the current attempt holds a slot, and its holder id, written by
   * the claim: what
   * the attempt's end gives back, and an async attempt's heartbeats extend. Not part of the view.
   */
  readonly slots?: HeldSlots;
  /**
   * `attempts` when an operator last redrove the task: its retries since are bounded by `maxReceiveCount`
   * (retry-policy.ts `isLastAttempt`). Not part of the view.
   */
  readonly attempts_base?: number;
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

  // The current attempt of an async agent (async-attempt.ts). An async claim writes these; a sync claim removes
  // them. For an async attempt, `lease_until` is its deadline: the attempt is lost if nothing reports by then.
  /** Set while the current attempt is an async one. */
  readonly agent_mode?: 'async';
  /** SHA-256 (hex) of the current attempt's callback token. The token itself is never stored. */
  readonly token_hash?: string;
  /** The token hashes of every async attempt so far, so that a stale token is told from an unknown one. */
  readonly callback_tokens?: ReadonlySet<string>;
  /** The receipt handle of the delivery that holds the message in flight, and its receive count. */
  readonly receipt_handle?: string;
  readonly receive_count?: number;
  /** How far one heartbeat moves the deadline, in seconds. */
  readonly heartbeat_seconds?: number;
  /** Epoch milliseconds: the attempt's `maxRunTime` runs out then, heartbeats or not. */
  readonly run_deadline?: number;
  /** The last heartbeat (ISO 8601), and the progress it reported. */
  readonly heartbeat_at?: string;
  readonly progress?: TaskProgress;
  /** A client asked to cancel the running attempt; the agent learns it from its next heartbeat's answer. */
  readonly cancel_requested?: boolean;
  /** SHA-256 of the completion that settled the attempt, so that the same completion sent again answers 200. */
  readonly completion_hash?: string;
}

/** What an async agent reports of its progress. */
export interface TaskProgress {
  readonly percent?: number;
  readonly message?: string;
}

/** The SQS message body. */
export interface TaskEnvelope {
  readonly schema_version: number;
  readonly task_id: string;
  readonly enqueue_id: string;
  readonly type: string;
  readonly priority: Priority;
  /** The payload; `{}` when it is in the task bucket (`payload_object`). */
  readonly payload: Record<string, unknown>;
  /**
   * The key of the task bucket's object holding the payload's JSON text, when the message does not carry it
   * (payload-storage.ts): the consumer reads it before it calls the agent.
   */
  readonly payload_object?: string;
  readonly created_at: string;
  readonly request_hash: string;
  /** Present when the task was submitted with one; also the message's `MessageGroupId` on AWS. */
  readonly tenant_id?: string;
  /** A publish message (topics.ts): the topic's subscribers, one delivery each. Its `type` is the topic. */
  readonly subscribers?: readonly string[];
  /** A delivery message: the topic, and the published task's id; its `type` is the subscriber. */
  readonly topic?: string;
  readonly published_task_id?: string;
}

/** The fields GET /tasks/{id} returns. Internal bookkeeping fields stay private. */
export const VIEW_FIELDS = [
  'task_id',
  'type',
  'priority',
  'tenant_id',
  'topic',
  'published_task_id',
  'status',
  'attempts',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'result',
  'error',
  'progress',
  'heartbeat_at',
  'cancel_requested',
  'waiting',
] as const;
export type TaskView = Pick<TaskRecord, (typeof VIEW_FIELDS)[number]> & {
  /** A running async attempt: when it counts as lost (ISO 8601), unless a heartbeat or completion comes first. */
  readonly deadline?: string;
  /** A published task: each subscriber's delivery (topics.ts `publishedView`). */
  readonly deliveries?: Readonly<Record<string, DeliveryView>>;
};

/** Fields only a running async attempt shows. */
const RUNNING_ASYNC_FIELDS: readonly string[] = ['progress', 'heartbeat_at', 'cancel_requested'];

export function toTaskView(record: TaskRecord): TaskView {
  const runningAsync = record.status === TaskStatus.RUNNING && record.agent_mode === 'async';
  const queued = record.status === TaskStatus.QUEUED || record.status === TaskStatus.RETRYING;
  const view = Object.fromEntries(
    VIEW_FIELDS.filter(
      (field) =>
        record[field] !== undefined &&
        (runningAsync || !RUNNING_ASYNC_FIELDS.includes(field)) &&
        (queued || field !== 'waiting'),
    ).map((field) => [field, record[field]]),
  ) as TaskView;
  if (!runningAsync || record.lease_until === undefined) return view;
  return { ...view, deadline: new Date(record.lease_until).toISOString() };
}

/** A task id is a UUID; anything else cannot name a task. */
export const TASK_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
