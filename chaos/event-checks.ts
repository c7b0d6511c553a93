/**
 * The chaos run's checks of task events and published tasks.
 *
 * Events: a queue subscribed to the events topic (raw delivery) collects what the publisher publishes while SNS
 * publishes fail at random (`snsPublishFailure`); at the end, the replay of `taskq events replay` publishes what the
 * publisher kept in the unpublished-events queue. Then every terminal transition of every task and every delivery
 * must have its event, found by `event_id` (duplicates are allowed, and counted), and no event may name a
 * transition the task did not make.
 *
 * Published tasks: each delivery is checked as a task is (chaos.ts), and the published task's top-level status must
 * be the one the issue's rule derives from its deliveries' (written here again from the rule, not imported).
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SNSClient, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { replayUnpublished } from '../cli/events/replay';
import { subscribeQueue } from '../cli/events/tail';
import { SnsEventTopic } from '../lambda/adapters/sns-event-topic';
import type { TaskStatus, TaskView } from '../lambda/core/task';
import type { TaskEventBody } from '../lambda/core/task-events';
import type { LocalRuntime } from '../local/runtime';

/** One terminal transition that must have its event: the record's id (a delivery's own), status and attempts. */
export interface TerminalTransition {
  /** The task record's id: a task's, or a delivery's (its event's `task_id` is the published task's). */
  readonly recordId: string;
  readonly status: TaskStatus;
  readonly attempts: number;
  /** What the violation names. */
  readonly label: string;
}

export interface EventCounts {
  /** Terminal transitions that must have an event. */
  readonly expected: number;
  /** Events the subscriber queue received, duplicates included. */
  readonly received: number;
  /** Distinct `event_id`s among them. */
  readonly distinct: number;
  /** Events the publisher could not publish and kept, that the replay published. */
  readonly replayed: number;
  /** Messages the replay left in the unpublished-events queue. */
  readonly keptAfterReplay: number;
  /** Terminal transitions without their event. */
  readonly missing: number;
}

/** `<record id>:<status>:<attempts>:`, the part of `event_id` before the redrive count. */
const transitionKey = (recordId: string, status: string, attempts: number) =>
  `${recordId}:${status}:${attempts}:`;

/**
 * The violations of a run's events: a terminal transition with no event, and an event of a task's terminal status
 * that the task does not have (a terminal status is final: a second one would be a transition out of it). Events of
 * records the run does not know (none in a chaos run) are ignored.
 */
export function checkEventCoverage(
  transitions: readonly TerminalTransition[],
  events: readonly TaskEventBody[],
): { violations: string[]; missing: number; distinct: number } {
  const ids = new Set(events.map((e) => e.event_id));
  const prefixes = new Set([...ids].map((id) => id.slice(0, id.lastIndexOf(':') + 1)));
  const violations: string[] = [];
  let missing = 0;
  const expected = new Map<string, TerminalTransition>();
  for (const t of transitions) {
    expected.set(t.recordId, t);
    if (!prefixes.has(transitionKey(t.recordId, t.status, t.attempts))) {
      missing += 1;
      violations.push(`${t.label} ended ${t.status} after ${t.attempts} attempts, but no event says so`);
    }
  }
  for (const id of ids) {
    const [recordId, status, attempts] = id.split(':');
    const t = expected.get(recordId!);
    if (t && (t.status !== status || t.attempts !== Number(attempts)))
      violations.push(
        `${t.label} ended ${t.status} after ${t.attempts} attempts, but an event says ${status} after ${attempts}`,
      );
  }
  return { violations, missing, distinct: ids.size };
}

/** The issue's rule for a published task's status, from its deliveries'. */
export function expectedPublishedStatus(statuses: readonly string[]): string {
  const ended = statuses.every((s) => s === 'SUCCEEDED' || s === 'FAILED' || s === 'CANCELLED');
  if (ended) {
    if (statuses.includes('FAILED')) return 'FAILED';
    if (statuses.includes('SUCCEEDED')) return 'SUCCEEDED';
    return 'CANCELLED';
  }
  if (statuses.includes('RUNNING')) return 'RUNNING';
  if (statuses.includes('RETRYING')) return 'RETRYING';
  return 'QUEUED';
}

/**
 * A published task against its deliveries: one per subscriber, each GET of the delivery's own id the same as the
 * published view shows it, and the top-level status and attempts derived from them.
 */
