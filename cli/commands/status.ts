/** `taskq status <id>`: GET /tasks/{id} once. */
import type { Command } from 'commander';
import { formatTask } from '../format';
import { type ActionFactory, exitCodeFor } from '../session';

export function registerStatus(program: Command, action: ActionFactory): void {
  program
    .command('status')
    .description('print a task; exit code 1 when it FAILED or was CANCELLED')
    .argument('<id>', 'task id')
    .action(
      action(async (session, command) => {
        const [id] = command.processedArgs as [string];
        const task = await session.client.get(id);
        session.print(task, formatTask(task));
        return exitCodeFor(task);
      }),
    );
}
