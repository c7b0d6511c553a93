/**
 * The dead-letter sweep: the backstop that gives every task a terminal state.
 *
 * A consumer normally records FAILED itself before a message leaves its queue. It cannot when it dies on the
 * last delivery (the lease runs out with the task RUNNING), or when its FAILED write fails: SQS then moves the
 * message to the DLQ and nobody would ever touch the task again. The sweep reads the DLQs on a schedule and
 * fails every task whose message is there but whose record still says it is on its way.
 */
import type { TaskStore } from './ports';
import type { TaskError } from './task';

export interface DeadLetter {
  readonly body: string;
  /** The error a consumer attached when it dead-lettered the message itself. */
  readonly error?: TaskError;
}

export interface SweepSettings {
  /** A QUEUED task redriven less than this long ago is left alone: its message is on its way back. */
  readonly redriveGraceSeconds: number;
  readonly retentionSeconds: number;
}

/** The task id of a dead letter, or undefined for a message that never was a task envelope. */
export function deadLetterTaskId(body: string): string | undefined {
  try {
    const value = JSON.parse(body) as { task_id?: unknown };
    return typeof value?.task_id === 'string' ? value.task_id : undefined;
  } catch {
    return undefined;
  }
}

/** Fails the tasks of these dead letters that are not terminal yet. Returns how many it failed. */
export async function sweepDeadLetters(
  letters: readonly DeadLetter[],
  deps: { store: TaskStore; settings: SweepSettings; now?: () => Date },
): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  let failed = 0;
  for (const letter of letters) {
    const taskId = deadLetterTaskId(letter.body);
    if (!taskId) continue;
    const error = letter.error ?? {
      code: 'DeadLettered',
      message: 'the task ran out of deliveries and its message was moved to the dead-letter queue',
    };
    const abandoned = await deps.store.abandon(taskId, error, now, {
      redriveGraceSeconds: deps.settings.redriveGraceSeconds,
      expiresAt: Math.floor(now.getTime() / 1000) + deps.settings.retentionSeconds,
    });
    if (abandoned) failed += 1;
  }
  return failed;
}
