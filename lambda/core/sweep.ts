/**
 * The dead-letter sweep: the backstop that gives every task a terminal state.
 *
 * A consumer normally records FAILED itself before a message leaves its queue. It cannot when it dies on the
 * last delivery (the lease runs out with the task RUNNING), or when its FAILED write fails: SQS then moves the
 * message to the DLQ and nobody would ever touch the task again. The sweep reads the DLQs on a schedule and
 * fails every task whose message is there but whose record still says it is on its way.
 */

import { lapseError } from './async-attempt';
import { parseEnvelope } from './envelope';
import { TaskErrorCode } from './error-codes';
import type { TaskStore } from './ports';
import { type TaskError, TaskStatus } from './task';
import { retentionEnd, unclaimedFailedDelivery } from './topics';

export interface DeadLetter {
  readonly body: string;
  /** The error a consumer attached when it dead-lettered the message itself. */
  readonly error?: TaskError;
}

export interface SweepSettings {
  /**
   * A task redriven less than this long ago is left alone, whatever its status: its message is on its way
   * back, or already back and being retried.
   */
  readonly redriveGraceSeconds: number;
  readonly retentionSeconds: number;
}

/** The task a dead letter belongs to: its id, and the enqueue that sent this copy. */
export interface DeadLetterTarget {
  readonly taskId: string;
  readonly enqueueId?: string;
  /** When the task was submitted, and, for a delivery, its published task: how long its record stays (topics.ts). */
  readonly createdAt?: string;
  readonly publishedTaskId?: string;
}

/** The task a dead letter names, or undefined for a message that never was a task envelope. */
export function deadLetterTarget(body: string): DeadLetterTarget | undefined {
  try {
    const value = JSON.parse(body) as {
      task_id?: unknown;
      enqueue_id?: unknown;
      created_at?: unknown;
      published_task_id?: unknown;
    };
    if (typeof value?.task_id !== 'string') return undefined;
    return {
      taskId: value.task_id,
      ...(typeof value.enqueue_id === 'string' && { enqueueId: value.enqueue_id }),
      ...(typeof value.created_at === 'string' && { createdAt: value.created_at }),
      ...(typeof value.published_task_id === 'string' && { publishedTaskId: value.published_task_id }),
    };
  } catch {
    return undefined;
  }
}

/** The task id of a dead letter, or undefined for a message that never was a task envelope. */
export function deadLetterTaskId(body: string): string | undefined {
  return deadLetterTarget(body)?.taskId;
}

/**
 * The error of a task whose async attempt was handed over on its last delivery and then lost: no consumer sees
 * its message again (SQS moves it to the DLQ on the next receive), so the sweep records why the attempt ended
 * (`HeartbeatTimeout` or `AgentRunTimeExceeded`) rather than only that the message was dead-lettered.
 */
async function strandedAsyncError(store: TaskStore, taskId: string): Promise<TaskError | undefined> {
  const record = await store.get(taskId);
  if (record?.status !== TaskStatus.RUNNING || record.agent_mode !== 'async') return undefined;
  return lapseError(record);
}

/** Conditional writes in flight at once: the letters are independent, and one receive brings 10. */
const CONCURRENT_WRITES = 10;

/**
 * Fails the tasks of these dead letters that are stranded (the `abandon` rule of transitions.ts: the letter is
 * the record's own message, no recent redrive, nobody working on it). Returns how many it failed.
 */
