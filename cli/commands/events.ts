/**
 * `taskq events tail|replay`: the task lifecycle events topic, against the local runtime (`--endpoint`) or a
 * deployed stack (`--stack NAME`). These talk to SNS, SQS and the table's stream directly, not to the task API.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Command, InvalidArgumentError } from 'commander';
import { SnsEventTopic } from '../../lambda/adapters/sns-event-topic';
import type { TaskStatus } from '../../lambda/core/task';
import { DEFAULT_EVENT_TRANSITIONS, eventTransitionErrors } from '../../lambda/core/task-events';
import { CommandError, UsageError } from '../errors';
import { buildFilterPolicy } from '../events/filter-policy';
import { formatEvent, formatReplay } from '../events/format';
import { replayUnpublished } from '../events/replay';
import { tailEvents } from '../events/tail';
import { type ActionFactory, ExitCode, type Session, stopSignal } from '../session';
import {
  type AwsConnection,
  outputsFromLocalRuntime,
  outputsFromStack,
  type StackOutputs,
} from '../stack-resources';

/** The stack outputs these commands read (lib/task-queue-stack.ts declares them). */
export const EVENTS_TOPIC_OUTPUT = 'TaskEventsTopicArn';
export const UNPUBLISHED_EVENTS_OUTPUT = 'UnpublishedEventsQueueUrl';

interface EventsOptions {
  readonly stack?: string;
  readonly endpoint?: string;
}

async function resolve(session: Session, options: EventsOptions): Promise<StackOutputs> {
  if (options.stack !== undefined) {
    if (options.endpoint !== undefined)
      throw new UsageError(
        'give either --stack (a deployed stack) or --endpoint (the local runtime), not both',
      );
    return outputsFromStack(options.stack);
  }
  const local = await outputsFromLocalRuntime(session.endpoint, session.deps.fetch);
  // A runtime whose template has the topic but not (yet) the output: the topic the construct names `Events`.
  const listed = Object.entries(local.topics).find(
    ([label]) => label === 'Events' || label.endsWith('/Events'),
  );
  return listed && !local.outputs[EVENTS_TOPIC_OUTPUT]
    ? { ...local, outputs: { ...local.outputs, [EVENTS_TOPIC_OUTPUT]: listed[1] } }
    : local;
}

function output(stack: StackOutputs, key: string): string {
  const value = stack.outputs[key];
  if (!value)
    throw new CommandError(
      'MissingStackOutput',
      `${stack.description} has no output ${key}: does it have the events topic?`,
    );
  return value;
}

function clients(aws: AwsConnection) {
  const common = {
    ...(aws.region && { region: aws.region }),
    ...(aws.staticCredentials && { credentials: { ...aws.staticCredentials } }),
  };
  return {
    sqs: new SQSClient({ ...common, ...(aws.endpoints && { endpoint: aws.endpoints.sqs }) }),
    sns: new SNSClient({
      ...common,
      ...(aws.endpoints && { endpoint: aws.endpoints.sns ?? aws.endpoints.sqs }),
    }),
    // DynamoDB Streams has the same endpoint as DynamoDB locally (DynamoDB Local), not on AWS.
    streams: new DynamoDBStreamsClient({
      ...common,
      ...(aws.endpoints && { endpoint: aws.endpoints.dynamodb }),
    }),
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1)
    throw new InvalidArgumentError('it must be a whole number of 1 or more.');
  return n;
}

function transitionList(value: string): TaskStatus[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const errors = eventTransitionErrors(list);
  if (errors.length > 0) throw new InvalidArgumentError(errors.join('; '));
  return list as TaskStatus[];
}

function registerTail(events: Command, action: ActionFactory): void {
  events
    .command('tail')
    .description(
      'print task events as they are published, through a temporary queue subscribed to the events topic ' +
        '(removed with its subscription on exit: Ctrl-C)',
    )
    .option(
      '--filter <key=value>',
      'only events whose attribute matches, repeatable (keys type, priority, status, event; a,b lists values)',
      collect,
    )
    .option('--type <type>', 'only events of this task type (or topic), repeatable', collect)
    .option('--limit <n>', 'exit after n events', positive)
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<
          EventsOptions & { filter?: string[]; type?: string[]; limit?: number }
        >();
        const filterPolicy = buildFilterPolicy(options.filter ?? [], options.type ?? []);
        const stack = await resolve(session, options);
        const topicArn = output(stack, EVENTS_TOPIC_OUTPUT);
        const { sqs, sns } = clients(stack.aws);
        const { signal, dispose } = stopSignal(session.deps);
        try {
          const result = await tailEvents({
            sns,
            sqs,
            topicArn,
            ...(filterPolicy && { filterPolicy }),
            signal,
            ...(options.limit !== undefined && { limit: options.limit }),
            onReady: (queueUrl) =>
              session.deps.stderr(
                `tailing ${topicArn} through ${queueUrl}` +
                  `${filterPolicy ? ` (filter ${JSON.stringify(filterPolicy)})` : ''}; Ctrl-C stops and removes the queue\n`,
              ),
            onEvent: (body, text) =>
              session.deps.stdout(
                session.json
                  ? `${typeof body === 'string' ? JSON.stringify(body) : text}\n`
                  : typeof body === 'object' && body !== null
                    ? formatEvent(body)
                    : `${text}\n`,
              ),
          });
          session.deps.stderr(`${result.events} event(s); queue and subscription removed\n`);
        } finally {
          dispose();
          sqs.destroy();
          sns.destroy();
        }
        return ExitCode.Success;
      }),
    );
}

function registerReplay(events: Command, action: ActionFactory): void {
  events
    .command('replay')
    .description(
      'publish again what the unpublished-events queue holds (kept events, and the stream ranges of batches the ' +
        'publisher gave up on, read back from the stream within its 24 hours); deletes each message once published',
    )
    .option(
      '--transitions <list>',
      `the statuses the publisher is configured for, to derive a stream range's events (default ${DEFAULT_EVENT_TRANSITIONS.join(',')})`,
      transitionList,
    )
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<EventsOptions & { transitions?: TaskStatus[] }>();
        const stack = await resolve(session, options);
        const topicArn = output(stack, EVENTS_TOPIC_OUTPUT);
        const queueUrl = output(stack, UNPUBLISHED_EVENTS_OUTPUT);
        const { sqs, sns, streams } = clients(stack.aws);
        try {
          const result = await replayUnpublished({
            sqs,
            streams,
            topic: new SnsEventTopic(sns, topicArn),
            queueUrl,
            transitions: options.transitions ?? DEFAULT_EVENT_TRANSITIONS,
          });
          session.print(result, formatReplay(result));
          return result.kept === 0 ? ExitCode.Success : ExitCode.Failure;
        } finally {
          sqs.destroy();
          sns.destroy();
          streams.destroy();
        }
      }),
    );
}

export function registerEvents(program: Command, action: ActionFactory): void {
  const events = program
    .command('events')
    .description('follow and replay the task lifecycle events topic (SNS and SQS directly, not the API)')
    .option(
      '--stack <name>',
      'a deployed stack: read its outputs with CloudFormation (default AWS credentials and region); ' +
        'without it, the local runtime at --endpoint',
    );
  registerTail(events, action);
  registerReplay(events, action);
}
