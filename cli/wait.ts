/**
 * Polls a task until it reaches a terminal status. Shared by `submit --wait` and `watch`.
 *
 * It has no time limit of its own unless asked for one: a task on an async agent may run for hours (its heartbeats
 * keep it RUNNING), and a wait that gave up on its own would report a healthy task as a failure.
 */
import { isTerminal } from '../lambda/core/transitions';
import { ApiError, NetworkError, type TaskDetails, type TaskQueueClient } from './api-client';
import { CommandError } from './errors';

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
  readonly onPoll?: (task: TaskDetails) => void;
  /**
   * Stop waiting after this long and throw a `CommandError` of code `WaitTimeout`; the task itself goes on.
   * @default - no limit: wait until the task ends, however long its agent runs
   */
  readonly timeoutMs?: number;
  /** @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
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
): Promise<TaskDetails> {
  const maxIntervalMs = options.maxIntervalMs ?? 2000;
  const maxErrors = options.maxConsecutiveErrors ?? 5;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const deadline = options.timeoutMs === undefined ? undefined : now() + options.timeoutMs;
  let last: TaskDetails | undefined;
  let intervalMs = Math.min(options.intervalMs ?? 250, maxIntervalMs);
  let errors = 0;
  for (;;) {
    try {
      const task = await client.get(taskId);
      errors = 0;
      if (isTerminal(task.status)) return task;
      last = task;
      options.onPoll?.(task);
    } catch (error) {
      errors += 1;
      if (!isTransient(error) || errors > maxErrors) throw error;
    }
    if (deadline !== undefined && now() + intervalMs > deadline)
      throw new CommandError(
        'WaitTimeout',
        `stopped waiting after ${options.timeoutMs} ms; task ${taskId} is still ${last?.status ?? 'unfinished'} ` +
          `and goes on (taskq watch ${taskId} follows it)`,
      );
    await sleep(intervalMs);
    intervalMs = Math.min(Math.ceil(intervalMs * 1.5), maxIntervalMs);
  }
}
