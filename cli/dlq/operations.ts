/**
 * What `taskq dlq list|redrive|purge` do, tier by tier, over the DLQ adapter and the task store. The
 * commands (../commands/dlq.ts) parse options and print; the order of the steps is decided here.
 */
import { DEFAULTS } from '../../lambda/contract';
import type { TaskStore } from '../../lambda/core/ports';
import { sweepDeadLetters } from '../../lambda/core/sweep';
import type { Priority, TaskRecord, TaskStatus } from '../../lambda/core/task';
import type { ProgressBar } from '../progress';
import { attempt } from './aws';
import {
  type DeadLetterMessage,
  type DeadLetterQueue,
  FINISHED_MOVE_STATUSES,
  isUnsupportedOperation,
} from './dead-letter-queue';

/** One tier's DLQ and the queue its messages were dead-lettered from. */
export interface TierTarget {
  readonly tier: Priority;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly sourceQueueUrl: string;
}

/**
 * How long a peek hides what it reads before it makes it visible again. Short, so that a CLI killed
 * mid-peek leaves nothing hidden for long.
 */
export const PEEK_HIDE_SECONDS = 30;

/**
 * The dead-letter sweep leaves a task alone for this long after its redrive, whatever its status
 * (REDRIVE_GRACE_SECONDS, set by the construct). A redrive slower than this risks the sweep
 * failing the tasks whose messages are still waiting in the DLQ.
 */
export const DEFAULT_REDRIVE_GRACE_SECONDS = DEFAULTS.redriveGraceSeconds;

/** How long a task failed by `purge` is kept, as TASK_RETENTION_SECONDS defaults to in the stack. */
export const DEFAULT_TASK_RETENTION_SECONDS = DEFAULTS.taskRetentionSeconds;

/**
 * Whether a dead letter belongs to task `taskId`: its own message, or, for a published task, the message of any
 * of its deliveries (so that `--task <published id>` takes them all, and `--task <delivery id>` one).
 */
export function belongsToTask(message: DeadLetterMessage, taskId: string): boolean {
  return message.taskId === taskId || message.publishedTaskId === taskId;
}

function uniqueTaskIds(messages: readonly DeadLetterMessage[]): string[] {
  return [...new Set(messages.flatMap((m) => (m.taskId ? [m.taskId] : [])))];
}

export interface ListedDeadLetter {
  readonly message: DeadLetterMessage;
  /** The task's record, when the message names a task that the table still holds. */
  readonly record?: TaskRecord;
}

export interface ListedTier {
  readonly tier: Priority;
  readonly deadLetterQueueUrl: string;
  /** Messages in the DLQ (SQS's approximation); more than `letters` when `limit` cut the peek short. */
  readonly approximateCount: number;
  readonly letters: readonly ListedDeadLetter[];
}

/**
 * Peeks at up to `limit` messages of each tier's DLQ and looks up their tasks. With `taskId`, the whole DLQ is
 * peeked and only the messages of that task (belongsToTask) are kept, up to `limit`.
 */
export async function listDeadLetters(
  targets: readonly TierTarget[],
  store: TaskStore,
  opts: { limit: number; taskId?: string },
): Promise<ListedTier[]> {
  const tiers: ListedTier[] = [];
  const { taskId: only } = opts;
  for (const { tier, deadLetterQueue } of targets) {
    const peeked = await deadLetterQueue.peek({
      limit: only === undefined ? opts.limit : Number.POSITIVE_INFINITY,
      hideSeconds: PEEK_HIDE_SECONDS,
    });
    const messages =
      only === undefined ? peeked : peeked.filter((m) => belongsToTask(m, only)).slice(0, opts.limit);
    const records = new Map<string, TaskRecord>();
    for (const taskId of uniqueTaskIds(messages)) {
      const record = await attempt(`DynamoDB GetItem for task ${taskId}`, () => store.get(taskId));
      if (record) records.set(taskId, record);
    }
    const approximateCount = await deadLetterQueue.approximateCount();
    tiers.push({
      tier,
      deadLetterQueueUrl: deadLetterQueue.url,
      // Filtered, the queue's count says nothing about the task's: what the peek found is exact.
      approximateCount: only === undefined ? Math.max(approximateCount, messages.length) : messages.length,
      letters: messages.map((message) => {
        const record = message.taskId ? records.get(message.taskId) : undefined;
        return { message, ...(record && { record }) };
      }),
    });
  }
  return tiers;
}