export async function sweepDeadLetters(
  letters: readonly DeadLetter[],
  deps: { store: TaskStore; settings: SweepSettings; now?: () => Date },
): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const abandon = async (letter: DeadLetter): Promise<boolean> => {
    const target = deadLetterTarget(letter.body);
    if (!target) return false;
    const error = letter.error ??
      (await strandedAsyncError(deps.store, target.taskId)) ?? {
        code: TaskErrorCode.DeadLettered,
        message: 'the task ran out of deliveries and its message was moved to the dead-letter queue',
      };
    const expiresAt =
      target.createdAt !== undefined
        ? retentionEnd(now, deps.settings.retentionSeconds, {
            created_at: target.createdAt,
            published_task_id: target.publishedTaskId,
          })
        : Math.floor(now.getTime() / 1000) + deps.settings.retentionSeconds;
    const abandoned = await deps.store.abandon(target, error, now, {
      redriveGraceSeconds: deps.settings.redriveGraceSeconds,
      expiresAt,
    });
    if (abandoned || target.publishedTaskId === undefined) return abandoned;
    // A delivery has no record until its first claim: one dead-lettered before any claim is written FAILED, so
    // that it and its published task end (topics.ts). A record there already was the abandon rule's to judge.
    const envelope = parseEnvelope(letter.body);
    if (!('task_id' in envelope) || (await deps.store.get(envelope.task_id))) return false;
    const created = await deps.store.create(unclaimedFailedDelivery(envelope, error, now, expiresAt));
    return created.created;
  };
  let failed = 0;
  for (let i = 0; i < letters.length; i += CONCURRENT_WRITES) {
    const results = await Promise.all(letters.slice(i, i + CONCURRENT_WRITES).map(abandon));
    failed += results.filter(Boolean).length;
  }
  return failed;
}

/** What one pass over a DLQ may read, and until when. */
export interface PeekRequest {
  /** Most messages to read. */
  readonly maxMessages: number;
  /** Epoch milliseconds after which no receive starts. */
  readonly deadlineMs: number;
  /** Longest wait of one long poll, in seconds. */
  readonly waitSeconds: number;
}

/**
 * Port: reads the letters of one DLQ in batches and leaves them there (adapters/sqs-queues.ts,
 * `peekDeadLetters`), so that an operator still sees every one of them.
 */
export type PeekDeadLetters = (queue: string, request: PeekRequest) => AsyncIterable<readonly DeadLetter[]>;

/** Time kept back from the invocation's deadline for the writes of the last batch read. */
export const SWEEP_RESERVE_MS = 15_000;
/** Longest long poll; a receive answers as soon as messages are there, so this is waited only at the end. */
export const SWEEP_WAIT_SECONDS = 5;

/**
 * When the pass over the next DLQ must stop: an equal share of the time left among the DLQs not yet swept, so
 * that a full one cannot starve the next. Time a DLQ leaves unused goes to the ones after it.
 */
export function queueDeadlineMs(deadlineMs: number, nowMs: number, queuesLeft: number): number {
  return nowMs + (deadlineMs - nowMs) / queuesLeft;
}

/**
 * One run of the sweep: every DLQ in turn, each within its share of the time left (see {@link queueDeadlineMs})
 * before `deadlineMs` less {@link SWEEP_RESERVE_MS}. Returns how many letters it saw and how many tasks it failed.
 */
export async function sweepAll(
  queues: readonly string[],
  deps: {
    peek: PeekDeadLetters;
    store: TaskStore;
    settings: SweepSettings;
    /** Most messages read from each DLQ. */
    maxMessages: number;
    /** Epoch milliseconds when the invocation ends (its timeout). */
    deadlineMs: number;
    now?: () => Date;
  },
): Promise<{ seen: number; failed: number }> {
  const now = deps.now ?? (() => new Date());
  const deadline = deps.deadlineMs - SWEEP_RESERVE_MS;
  let seen = 0;
  let failed = 0;
  for (const [i, queue] of queues.entries()) {
    const batches = deps.peek(queue, {
      maxMessages: deps.maxMessages,
      waitSeconds: SWEEP_WAIT_SECONDS,
      deadlineMs: queueDeadlineMs(deadline, now().getTime(), queues.length - i),
    });
    for await (const letters of batches) {
      seen += letters.length;
      failed += await sweepDeadLetters(letters, { store: deps.store, settings: deps.settings, now });
    }
  }
  return { seen, failed };
}
