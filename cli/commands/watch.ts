/** `taskq watch <id>`: a spinner until the task ends (with a progress bar while an async agent reports progress). */
import { type Command, InvalidArgumentError } from 'commander';
import type { TaskDetails } from '../api-client';
import { formatTask, taskHeadline } from '../format';
import { type ActionFactory, exitCodeFor, type Session } from '../session';
import { waitForTask } from '../wait';

/** `--timeout <seconds>`: a whole number of 1 or more. */
export function timeoutSeconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('it must be a whole number of seconds, 1 or more.');
  return Number(value);
}

export const TIMEOUT_HELP =
  'stop waiting after this many seconds (exit code 1; the task goes on). Default: no limit, since a task on an ' +
  'async agent may run for hours';

/**
 * Polls the task to a terminal status, showing its status and, for a running async task, its progress bar; shared
 * by `watch` and `submit --wait`. It waits across any number of heartbeats: only `timeoutSeconds` stops it early.
 */
export async function followTask(
  session: Session,
  taskId: string,
  headline: string,
  timeout?: number,
): Promise<TaskDetails> {
  const progress = session.progress(headline);
  let task: TaskDetails;
  try {
    task = await waitForTask(session.client, taskId, {
      ...session.deps.poll,
      ...(timeout !== undefined && { timeoutMs: timeout * 1000, now: () => session.now().getTime() }),
      onPoll: (current) => progress.update(taskHeadline(current)),
    });
  } catch (error) {
    progress.fail(`task ${taskId}: stopped watching`);
    throw error;
  }
  if (task.status === 'SUCCEEDED') progress.succeed(taskHeadline(task));
  else progress.fail(taskHeadline(task));
  return task;
}

export function registerWatch(program: Command, action: ActionFactory): void {
  program
    .command('watch')
    .description(
      'wait until a task ends, showing the progress its async agent reports, then print it; the exit code says ' +
        'whether it succeeded',
    )
    .argument('<id>', 'task id')
    .option('--timeout <seconds>', TIMEOUT_HELP, timeoutSeconds)
    .action(
      action(async (session, command) => {
        const [id] = command.processedArgs as [string];
        const { timeout } = command.opts<{ timeout?: number }>();
        const task = await followTask(session, id, `task ${id}`, timeout);
        session.print(task, formatTask(task));
        return exitCodeFor(task);
      }),
    );
}
