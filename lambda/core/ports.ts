/**
 * What the use cases need from the outside world. lambda/adapters implements these with the AWS SDK;
 * unit tests implement them in memory.
 */
import type { AgentLimits } from '../contract/agent-target';
import type { AgentOutcome } from './agent-outcome';
import type { AgentCallback, AsyncClaim } from './async-attempt';
import type { AgentLimitConfig, HeldSlots, LimitReason, RateStart, SlotRequest, TaskWaiting } from './limits';
import type { QueueMessage } from './queue-message';
import type { DeadLetterTarget } from './sweep';
import type { Priority, TaskEnvelope, TaskError, TaskProgress, TaskRecord, TaskStatus } from './task';

export type CreateResult =
  | { readonly created: true }
  | { readonly created: false; readonly existing: TaskRecord };

export type ClaimResult =
  | {
      readonly claimed: true;
      readonly attempt: number;
      /** The record's `attempts_base`: its attempts when last redriven (retry-policy.ts `isLastAttempt`). */
      readonly attemptsBase?: number;
      /**
       * The size of the record the claim left (record-size.ts `itemBytes`): what the success write of this attempt
       * weighs to choose its result's stored form (result-storage.ts).
       */
      readonly recordBytes?: number;
    }
  | { readonly claimed: false; readonly current: TaskRecord };

/** `requeued: false` carries the record as it was, or nothing when there is no record. */
export type RequeueResult =
  | { readonly requeued: true; readonly record: TaskRecord }
  | { readonly requeued: false; readonly current?: TaskRecord };

/** A terminal or retry write conditioned on the claim; `false` means the claim was lost to another consumer. */
export type Settled = boolean;

export interface TaskStore {
  get(taskId: string): Promise<TaskRecord | undefined>;
  /** The records of `taskIds` that exist, by task id (a published task's deliveries). */
  getMany(taskIds: readonly string[]): Promise<ReadonlyMap<string, TaskRecord>>;
  /** Writes a new record unless one with this id exists. */
  create(record: TaskRecord): Promise<CreateResult>;
  /**
   * Starts an attempt if the state machine allows it (see transitions.ts). With `async`, the attempt is an async
   * one: the record takes its token hash, receipt handle and deadlines, and its lease is `async.leaseUntilMs`.
   */
  claim(
    envelope: TaskEnvelope,
    now: Date,
    leaseSeconds: number,
    async?: AsyncClaim,
    slots?: HeldSlots,
  ): Promise<ClaimResult>;
  /**
   * Records that a limit holds the task back (the `waitQueued` / `waitRetrying` rule of the status the caller
   * read). Returns whether it was written: false when the task is no longer waiting in that status.
   */
  wait(
    taskId: string,
    status: typeof TaskStatus.QUEUED | typeof TaskStatus.RETRYING,
    enqueueId: string,
    waiting: TaskWaiting,
    now: Date,
  ): Promise<boolean>;
  /** A duplicate delivery of a running async attempt records its own receipt handle (the `adopt` rule). */
  adopt(
    taskId: string,
    attempt: number,
    receiptHandle: string,
    receiveCount: number,
    now: Date,
  ): Promise<boolean>;
  /**
   * An async attempt's heartbeat (the `heartbeat` rule): moves its deadline to `leaseUntilMs` and records the
   * progress. Returns the record as written, or undefined when the rule refused it.
   */
  heartbeat(
    taskId: string,
    attempt: number,
    now: Date,
    leaseUntilMs: number,
    progress: TaskProgress | undefined,
  ): Promise<TaskRecord | undefined>;
  /** Asks the running async attempt to stop (the `requestCancel` rule); the record as written, or undefined. */
  requestCancel(taskId: string, attempt: number, now: Date): Promise<TaskRecord | undefined>;
  /**
   * Ends async attempt `attempt`: by its agent while its deadline holds (`held`: the `complete…` rules), or as lost
   * once it has passed (`expired`: the `lapse…` rules). Returns the record as written, or undefined when the rule
   * refused it.
   */
  finishAsync(
    taskId: string,
    attempt: number,
    ending: AsyncEnding,
    now: Date,
    lease: 'held' | 'expired',
  ): Promise<TaskRecord | undefined>;
  /**
   * Records SUCCEEDED with `result`, stored in the form result-storage.ts chooses: `recordBytes` is the claimed
   * record's size (ClaimResult); without it, only the result's own size is weighed.
   */
  succeed(
    taskId: string,
    attempt: number,
    result: unknown,
    now: Date,
    expiresAt: number,
    recordBytes?: number,
  ): Promise<Settled>;
  /**
   * The record with its result read back from the results bucket, when the record holds only its key
   * (`result_object`); the record as it is otherwise.
   */
  loadResult(record: TaskRecord): Promise<TaskRecord>;
  /** Records RETRYING, with `retryAtMs` (epoch ms) as the record's `retry_at`: no claim before it. */
  retry(taskId: string, attempt: number, error: TaskError, now: Date, retryAtMs: number): Promise<Settled>;
  fail(taskId: string, attempt: number, error: TaskError, now: Date, expiresAt: number): Promise<Settled>;
  /**
   * Fails a task one of whose messages is in a DLQ, if the record is stranded (the `abandon` rule of
   * transitions.ts): that message is the record's own (its `enqueue_id`), the task was not redriven within the
   * grace period, and nobody works on it (QUEUED, RETRYING, or RUNNING with an expired lease). Returns whether
   * it changed the task.
   */
  abandon(
    target: DeadLetterTarget,
    error: TaskError,
    now: Date,
    opts: { redriveGraceSeconds: number; expiresAt: number },
  ): Promise<boolean>;
  /**
   * Puts a dead-lettered task back to QUEUED before an operator redrives its message (the `requeue` rule of
   * transitions.ts: FAILED, RETRYING, or RUNNING with an expired lease). Sets `redriven_at` (so the sweep leaves it alone while its message travels
   * back) and counts `redrive_count`; keeps `attempts` and `error`, the attempt history.
   */
  requeue(taskId: string, now: Date): Promise<RequeueResult>;
  /** Cancels a QUEUED or RETRYING task; otherwise returns what is there. */
  cancel(
    taskId: string,
    now: Date,
    expiresAt: number,
  ): Promise<
    { readonly cancelled: TaskRecord } | { readonly cancelled?: undefined; readonly current?: TaskRecord }
  >;
}