export interface SkippedTask {
  readonly task_id: string;
  /** The status that kept the task from being requeued; absent when the table has no record of it. */
  readonly status?: TaskStatus;
}

export type MoveOutcome =
  | {
      /** SQS moved the messages (StartMessageMoveTask). */
      readonly method: 'message-move-task';
      readonly task_handle: string;
      readonly status: string;
      readonly moved: number;
      readonly to_move: number;
      readonly failure_reason?: string;
    }
  | {
      /** The endpoint has no message move tasks; the CLI copied the messages itself. */
      readonly method: 'copy';
      readonly status: 'COMPLETED';
      readonly moved: number;
    };

export interface RedriveTierResult {
  readonly tier: Priority;
  readonly dead_letter_queue_url: string;
  readonly source_queue_url: string;
  /** `--task`: only this task's messages (belongsToTask) were redriven. */
  readonly task_id?: string;
  /** Messages found in the DLQ before the move (with `task_id`, that task's only). */
  readonly messages: number;
  readonly requeued: readonly string[];
  readonly skipped: readonly SkippedTask[];
  /** Absent when the DLQ was empty. */
  readonly move?: MoveOutcome;
}

export interface RedriveOptions {
  /** @default - SQS's own pace */
  readonly ratePerSecond?: number;
  readonly now: () => Date;
  readonly pollIntervalMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly progressBar: (label: string, total: number) => ProgressBar;
  /** Told when the endpoint has no message move tasks and the messages are copied instead. */
  readonly warn: (text: string) => void;
  /**
   * Redrive only this task's messages (belongsToTask): one delivery of a published task by its own id, or all of a
   * published task's. A message move task moves a whole queue, so these messages are copied back instead.
   * @default - every message of the tier
   */
  readonly taskId?: string;
}

/**
 * Redrives one tier: every task with a message in the DLQ goes back to QUEUED first (with `redriven_at`, so
 * that the sweep leaves it alone while its message travels), then SQS moves the messages back to the source
 * queue. In this order a consumer never receives a redriven message while the record still says FAILED,
 * which it would take for a finished task and drop.
 */
