/**
 * Polls a task until it reaches a terminal status. Shared by `submit --wait` and `watch`.
 */
import type { TaskView } from '../lambda/core/task';
import { isTerminal } from '../lambda/core/transitions';
import { ApiError, NetworkError, type TaskQueueClient } from './api-client';

export interface PollOptions {
  /**
   * Pause before the second poll; later pauses grow by half each time up to `maxIntervalMs`.
   * @default 250
   */
  readonly intervalMs?: number;
  /**
   * Longest pause between two polls.
   * @default 2000
   */
  readonly maxIntervalMs?: number;
  /**
   * Failed polls in a row that are tolerated when the failure is transient (no answer, 429 or 5xx)
   * before the error is thrown. A 4xx such as 404 is thrown at once.
   * @default 5
   */
  readonly maxConsecutiveErrors?: number;
}

export interface WaitOptions extends PollOptions {
  /** Called with every non-terminal view of the task, to show progress. */
  readonly onPoll?: (task: TaskView) => void;
  /** @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && (error.status === 429 || error.status >= 500);
}

/** Resolves with the task once it is SUCCEEDED, FAILED or CANCELLED. */
export async function waitForTask(
  client: Pick<TaskQueueClient, 'get'>,
  taskId: string,
  options: WaitOptions = {},
): Promise<TaskView> {
  const maxIntervalMs = options.maxIntervalMs ?? 2000;
  const maxErrors = options.maxConsecutiveErrors ?? 5;
  const sleep = options.sleep ?? defaultSleep;
  let intervalMs = Math.min(options.intervalMs ?? 250, maxIntervalMs);
  let errors = 0;
  for (;;) {
    try {
      const task = await client.get(taskId);
      errors = 0;
      if (isTerminal(task.status)) return task;
      options.onPoll?.(task);
    } catch (error) {
      errors += 1;
      if (!isTransient(error) || errors > maxErrors) throw error;
    }
    await sleep(intervalMs);
    intervalMs = Math.min(Math.ceil(intervalMs * 1.5), maxIntervalMs);
  }
}