/** How an async attempt ends, and what the record keeps of it. */
export type AsyncEnding = (
  | {
      readonly status: typeof TaskStatus.SUCCEEDED;
      readonly result: unknown;
      readonly expiresAt: number;
      /** The record's size before the write (record-size.ts `itemBytes`), as `succeed` weighs it. */
      readonly recordBytes?: number;
    }
  | { readonly status: typeof TaskStatus.RETRYING; readonly error: TaskError; readonly retryAtMs: number }
  | { readonly status: typeof TaskStatus.FAILED; readonly error: TaskError; readonly expiresAt: number }
  | { readonly status: typeof TaskStatus.CANCELLED; readonly error: TaskError; readonly expiresAt: number }
) & {
  /** The completion that ended it (async-callbacks.ts `completionHash`), so that the same one answers 200 again. */
  readonly completionHash?: string;
};

/** The messages of both tiers, by receipt handle: what settles an async attempt from outside the consumer. */
export interface TaskMessages {
  changeVisibility(priority: Priority, receiptHandle: string, seconds: number): Promise<void>;
  delete(priority: Priority, receiptHandle: string): Promise<void>;
}

export interface TaskSender {
  /** Sends a task's message, built and measured once by the producer (queue-message.ts `envelopeMessage`). */
  send(priority: Priority, message: QueueMessage, delaySeconds: number): Promise<void>;
}

/** The consumer's view of its own tier: its source queue and its dead-letter queue. */
export interface TierQueue {
  /** Delays the next delivery of an in-flight message. */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /**
   * Puts a copy of a message on the tier's DLQ, annotated with why it failed. `groupId` (the task's tenant) goes
   * with it, so that a redrive moves it back into its tenant's message group.
   */
  deadLetter(body: string, error: TaskError, taskId: string | undefined, groupId?: string): Promise<void>;
  /**
   * Sends a task's message again to the tier's queue, due after `delaySeconds`: a task waiting for a limit
   * (limits.ts, queue-message.ts `waitingMessage`). The new message's receive count starts afresh.
   */
  resend(message: QueueMessage, delaySeconds: number): Promise<void>;
  /**
   * Sends new messages to the tier's queue, due at once: a publish message's deliveries (topics.ts). Throws unless
   * every one was sent.
   */
  sendAll(messages: readonly QueueMessage[]): Promise<void>;
  /**
   * `resend` of several messages, in as few SendMessageBatch calls as SQS takes (resend-batch.ts gathers them).
   * Never throws: one answer per message, in order, undefined once it was sent, else the error that kept it.
   */
  resendAll(resends: readonly Resend[]): Promise<Array<Error | undefined>>;
}

