/**
 * In-memory implementations of the ports in lambda/core/ports.ts. The store evaluates the same rules as
 * DynamoTaskStore (`permits` of transitions.ts), and the contract test (test/support/task-store-contract.ts)
 * holds it to the same cases as DynamoDB Local, so use-case tests exercise the state machine, not a stub
 * that answers whatever a test wants.
 */
import { randomUUID } from 'node:crypto';
import type { AgentLimits } from '../../../lambda/contract/agent-target';
import type { AgentOutcome } from '../../../lambda/core/agent-outcome';
import { type AsyncClaim, tokenId } from '../../../lambda/core/async-attempt';
import { parseExactJson } from '../../../lambda/core/json-text';
import {
  type AgentLimitConfig,
  type CounterState,
  decide,
  EMPTY_COUNTER,
  type HeldSlots,
  handOff,
  liveHolders,
  moveHolder,
  type RateStart,
  restamp,
  type SlotChange,
  type SlotDecision,
  type SlotRequest,
  type TaskWaiting,
} from '../../../lambda/core/limits';
import type {
  AgentCallLimits,
  AgentInvoker,
  AgentRequest,
  AsyncEnding,
  ClaimResult,
  CreateResult,
  Limiter,
  RequeueResult,
  Resend,
  SlotGrant,
  TaskMessages,
  TaskSender,
  TaskStore,
  TierQueue,
} from '../../../lambda/core/ports';
import type { QueueMessage } from '../../../lambda/core/queue-message';
import type { DeadLetterTarget } from '../../../lambda/core/sweep';
import {
  type Priority,
  type TaskEnvelope,
  type TaskError,
  type TaskProgress,
  type TaskRecord,
  TaskStatus,
} from '../../../lambda/core/task';
import {
  asyncEndingRule,
  permits,
  redriveGraceEnd,
  TRANSITIONS,
  type TransitionRule,
  waitRule,
} from '../../../lambda/core/transitions';

/** A record without what an async attempt left on it (as the DynamoDB store's ASYNC_ATTEMPT_FIELDS). */
function withoutAsyncAttempt<T extends Partial<TaskRecord>>(record: T): T {
  const {
    agent_mode: _mode,
    token_hash: _hash,
    receipt_handle: _handle,
    receive_count: _count,
    heartbeat_seconds: _hb,
    run_deadline: _run,
    heartbeat_at: _at,
    progress: _progress,
    cancel_requested: _cancel,
    completion_hash: _completion,
    ...rest
  } = record;
  return rest as T;
}

export class InMemoryTaskStore implements TaskStore {
  public readonly records = new Map<string, TaskRecord>();

  public constructor(records: readonly TaskRecord[] = []) {
    for (const record of records) this.records.set(record.task_id, record);
  }

  /** Results are kept in the record here, whatever their size: there is no bucket to read back from. */
  public async loadResult(record: TaskRecord): Promise<TaskRecord> {
    return record;
  }