export async function redriveTier(
  target: TierTarget,
  store: TaskStore,
  opts: RedriveOptions,
): Promise<RedriveTierResult> {
  const { tier, deadLetterQueue, sourceQueueUrl } = target;
  const only = opts.taskId;
  const peeked = await deadLetterQueue.peek({
    limit: Number.POSITIVE_INFINITY,
    hideSeconds: PEEK_HIDE_SECONDS,
  });
  const messages = only === undefined ? peeked : peeked.filter((m) => belongsToTask(m, only));
  const requeued: string[] = [];
  const skipped: SkippedTask[] = [];
  for (const taskId of uniqueTaskIds(messages)) {
    const result = await attempt(`DynamoDB UpdateItem for task ${taskId}`, () =>
      store.requeue(taskId, opts.now()),
    );
    if (result.requeued) requeued.push(taskId);
    else skipped.push({ task_id: taskId, ...(result.current && { status: result.current.status }) });
  }
  const base = {
    tier,
    dead_letter_queue_url: deadLetterQueue.url,
    source_queue_url: sourceQueueUrl,
    ...(only !== undefined && { task_id: only }),
    messages: messages.length,
    requeued,
    skipped,
  };
  if (messages.length === 0) return base;
  if (
    opts.ratePerSecond !== undefined &&
    messages.length / opts.ratePerSecond > DEFAULT_REDRIVE_GRACE_SECONDS
  )
    opts.warn(
      `${tier}: ${messages.length} messages at ${opts.ratePerSecond}/s take longer than the sweep's redrive grace ` +
        `(${DEFAULT_REDRIVE_GRACE_SECONDS} s by default): tasks still waiting in the DLQ then may be failed again`,
    );

  const bar = opts.progressBar(`${tier}: moving`, messages.length);
  const copy = async (): Promise<RedriveTierResult> => {
    const moved = await deadLetterQueue.moveByCopy(
      sourceQueueUrl,
      new Set(messages.map((m) => m.messageId)),
      {
        ...(opts.ratePerSecond !== undefined && { ratePerSecond: opts.ratePerSecond }),
        sleep: opts.sleep,
        onProgress: (count) => bar.update(count, Math.max(count, messages.length)),
      },
    );
    bar.stop(`${tier}: copied ${moved} message(s) back to ${sourceQueueUrl}`);
    return { ...base, move: { method: 'copy', status: 'COMPLETED', moved } };
  };
  // A move task cannot pick messages: one task's are copied back, the others stay where they are.
  if (only !== undefined) return copy();

  const sourceArn = await deadLetterQueue.arn();
  let taskHandle: string;
  try {
    taskHandle = await deadLetterQueue.startMove(sourceArn, opts.ratePerSecond);
  } catch (error) {
    if (!isUnsupportedOperation(error)) {
      bar.stop(`${tier}: the move did not start`);
      throw error;
    }
    opts.warn(`${tier}: the endpoint has no SQS message move tasks; copying the messages back instead`);
    return copy();
  }

  for (;;) {
    const progress = await deadLetterQueue.moveProgress(sourceArn, taskHandle);
    const total = progress.toMove > 0 ? progress.toMove : messages.length;
    bar.update(progress.moved, Math.max(total, progress.moved));
    if (FINISHED_MOVE_STATUSES.includes(progress.status)) {
      bar.stop(
        `${tier}: move task ${progress.status}, ${progress.moved} message(s) moved back` +
          (progress.failureReason ? ` (${progress.failureReason})` : ''),
      );
      return {
        ...base,
        move: {
          method: 'message-move-task',
          task_handle: taskHandle,
          status: progress.status,
          moved: progress.moved,
          to_move: progress.toMove,
          ...(progress.failureReason && { failure_reason: progress.failureReason }),
        },
      };
    }
    await opts.sleep(opts.pollIntervalMs);
  }
}

export interface PurgeTierResult {
  readonly tier: Priority;
  readonly dead_letter_queue_url: string;
  /** Messages found before the purge. */
  readonly messages: number;
  /** Tasks that were not terminal yet and were failed before their messages went. */
  readonly failed_tasks: number;
}

/**
 * Purges one tier's DLQ. Its tasks that are not terminal yet (RETRYING, RUNNING with an expired lease, or
 * QUEUED by a redrive whose message is still here) are failed first, as the sweep would: once their
 * messages are gone nothing else would ever give them a terminal state.
 */
export async function purgeTier(
  target: TierTarget,
  store: TaskStore,
  opts: { now: () => Date },
): Promise<PurgeTierResult> {
  const { tier, deadLetterQueue } = target;
  const messages = await deadLetterQueue.peek({
    limit: Number.POSITIVE_INFINITY,
    hideSeconds: PEEK_HIDE_SECONDS,
  });
  const failed = await attempt('DynamoDB UpdateItem (failing stranded tasks)', () =>
    sweepDeadLetters(
      messages.map((m) => ({ body: m.body, ...(m.error && { error: m.error }) })),
      {
        store,
        settings: { redriveGraceSeconds: 0, retentionSeconds: DEFAULT_TASK_RETENTION_SECONDS },
        now: opts.now,
      },
    ),
  );
  await deadLetterQueue.purge();
  return {
    tier,
    dead_letter_queue_url: deadLetterQueue.url,
    messages: messages.length,
    failed_tasks: failed,
  };
}