/** A message to send again, due after `delaySeconds` (TierQueue `resend`). */
export interface Resend {
  readonly message: QueueMessage;
  readonly delaySeconds: number;
}

/** What the limiter answers a delivery (limits.ts `decide`, once written). */
export type SlotGrant =
  | {
      readonly granted: true;
      readonly slots: HeldSlots;
      /** The agent's slots in use after the grant, when it has a concurrency limit. */
      readonly agentInUse?: number;
      /** The start stamped in the agent's rate log, when it has a rate limit: the call is held to it (`restamp`). */
      readonly start?: RateStart;
    }
  | { readonly granted: false; readonly reason: LimitReason; readonly retryAfterMs?: number };

/**
 * The limiter's counters (limits.ts), shared by every consumer: an agent type's and a tenant's slots, and an agent
 * type's rate log.
 */
export interface Limiter {
  /** Asks for the slots of `request` (limits.ts `decide`), and writes the grant if there is one. */
  acquire(request: SlotRequest): Promise<SlotGrant>;
  /** Gives back `slots`; returns the slots in use after it, per counter key. */
  release(slots: HeldSlots, now: Date): Promise<ReadonlyMap<string, number>>;
  /** Holds `slots` until `untilMs` at least (an async attempt's heartbeat). */
  extend(slots: HeldSlots, untilMs: number, now: Date): Promise<void>;
  /** Holds `slots` until `untilMs` exactly, then gives them back (a timed-out attempt, until its retry is due). */
  keepUntil(slots: HeldSlots, untilMs: number, now: Date): Promise<void>;
  /**
   * Gives back `slots` and asks for `request`'s in the same write (limits.ts `handOff`): the slot of an attempt that
   * ended goes straight to a task waiting in the same consumer. Returns the slots in use after it, as `release`
   * does, and the waiting task's grant or refusal.
   */
  handOff(
    slots: HeldSlots,
    request: SlotRequest,
  ): Promise<{ readonly inUse: ReadonlyMap<string, number>; readonly grant: SlotGrant }>;
  /**
   * Moves a granted start to the time of its call (limits.ts `restamp`), right before the call, when the call is
   * later than its stamp by more than RATE_STAMP_TOLERANCE_MS; waits while the move would overfill a window.
   * Returns the new stamp: the caller calls the agent no earlier than it, and within the tolerance after it.
   */
  restamp(start: RateStart): Promise<number>;
}

/** The agent protocol: the JSON body of an HTTP agent's POST, and the event of a Lambda agent. */
export interface AgentRequest {
  readonly task_id: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  /** The task's tenant, when it was submitted with one. */
  readonly tenant_id?: string;
  /** A delivery of a published task: the topic, and the published task's id (`task_id` is the delivery's own). */
  readonly topic?: string;
  readonly published_task_id?: string;
  readonly attempt: number;
  /**
   * When this attempt's answer stops counting (ISO 8601, UTC): the start of the call plus the agent's timeout
   * (agent-timeout.ts `attemptDeadline`).
   * The consumer stops waiting then, and an agent should stop by it too: the next attempt may start one agent
   * timeout later. For an async agent, the deadline of its answer to the hand-off.
   */
  readonly deadline: string;
  /** Async agents only: where and with what to report back. */
  readonly callback?: AgentCallback;
}

/** Bounds of one agent call that come from the queue's settings. */
export interface AgentCallLimits {
  /** The most bytes of the answer read; a longer answer is a failure (`answer-too-large`). */
  readonly maxAnswerBytes: number;
}

export interface AgentInvoker {
  /** Whether `type` names a configured agent. */
  has(type: string): boolean;
  /** The timeout of the agent of `type`, in seconds (a configured type). */
  timeoutSeconds(type: string): number;
  /** The async limits of the agent of `type`, or undefined for a sync agent (a configured type). */
  asyncLimits(type: string): AgentLimits | undefined;
  /** The concurrency and rate limits of the agent of `type`, or undefined when it has none (a configured type). */
  slotLimits(type: string): AgentLimitConfig | undefined;
  /**
   * Calls the agent and waits for its answer until `request.deadline`. Never throws: every failure is
   * classified into the outcome (agent-outcome.ts `classifyAgentFailure`). With `request.callback`, the agent is
   * async: its acceptance (HTTP 202, or a Lambda `Event` invoke) is the outcome `accepted`.
   */
  invoke(request: AgentRequest, limits: AgentCallLimits): Promise<AgentOutcome>;
}