  public async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.records.get(taskId);
  }

  public async getMany(taskIds: readonly string[]): Promise<ReadonlyMap<string, TaskRecord>> {
    return new Map(
      taskIds.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])),
    );
  }

  public async create(record: TaskRecord): Promise<CreateResult> {
    const existing = this.records.get(record.task_id);
    if (existing) return { created: false, existing };
    this.records.set(record.task_id, record);
    return { created: true };
  }

  public async claim(
    envelope: TaskEnvelope,
    now: Date,
    leaseSeconds: number,
    async?: AsyncClaim,
    slots?: HeldSlots,
  ): Promise<ClaimResult> {
    const r = TRANSITIONS.claim;
    const current = this.records.get(envelope.task_id);
    if (!permits(r, current, { nowMs: now.getTime(), enqueueId: envelope.enqueue_id })) {
      return { claimed: false, current: current! };
    }
    const iso = now.toISOString();
    const attempts = (current?.attempts ?? 0) + 1;
    const {
      retry_at: _retryAt,
      waiting: _waiting,
      slots: _slots,
      ...rest
    }: Partial<TaskRecord> = current ?? {};
    // As the DynamoDB store: an async claim writes its token and deadlines; a sync one removes the last's.
    const kept = withoutAsyncAttempt(rest);
    const asyncFields: Partial<TaskRecord> = async
      ? {
          agent_mode: 'async',
          token_hash: async.tokenHash,
          callback_tokens: new Set([...(current?.callback_tokens ?? []), tokenId(async.tokenHash)]),
          receipt_handle: async.receiptHandle,
          receive_count: async.receiveCount,
          heartbeat_seconds: async.heartbeatSeconds,
          run_deadline: async.runDeadlineMs,
        }
      : {};
    this.records.set(envelope.task_id, {
      task_id: envelope.task_id,
      type: envelope.type,
      priority: envelope.priority,
      created_at: envelope.created_at,
      enqueue_id: envelope.enqueue_id,
      request_hash: envelope.request_hash,
      ...(envelope.tenant_id !== undefined && { tenant_id: envelope.tenant_id }),
      ...(envelope.published_task_id !== undefined && {
        topic: envelope.topic,
        published_task_id: envelope.published_task_id,
      }),
      ...kept,
      // After what the record kept: the kept `callback_tokens` must not hide this attempt's token.
      ...asyncFields,
      status: r.to,
      attempts,
      ...(slots && { slots }),
      lease_until: async ? async.leaseUntilMs : now.getTime() + leaseSeconds * 1000,
      updated_at: iso,
      started_at: current?.started_at ?? iso,
      claim_id: randomUUID(),
    });
    return { claimed: true, attempt: attempts, attemptsBase: current?.attempts_base ?? 0 };
  }

  public async wait(
    taskId: string,
    status: typeof TaskStatus.QUEUED | typeof TaskStatus.RETRYING,
    enqueueId: string,
    waiting: TaskWaiting,
    now: Date,
  ): Promise<boolean> {
    const current = this.records.get(taskId);
    if (!current || !permits(waitRule(status), current, { nowMs: now.getTime(), enqueueId })) return false;
    this.records.set(taskId, { ...current, waiting });
    return true;
  }

  private settle(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Partial<TaskRecord>,
  ): boolean {
    return this.settled(r, taskId, attempt, now, fields) !== undefined;
  }

  /** The record a settle write leaves, or undefined when the rule refuses it. */
  private settled(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Partial<TaskRecord>,
  ): TaskRecord | undefined {
    const current = this.records.get(taskId);
    if (!current || !permits(r, current, { nowMs: now.getTime(), attempt })) return undefined;
    // A success clears the error an earlier attempt left, as the DynamoDB store does.
    const { lease_until: _lease, ...rest } = current;
    const { error: _error, ...withoutError } = rest;
    const kept = r.to === TaskStatus.SUCCEEDED ? withoutError : rest;
    const record = { ...kept, ...fields, status: r.to, updated_at: now.toISOString() };
    this.records.set(taskId, record);
    return record;
  }

  /** A write that keeps the status (adopt, heartbeat, requestCancel): the record as written, or undefined. */
  private update(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Partial<TaskRecord>,
  ): TaskRecord | undefined {
    const current = this.records.get(taskId);
    if (!current || !permits(r, current, { nowMs: now.getTime(), attempt })) return undefined;
    const record = { ...current, ...fields };
    this.records.set(taskId, record);
    return record;
  }

  public async adopt(
    taskId: string,
    attempt: number,
    receiptHandle: string,
    receiveCount: number,
    now: Date,
  ) {
    return (
      this.update(TRANSITIONS.adopt, taskId, attempt, now, {
        receipt_handle: receiptHandle,
        receive_count: receiveCount,
      }) !== undefined
    );
  }

  public async heartbeat(
    taskId: string,
    attempt: number,
    now: Date,
    leaseUntilMs: number,
    progress: TaskProgress | undefined,
  ) {
    const iso = now.toISOString();
    return this.update(TRANSITIONS.heartbeat, taskId, attempt, now, {
      lease_until: leaseUntilMs,
      heartbeat_at: iso,
      updated_at: iso,
      ...(progress && { progress }),
    });
  }

  public async requestCancel(taskId: string, attempt: number, now: Date) {
    return this.update(TRANSITIONS.requestCancel, taskId, attempt, now, {
      cancel_requested: true,
      updated_at: now.toISOString(),
    });
  }

  public async finishAsync(
    taskId: string,
    attempt: number,
    ending: AsyncEnding,
    now: Date,
    lease: 'held' | 'expired',
  ) {
    const fields: Partial<TaskRecord> =
      ending.status === TaskStatus.SUCCEEDED ? { result: ending.result } : { error: ending.error };
    const times: Partial<TaskRecord> =
      ending.status === TaskStatus.RETRYING
        ? { retry_at: ending.retryAtMs }
        : { finished_at: now.toISOString(), expires_at: ending.expiresAt };
    return this.settled(asyncEndingRule(ending.status, lease), taskId, attempt, now, {
      ...fields,
      ...times,
      ...(ending.completionHash !== undefined && { completion_hash: ending.completionHash }),
    });
  }

  public async succeed(taskId: string, attempt: number, result: unknown, now: Date, expiresAt: number) {
    return this.settle(TRANSITIONS.succeed, taskId, attempt, now, {
      result,
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  public async retry(taskId: string, attempt: number, error: TaskError, now: Date, retryAtMs: number) {
    return this.settle(TRANSITIONS.retry, taskId, attempt, now, { error, retry_at: retryAtMs });
  }

  public async fail(taskId: string, attempt: number, error: TaskError, now: Date, expiresAt: number) {
    return this.settle(TRANSITIONS.fail, taskId, attempt, now, {
      error,
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  public async abandon(
    target: DeadLetterTarget,
    error: TaskError,
    now: Date,
    opts: { redriveGraceSeconds: number; expiresAt: number },
  ): Promise<boolean> {
    const r = TRANSITIONS.abandon;
    const current = this.records.get(target.taskId);
    const facts = {
      nowMs: now.getTime(),
      enqueueId: target.enqueueId,
      redriveGraceEnd: redriveGraceEnd(now, opts.redriveGraceSeconds),
    };
    if (!current || !permits(r, current, facts)) return false;
    const iso = now.toISOString();
    const { lease_until: _lease, ...rest } = current;
    this.records.set(target.taskId, {
      ...rest,
      status: r.to,
      error,
      updated_at: iso,
      finished_at: iso,
      expires_at: opts.expiresAt,
    });
    return true;
  }

  public async requeue(taskId: string, now: Date): Promise<RequeueResult> {
    const r = TRANSITIONS.requeue;
    const current = this.records.get(taskId);
    if (!current) return { requeued: false };
    if (!permits(r, current, { nowMs: now.getTime() })) return { requeued: false, current };
    const iso = now.toISOString();
    const {
      finished_at: _finished,
      expires_at: _expires,
      lease_until: _lease,
      retry_at: _retryAt,
      callback_tokens: _tokens,
      waiting: _waiting,
      slots: _slots,
      ...rest
    } = current;
    const record: TaskRecord = {
      ...withoutAsyncAttempt(rest),
      attempts_base: current.attempts,
      status: r.to,
      redriven_at: iso,
      updated_at: iso,
      redrive_count: (current.redrive_count ?? 0) + 1,
    };
    this.records.set(taskId, record);
    return { requeued: true, record };
  }

  public async cancel(taskId: string, now: Date, expiresAt: number) {
    const r = TRANSITIONS.cancel;
    const current = this.records.get(taskId);
    if (!current) return {};
    if (!permits(r, current, { nowMs: now.getTime() })) return { current };
    const iso = now.toISOString();
    const cancelled: TaskRecord = {
      ...current,
      status: r.to,
      updated_at: iso,
      finished_at: iso,
      expires_at: expiresAt,
      cancel_id: randomUUID(),
    };
    this.records.set(taskId, cancelled);
    return { cancelled };
  }
}

export interface SentMessage {
  readonly priority: Priority;
  readonly envelope: TaskEnvelope;
  readonly delaySeconds: number;
  /** The message's `MessageGroupId`, when it has one. */
  readonly groupId?: string;
}

export class InMemoryTaskSender implements TaskSender {
  public readonly sent: SentMessage[] = [];
  /** When set, every send rejects with it. */
  public failure: Error | undefined;

  public async send(priority: Priority, message: QueueMessage, delaySeconds: number): Promise<void> {
    if (this.failure) throw this.failure;
    // Read back as the consumer reads it, so tests see the envelope SQS would carry.
    this.sent.push({
      priority,
      envelope: parseExactJson(message.body) as TaskEnvelope,
      delaySeconds,
      ...(message.groupId !== undefined && { groupId: message.groupId }),
    });
  }
}

export class InMemoryTierQueue implements TierQueue {
  /** Every queue operation in call order, so tests can assert ordering. */
  public readonly operations: Array<
    | { readonly op: 'changeVisibility'; readonly receiptHandle: string; readonly seconds: number }
    | {
        readonly op: 'deadLetter';
        readonly body: string;
        readonly error: TaskError;
        readonly taskId: string | undefined;
        readonly groupId?: string;
      }
    | { readonly op: 'resend'; readonly message: QueueMessage; readonly delaySeconds: number }
    | { readonly op: 'sendAll'; readonly messages: readonly QueueMessage[] }
  > = [];

  public async sendAll(messages: readonly QueueMessage[]): Promise<void> {
    this.operations.push({ op: 'sendAll', messages });
  }

  public async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    this.operations.push({ op: 'changeVisibility', receiptHandle, seconds });
  }

  public async resend(message: QueueMessage, delaySeconds: number): Promise<void> {
    this.operations.push({ op: 'resend', message, delaySeconds });
  }

  public async resendAll(resends: readonly Resend[]): Promise<Array<Error | undefined>> {
    for (const { message, delaySeconds } of resends)
      this.operations.push({ op: 'resend', message, delaySeconds });
    return resends.map(() => undefined);
  }

  public async deadLetter(
    body: string,
    error: TaskError,
    taskId: string | undefined,
    groupId?: string,
  ): Promise<void> {
    this.operations.push({
      op: 'deadLetter',
      body,
      error,
      taskId,
      ...(groupId !== undefined && { groupId }),
    });
  }
}

export class InMemoryTaskMessages implements TaskMessages {
  /** Every message operation in call order. */
  public readonly operations: Array<
    | {
        readonly op: 'changeVisibility';
        readonly priority: Priority;
        readonly receiptHandle: string;
        readonly seconds: number;
      }
    | { readonly op: 'delete'; readonly priority: Priority; readonly receiptHandle: string }
  > = [];
  /** When set, every operation rejects with it (a stale handle, say). */
  public failure: Error | undefined;

  public async changeVisibility(priority: Priority, receiptHandle: string, seconds: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.operations.push({ op: 'changeVisibility', priority, receiptHandle, seconds });
  }

  public async delete(priority: Priority, receiptHandle: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.operations.push({ op: 'delete', priority, receiptHandle });
  }
}

/** Agents keyed by task type; each answers with a fixed outcome (or one computed from the request). */
export class FakeAgents implements AgentInvoker {
  public readonly requests: AgentRequest[] = [];
  public readonly limits: AgentCallLimits[] = [];

  public constructor(
    private readonly agents: Readonly<
      Record<string, AgentOutcome | ((request: AgentRequest) => AgentOutcome)>
    >,
    /** Every agent's timeout. */
    private readonly agentTimeoutSeconds = 30,
    /** The async agents' limits, by type; the others are sync. */
    private readonly asyncAgents: Readonly<Record<string, AgentLimits>> = {},
    /** The agents' concurrency and rate limits, by type; the others have none. */
    private readonly limitedAgents: Readonly<Record<string, AgentLimitConfig>> = {},
  ) {}

  public asyncLimits(type: string): AgentLimits | undefined {
    return this.asyncAgents[type];
  }

  public slotLimits(type: string): AgentLimitConfig | undefined {
    return this.limitedAgents[type];
  }

  public has(type: string): boolean {
    return Object.hasOwn(this.agents, type);
  }

  public timeoutSeconds(_type: string): number {
    return this.agentTimeoutSeconds;
  }

  public async invoke(request: AgentRequest, limits: AgentCallLimits): Promise<AgentOutcome> {
    this.requests.push(request);
    this.limits.push(limits);
    const agent = this.agents[request.type]!;
    return typeof agent === 'function' ? agent(request) : agent;
  }
}

/**
 * The limiter's counters in memory, deciding by the same rules as the DynamoDB limiter (limits.ts `decide` and
 * `moveHolder`), with its writes applied at once (no other writer can race them here).
 */
export class InMemoryLimiter implements Limiter {
  public readonly counters = new Map<string, CounterState>();
  /** Every grant and refusal, in order. */
  public readonly asks: Array<{ readonly request: SlotRequest; readonly grant: SlotGrant }> = [];

  /** Every hand-off: the slots given back, the waiting task's request and what it got. */
  public readonly handOffs: Array<{
    readonly slots: HeldSlots;
    readonly request: SlotRequest;
    readonly grant: SlotGrant;
  }> = [];
  /** Every restamp: the start moved and its new stamp. */
  public readonly restamps: Array<{ readonly start: RateStart; readonly toMs: number }> = [];
  /** The clock of hand-offs and restamps (a test's fake clock). */
  public clock: () => number = Date.now;

  private static toGrant(decision: SlotDecision): SlotGrant {
    return decision.granted
      ? {
          granted: true,
          slots: decision.slots,
          ...(decision.agentInUse !== undefined && { agentInUse: decision.agentInUse }),
          ...(decision.start && { start: decision.start }),
        }
      : {
          granted: false,
          reason: decision.reason,
          ...(decision.retryAfterMs !== undefined && { retryAfterMs: decision.retryAfterMs }),
        };
  }

  public async acquire(request: SlotRequest): Promise<SlotGrant> {
    const decision = decide(request, this.counters);
    for (const write of decision.writes) this.counters.set(write.key, write.next);
    const grant = InMemoryLimiter.toGrant(decision);
    this.asks.push({ request, grant });
    return grant;
  }

  public async handOff(slots: HeldSlots, request: SlotRequest) {
    const nowMs = this.clock();
    const { decision, writes } = handOff(slots, { ...request, nowMs }, this.counters);
    for (const write of writes) this.counters.set(write.key, write.next);
    const grant = InMemoryLimiter.toGrant(decision);
    this.handOffs.push({ slots, request, grant });
    const inUse = new Map(
      slots.keys.map((key) => [
        key,
        Object.keys(liveHolders(this.counters.get(key)!, nowMs)).filter((h) => h !== request.holder).length,
      ]),
    );
    return { inUse, grant };
  }

  public async restamp(start: RateStart): Promise<number> {
    const toMs = this.clock();
    const moved = restamp(this.counters.get(start.key) ?? EMPTY_COUNTER, start.atMs, toMs, start.rate);
    if (!moved.ok)
      throw new Error(`the in-memory limiter does not wait: the restamp must wait ${moved.waitMs} ms`);
    this.counters.set(start.key, moved.next);
    this.restamps.push({ start, toMs });
    return toMs;
  }

  private move(key: string, holder: string, change: SlotChange, now: Date) {
    const state = this.counters.get(key);
    if (!state) return 0;
    const next = moveHolder(state, holder, change, now.getTime());
    if (next) this.counters.set(key, next);
    return Object.keys(liveHolders(next ?? state, now.getTime())).length;
  }

  public async release(slots: HeldSlots, now: Date) {
    return new Map(slots.keys.map((key) => [key, this.move(key, slots.holder, { release: true }, now)]));
  }

  public async extend(slots: HeldSlots, untilMs: number, now: Date) {
    for (const key of slots.keys) this.move(key, slots.holder, { untilMs }, now);
  }

  public async keepUntil(slots: HeldSlots, untilMs: number, now: Date) {
    for (const key of slots.keys) this.move(key, slots.holder, { untilMs, exactly: true }, now);
  }

  /** The holder times of `key`, live or not. */
  public holders(key: string): Readonly<Record<string, number>> {
    return this.counters.get(key)?.holders ?? {};
  }
}