export function checkPublishedTask(
  id: string,
  published: TaskView,
  subscribers: readonly string[],
  deliveries: ReadonlyMap<string, TaskView | undefined>,
): string[] {
  const violations: string[] = [];
  const say = (what: string) => violations.push(`published task ${id} ${what}`);
  const views = published.deliveries ?? {};
  const listed = Object.keys(views).sort();
  if (listed.join() !== [...subscribers].sort().join())
    say(`lists the deliveries ${listed.join(', ')}, not ${subscribers.join(', ')}`);
  for (const subscriber of subscribers) {
    const view = views[subscriber];
    const own = deliveries.get(subscriber);
    if (!own) {
      say(`has no record of its ${subscriber} delivery (a lost delivery)`);
      continue;
    }
    if (view && (view.status !== own.status || view.attempts !== own.attempts))
      say(
        `shows its ${subscriber} delivery ${view.status} after ${view.attempts} attempts, but the delivery is ` +
          `${own.status} after ${own.attempts}`,
      );
  }
  const statuses = subscribers.map((s) => views[s]?.status ?? 'missing');
  const derived = expectedPublishedStatus(statuses);
  if (published.status !== derived)
    say(`is ${published.status}, but its deliveries (${statuses.join(', ')}) make it ${derived}`);
  const sum = subscribers.reduce((n, s) => n + (views[s]?.attempts ?? 0), 0);
  if (published.attempts !== sum) say(`counts ${published.attempts} attempts, its deliveries ${sum}`);
  return violations;
}

/**
 * A queue subscribed to the runtime's events topic (raw delivery), read at the end; and the replay of what the
 * publisher kept. It talks to the emulators directly, not through the functions' proxy, so no fault reaches it.
 */
export class EventCollector {
  private readonly sqs: SQSClient;
  private readonly sns: SNSClient;
  private readonly streams: DynamoDBStreamsClient;
  private queueUrl = '';
  private subscriptionArn = '';
  public readonly events: TaskEventBody[] = [];
  public replayed = 0;
  public keptAfterReplay = 0;

  public constructor(private readonly runtime: LocalRuntime) {
    const common = { region: 'us-east-1', credentials: { accessKeyId: 'chaos', secretAccessKey: 'chaos' } };
    this.sqs = new SQSClient({ ...common, endpoint: runtime.awsEndpoint });
    this.sns = new SNSClient({ ...common, endpoint: runtime.awsEndpoint });
    this.streams = new DynamoDBStreamsClient({ ...common, endpoint: runtime.dynamodbEndpoint });
  }

  private get topicArn(): string {
    const arn = this.runtime.outputs.TaskEventsTopicArn;
    if (!arn) throw new Error('the chaos stack has no TaskEventsTopicArn output: are events on?');
    return arn;
  }

  public async subscribe(): Promise<void> {
    const { QueueUrl } = await this.sqs.send(new CreateQueueCommand({ QueueName: 'chaos-task-events' }));
    this.queueUrl = QueueUrl!;
    this.subscriptionArn = (
      await subscribeQueue({ sns: this.sns, sqs: this.sqs, topicArn: this.topicArn, queueUrl: this.queueUrl })
    ).subscriptionArn;
  }

  /** Takes every event the queue holds now. */
  public async drain(): Promise<void> {
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10 }),
      );
      if (Messages.length === 0) return;
      for (const m of Messages) this.events.push(JSON.parse(m.Body!) as TaskEventBody);
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }

  /** `taskq events replay`'s logic: publishes what the unpublished-events queue holds. */
  public async replay(): Promise<void> {
    const queueUrl = this.runtime.outputs.UnpublishedEventsQueueUrl;
    if (!queueUrl) throw new Error('the chaos stack has no UnpublishedEventsQueueUrl output');
    const result = await replayUnpublished({
      sqs: this.sqs,
      streams: this.streams,
      topic: new SnsEventTopic(this.sns, this.topicArn),
      queueUrl,
      transitions: this.runtime.eventTransitions as TaskStatus[],
      visibilitySeconds: 30,
    });
    this.replayed += result.published;
    this.keptAfterReplay = result.kept;
  }

  /**
   * Collects until every transition has its event or `withinMs` passed: the publisher may still be reading the
   * stream, and a batch it fails is kept only after its own retries, so the replay runs on each round.
   */
  public async collect(
    transitions: readonly TerminalTransition[],
    withinMs: number,
  ): Promise<ReturnType<typeof checkEventCoverage>> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      await this.drain();
      await this.replay();
      await this.drain();
      const coverage = checkEventCoverage(transitions, this.events);
      if (coverage.missing === 0 || Date.now() >= deadline) return coverage;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  public async close(): Promise<void> {
    if (this.subscriptionArn)
      await this.sns.send(new UnsubscribeCommand({ SubscriptionArn: this.subscriptionArn })).catch(() => {});
    if (this.queueUrl)
      await this.sqs.send(new DeleteQueueCommand({ QueueUrl: this.queueUrl })).catch(() => {});
    this.sqs.destroy();
    this.sns.destroy();
    this.streams.destroy();
  }
}
