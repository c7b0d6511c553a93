/** `taskq submit`: POST /tasks, and with `--wait` follow the task to its end. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SQS_MAX_DELAY_SECONDS } from '../../lambda/core/queue-message';
import { PRIORITIES, type Priority } from '../../lambda/core/task';
import { UsageError } from '../errors';
import { formatSubmitted, formatTask } from '../format';
import { readPayload } from '../payload';
import { type ActionFactory, ExitCode, exitCodeFor } from '../session';
import { followTask, TIMEOUT_HELP, timeoutSeconds } from './watch';

interface SubmitOptions {
  readonly type: string;
  readonly priority?: Priority;
  readonly payload?: string;
  readonly key?: string;
  readonly delay?: number;
  readonly wait?: boolean;
  readonly timeout?: number;
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError('it must be a whole number of seconds, 0 or more.');
  return Number(value);
}

export function registerSubmit(program: Command, action: ActionFactory): void {
  program
    .command('submit')
    .description('submit a task; prints its id at once, or its result with --wait')
    .requiredOption('--type <type>', 'task type: a registered agent')
    .addOption(new Option('--priority <tier>', 'priority tier (API default: low)').choices(PRIORITIES))
    .option('--payload <json|@file>', 'payload: a JSON object, or @path to a file holding one', '{}')
    .option('--key <key>', 'idempotency key (1-128 characters): resubmitting it never runs the task twice')
    .option(
      '--delay <seconds>',
      `hold the task back this long before delivery (0-${SQS_MAX_DELAY_SECONDS})`,
      nonNegativeInteger,
    )
    .option(
      '--wait',
      "wait until the task ends, however long it runs (an async agent's heartbeats keep it going, with a progress " +
        'bar); the exit code says whether it succeeded',
    )
    .option('--timeout <seconds>', `with --wait: ${TIMEOUT_HELP}`, timeoutSeconds)
    .action(
      action(async (session, command) => {
        const options = command.opts<SubmitOptions>();
        if (options.timeout !== undefined && !options.wait) throw new UsageError('--timeout needs --wait');
        const payload = readPayload(options.payload ?? '{}', session.deps.cwd);
        const submitted = await session.client.submit({
          type: options.type,
          payload,
          ...(options.priority && { priority: options.priority }),
          ...(options.key !== undefined && { idempotencyKey: options.key }),
          ...(options.delay !== undefined && { delaySeconds: options.delay }),
        });
        if (!options.wait) {
          session.print({ ...submitted.task, replayed: submitted.replayed }, formatSubmitted(submitted));
          return ExitCode.Success;
        }
        const { task_id, status } = submitted.task;
        const task = await followTask(session, task_id, `task ${task_id} ${status}`, options.timeout);
        session.print(task, formatTask(task));
        return exitCodeFor(task);
      }),
    );
}
