/**
 * In-memory implementations of the ports in lambda/core/ports.ts. The store evaluates the same rules as
 * DynamoTaskStore (`permits` of transitions.ts), and the contract test (test/support/task-store-contract.ts)
 * holds it to the same cases as DynamoDB Local, so use-case tests exercise the state machine, not a stub
 * that answers whatever a test wants.
 */
import { randomUUID } from 'node:crypto';
import type { AgentOutcome } from '../../../lambda/core/agent-outcome';
import { parseExactJson } from '../../../lambda/core/json-text';
import type {
  AgentCallLimits,
  AgentInvoker,
  AgentRequest,
  ClaimResult,
  CreateResult,
  RequeueResult,
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
  type TaskRecord,
  TaskStatus,
} from '../../../lambda/core/task';
import { permits, redriveGraceEnd, TRANSITIONS, type TransitionRule } from '../../../lambda/core/transitions';

export class InMemoryTaskStore implements TaskStore {
  public readonly records = new Map<string, TaskRecord>();

  public constructor(records: readonly TaskRecord[] = []) {
    for (const record of records) this.records.set(record.task_id, record);
  }

  public async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.records.get(taskId);
  }

  public async create(record: TaskRecord): Promise<CreateResult> {
    const existing = this.records.get(record.task_id);
    if (existing) return { created: false, existing };
    this.records.set(record.task_id, record);
    return { created: true };
  }

  public async claim(envelope: TaskEnvelope, now: Date, leaseSeconds: number): Promise<ClaimResult> {
    const r = TRANSITIONS.claim;
    const current = this.records.get(envelope.task_id);
    if (!permits(r, current, { nowMs: now.getTime(), enqueueId: envelope.enqueue_id })) {
      return { claimed: false, current: current! };
    }
    const iso = now.toISOString();
    const attempts = (current?.attempts ?? 0) + 1;
    const { retry_at: _retryAt, ...kept }: Partial<TaskRecord> = current ?? {};
    this.records.set(envelope.task_id, {
      task_id: envelope.task_id,
      type: envelope.type,
      priority: envelope.priority,
      created_at: envelope.created_at,
      enqueue_id: envelope.enqueue_id,
      request_hash: envelope.request_hash,
      ...kept,
      status: r.to,
      attempts,
      lease_until: now.getTime() + leaseSeconds * 1000,
      updated_at: iso,
      started_at: current?.started_at ?? iso,
      claim_id: randomUUID(),
    });
    return { claimed: true, attempt: attempts };
  }

  private settle(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Partial<TaskRecord>,
  ): boolean {
    const current = this.records.get(taskId);
    if (!current || !permits(r, current, { nowMs: now.getTime(), attempt })) return false;
    // A success clears the error an earlier attempt left, as the DynamoDB store does.
    const { lease_until: _lease, ...rest } = current;
    const { error: _error, ...withoutError } = rest;
    const kept = r.to === TaskStatus.SUCCEEDED ? withoutError : rest;
    this.records.set(taskId, { ...kept, ...fields, status: r.to, updated_at: now.toISOString() });
    return true;
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
      ...rest
    } = current;
    const record: TaskRecord = {
      ...rest,
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
}

export class InMemoryTaskSender implements TaskSender {
  public readonly sent: SentMessage[] = [];
  /** When set, every send rejects with it. */
  public failure: Error | undefined;

  public async send(priority: Priority, message: QueueMessage, delaySeconds: number): Promise<void> {
    if (this.failure) throw this.failure;
    // Read back as the consumer reads it, so tests see the envelope SQS would carry.
    this.sent.push({ priority, envelope: parseExactJson(message.body) as TaskEnvelope, delaySeconds });
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
      }
  > = [];

  public async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    this.operations.push({ op: 'changeVisibility', receiptHandle, seconds });
  }

  public async deadLetter(body: string, error: TaskError, taskId: string | undefined): Promise<void> {
    this.operations.push({ op: 'deadLetter', body, error, taskId });
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
  ) {}

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
