/** `taskq cancel <id>`: DELETE /tasks/{id}. */
import type { Command } from 'commander';
import { formatTask } from '../format';
import { type ActionFactory, ExitCode } from '../session';

export function registerCancel(program: Command, action: ActionFactory): void {
  program
    .command('cancel')
    .description('cancel a QUEUED or RETRYING task; exit code 1 when it can no longer be cancelled')
    .argument('<id>', 'task id')
    .action(
      action(async (session, command) => {
        const [id] = command.processedArgs as [string];
        // The API refuses with 409 NotCancellable once the task runs or has ended; that is reported as an error.
        const task = await session.client.cancel(id);
        session.print(task, formatTask(task));
        return ExitCode.Success;
      }),
    );
}
