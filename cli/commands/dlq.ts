/**
 * `taskq dlq list|redrive|purge`: the dead-letter queues, against the local runtime (`--endpoint`) or a
 * deployed stack (`--stack NAME`). These talk to SQS and DynamoDB directly, not to the task API.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DynamoTaskStore } from '../../lambda/adapters/dynamodb-task-store';
import { PRIORITIES, type Priority, TASK_ID_PATTERN } from '../../lambda/core/task';
import { createAwsClients } from '../dlq/aws';
import { DeadLetterQueue } from '../dlq/dead-letter-queue';
import { formatList, formatPurge, formatRedrive, toRow } from '../dlq/format';
import {
  listDeadLetters,
  purgeTier,
  type RedriveTierResult,
  redriveTier,
  type TierTarget,
} from '../dlq/operations';
import { UsageError } from '../errors';
import { type ActionFactory, ExitCode, type Session } from '../session';
import { resourcesFromLocalRuntime, resourcesFromStack, type StackResources } from '../stack-resources';

interface DlqOptions {
  readonly stack?: string;
  readonly endpoint?: string;
  readonly tier?: Priority;
}

/** SQS's bounds for MaxNumberOfMessagesPerSecond. */
const MAX_MOVE_RATE = 500;
const DEFAULT_LIST_LIMIT = 50;
/** Pause between two ListMessageMoveTasks calls, unless the caller's poll settings say otherwise. */
const DEFAULT_MOVE_POLL_MS = 1000;

function integerBetween(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`it must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

const tierOption = () =>
  new Option('--tier <tier>', 'only this priority tier (default: both)').choices(PRIORITIES);

/** `--task <id>`: one task's dead letters, or a published task's deliveries (all, or one by its own id). */
const taskOption = (what: string) =>
  new Option(
    '--task <id>',
    `only ${what} of this task: a task id, a published task's id (all its deliveries) or one delivery's id`,
  ).argParser((value: string) => {
    if (!TASK_ID_PATTERN.test(value))
      throw new InvalidArgumentError('it must be a task id (a lowercase UUID).');
    return value;
  });

/** Finds the resources: `--stack` through CloudFormation, otherwise the local runtime at the endpoint. */
async function resolve(session: Session, options: DlqOptions): Promise<StackResources> {
  if (options.stack !== undefined) {
    if (options.endpoint !== undefined)
      throw new UsageError(
        'give either --stack (a deployed stack) or --endpoint (the local runtime), not both',
      );
    return resourcesFromStack(options.stack);
  }
  return resourcesFromLocalRuntime(session.endpoint, session.deps.fetch);
}

async function targets(session: Session, options: DlqOptions) {
  const resources = await resolve(session, options);
  const clients = createAwsClients(resources.aws);
  const tiers: readonly Priority[] = options.tier ? [options.tier] : PRIORITIES;
  const list: TierTarget[] = tiers.map((tier) => ({
    tier,
    deadLetterQueue: new DeadLetterQueue(clients.sqs, resources.tiers[tier].deadLetterQueueUrl),
    sourceQueueUrl: resources.tiers[tier].queueUrl,
  }));
  return { targets: list, store: new DynamoTaskStore(clients.dynamodb, resources.tableName) };
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function registerList(dlq: Command, action: ActionFactory): void {
  dlq
    .command('list')
    .description(
      'peek at dead letters without consuming them: task id, type, attempts, last error, age; for a delivery of ' +
        'a published task, its topic, subscriber and published task',
    )
    .addOption(tierOption())
    .addOption(taskOption('the dead letters'))
    .option(
      '--limit <n>',
      `at most this many messages per tier (default ${DEFAULT_LIST_LIMIT})`,
      integerBetween(1, 100_000),
    )
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<DlqOptions & { limit?: number; task?: string }>();
        const { targets: list, store } = await targets(session, options);
        const tiers = await listDeadLetters(list, store, {
          limit: options.limit ?? DEFAULT_LIST_LIMIT,
          ...(options.task !== undefined && { taskId: options.task }),
        });
        const now = session.now();
        const rows = tiers.flatMap((t) => t.letters.map((letter) => toRow(t.tier, letter, now)));
        const document = {
          queues: tiers.map((t) => ({
            tier: t.tier,
            dead_letter_queue_url: t.deadLetterQueueUrl,
            approximate_messages: t.approximateCount,
          })),
          dead_letters: rows,
        };
        session.print(document, formatList(tiers, rows));
        return ExitCode.Success;
      }),
    );
}

function registerRedrive(dlq: Command, action: ActionFactory): void {
  dlq
    .command('redrive')
    .description(
      'set the dead-lettered tasks back to QUEUED (attempts and last error kept), then move their messages ' +
        'back to the source queue with an SQS message move task; exit code 1 unless every move completes',
    )
    .addOption(tierOption())
    .addOption(taskOption('the messages'))
    .option(
      '--rate <n>',
      `messages per second, 1-${MAX_MOVE_RATE} (default: SQS's own pace)`,
      integerBetween(1, MAX_MOVE_RATE),
    )
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<DlqOptions & { rate?: number; task?: string }>();
        const { targets: list, store } = await targets(session, options);
        const results: RedriveTierResult[] = [];
        for (const target of list)
          results.push(
            await redriveTier(target, store, {
              ...(options.rate !== undefined && { ratePerSecond: options.rate }),
              ...(options.task !== undefined && { taskId: options.task }),
              now: () => session.now(),
              pollIntervalMs: session.deps.poll?.intervalMs ?? DEFAULT_MOVE_POLL_MS,
              sleep,
              progressBar: (label, total) => session.progressBar(label, total),
              warn: (text) => session.deps.stderr(`warning: ${text}\n`),
            }),
          );
        session.print({ tiers: results }, formatRedrive(results));
        return results.every((r) => r.move === undefined || r.move.status === 'COMPLETED')
          ? ExitCode.Success
          : ExitCode.Failure;
      }),
    );
}

function registerPurge(dlq: Command, action: ActionFactory): void {
  dlq
    .command('purge')
    .description(
      'delete every message in the dead-letter queue(s); unfinished tasks among them are failed first',
    )
    .addOption(tierOption())
    .option('--yes', 'confirm: the messages cannot be recovered')
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<DlqOptions & { yes?: boolean }>();
        if (options.yes !== true)
          throw new UsageError(
            `purge deletes every message in the ${options.tier ?? 'high and low'} dead-letter queue(s) for good; ` +
              'run it again with --yes to confirm',
          );
        const { targets: list, store } = await targets(session, options);
        const results = [];
        for (const target of list) results.push(await purgeTier(target, store, { now: () => session.now() }));
        session.print({ tiers: results }, formatPurge(results));
        return ExitCode.Success;
      }),
    );
}

export function registerDlq(program: Command, action: ActionFactory): void {
  const dlq = program
    .command('dlq')
    .description('inspect, redrive and purge the dead-letter queues (SQS and DynamoDB directly, not the API)')
    .option(
      '--stack <name>',
      'a deployed stack: read its outputs with CloudFormation (default AWS credentials and region); ' +
        'without it, the local runtime at --endpoint',
    );
  registerList(dlq, action);
  registerRedrive(dlq, action);
  registerPurge(dlq, action);
}
