/** `taskq cancel <id>`: DELETE /tasks/{id}. */
import type { Command } from 'commander';
import { formatTask } from '../format';
import { type ActionFactory, ExitCode } from '../session';

export function registerCancel(program: Command, action: ActionFactory): void {
  program
    .command('cancel')
    .description(
      'cancel a QUEUED or RETRYING task, or ask the agent of a RUNNING async task to stop; exit code 1 when it ' +
        'can no longer be cancelled',
    )
    .argument('<id>', 'task id')
    .action(
      action(async (session, command) => {
        const [id] = command.processedArgs as [string];
        // 409 NotCancellable (a task that ended, or runs on a sync agent) is reported as an error.
        const { task, requested } = await session.client.cancel(id);
        const note = requested
          ? `cancellation requested: task ${id} is running on an async agent, which is told at its next ` +
            'heartbeat; the task ends CANCELLED once the agent stops (a result that arrives first still succeeds). ' +
            `Follow it with: taskq watch ${id}\n`
          : '';
        session.print(task, `${note}${formatTask(task)}`);
        return ExitCode.Success;
      }),
    );
}
