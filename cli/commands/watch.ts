/** `taskq watch <id>`: a spinner until the task ends, then the task with its result. */
import type { Command } from 'commander';
import type { TaskView } from '../../lambda/core/task';
import { formatTask, taskHeadline } from '../format';
import { type ActionFactory, exitCodeFor, type Session } from '../session';
import { waitForTask } from '../wait';

/** Polls the task to a terminal status, showing its progress; shared by `watch` and `submit --wait`. */
export async function followTask(session: Session, taskId: string, headline: string): Promise<TaskView> {
  const progress = session.progress(headline);
  let task: TaskView;
  try {
    task = await waitForTask(session.client, taskId, {
      ...session.deps.poll,
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
    .description('wait until a task ends, then print it; the exit code says whether it succeeded')
    .argument('<id>', 'task id')
    .action(
      action(async (session, command) => {
        const [id] = command.processedArgs as [string];
        const task = await followTask(session, id, `task ${id}`);
        session.print(task, formatTask(task));
        return exitCodeFor(task);
      }),
    );
}
