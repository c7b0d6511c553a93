/**
 * Figure 5's runs for issue 13: tasks published to a topic with two subscribers (requests per published task, in
 * the default session, events off), and the events publisher on the table's stream (in a session with events on
 * for the default transitions): its invocations, batch sizes, durations, SNS requests and log lines per event.
 */
import { deliveryTaskId } from '../lambda/core/topics';
import { SUBMIT_CONCURRENCY } from './end-to-end';
import { payloadKB } from './enqueue';
import { functionsQuiet, runConcurrent, settleFunctions, waitFor } from './load';
import type { BenchSession, CapturedLine, TaskRecordTimes } from './session';
import { round } from './stats';

/** What a run counted: the functions' calls (proxy), the event sources' calls, invocations and log lines. */
export interface CountedRun {
  readonly tasks: number;
  readonly wallSeconds: number;
  /** The functions' AWS calls, `service:Operation`, counted by the runtime's proxy. */
  readonly awsCalls: Record<string, number>;
  /** The same by function logical id (cut at 40 characters, as the proxy keys them). */
  readonly awsCallsByFunction: Record<string, Record<string, number>>;
  /** The event source mappings' SQS calls during the run (`sqs:ReceiveMessage (empty)`: receives that got none). */
  readonly eventSourceCalls: Record<string, number>;
  /** Invocation durations (ms) by function logical id. */
  readonly invocations: Record<string, number[]>;
  readonly logLines: CapturedLine[];
}

export interface PublishedRun extends CountedRun {
  readonly topic: string;
  readonly subscribers: readonly string[];
  readonly publishedRecords: TaskRecordTimes[];
  readonly deliveryRecords: TaskRecordTimes[];
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

/**
 * Publishes `count` 1 KB tasks to `topic` over HTTP at concurrency 32 and waits until every delivery succeeded.
 * The payload carries `ms: 0`, so that `sleep` answers at once, as `echo` does.
 */
export async function publishedRun(
  session: BenchSession,
  count: number,
  options: { topic: string; timeoutMs: number; progress: (line: string) => void },
): Promise<PublishedRun> {
  const subscribers = session.runtime.topics[options.topic];
  if (!subscribers) throw new Error(`the runtime has no topic ${options.topic}`);
  const counting = session.awsCounting;
  if (!counting) throw new Error('published tasks are measured with the runtime proxy’s request counts');
  await session.waitIdle(options.timeoutMs);
  counting.resetAwsCalls();
  const sourcesBefore = session.runtime.eventSourceCalls();
  session.startCapture();
  const before = session.succeeded();
  const t0 = Date.now();
  const submitted = await session.submitMany(count, SUBMIT_CONCURRENCY, (i) => ({
    type: options.topic,
    payload: { ...payloadKB(i), ms: 0 },
  }));
  // Each published task is one publish message (fanned out) and one delivery message per subscriber.
  await session.waitSucceeded(before, count * (1 + subscribers.length), options.timeoutMs);
  await session.waitIdle(options.timeoutMs);
  const wallSeconds = round((Date.now() - t0) / 1000, 2);
  const awsCalls = counting.awsCalls();
  const awsCallsByFunction = session.runtime.awsCallsByFunction();
  const eventSourceCalls = diff(session.runtime.eventSourceCalls(), sourcesBefore);
  const invocations = session.invocationsSinceCapture();
  const logLines = session.stopCapture();
  const ids = submitted.results;
  const publishedRecords = await session.records(ids);
  const deliveryRecords = await session.records(
    ids.flatMap((id) => subscribers.map((s) => deliveryTaskId(id, s))),
  );
  const done = deliveryRecords.filter((r) => r.status === 'SUCCEEDED').length;
  if (publishedRecords.length !== count || done !== count * subscribers.length) {
    throw new Error(
      `${publishedRecords.length} of ${count} published records, ${done} of ${count * subscribers.length} deliveries SUCCEEDED`,
    );
  }
  options.progress(
    `  ${count} tasks published to ${options.topic} (${subscribers.join(', ')}) in ${wallSeconds} s`,
  );
  return {
    tasks: count,
    wallSeconds,
    awsCalls,
    awsCallsByFunction,
    eventSourceCalls,
    invocations,
    logLines,
    topic: options.topic,
    subscribers,
    publishedRecords,
    deliveryRecords,
  };
}

/** One invocation of the events publisher, from the `stream batch` line it logs. */
export interface PublisherBatch {
  readonly records: number;
  readonly events: number;
  readonly published: number;
}

export interface EventsRun extends CountedRun {
  /** The topic the tasks were published to; echo tasks when absent. */
  readonly topic?: string;
  /** How the tasks were submitted: all at once (concurrency 32), or one at a time with a pause between. */
  readonly pacing: 'burst' | 'paced';
  readonly publisherIds: readonly string[];
  readonly batches: PublisherBatch[];
}

/** The publisher's `stream batch` lines: one per invocation. */
export function publisherBatches(lines: readonly CapturedLine[], publisherIds: ReadonlySet<string>) {
  const batches: PublisherBatch[] = [];
  for (const { source, line } of lines) {
    if (!publisherIds.has(source) || !line.includes('"stream batch"')) continue;
    const doc = JSON.parse(line) as Partial<PublisherBatch>;
    batches.push({ records: doc.records ?? 0, events: doc.events ?? 0, published: doc.published ?? 0 });
  }
  return batches;
}

/**
 * `count` 1 KB echo tasks in a session with events on, then waits until the publisher has published an event
 * for each (SUCCEEDED is one of the default transitions). `pauseMs` submits them one at a time with that pause
 * (longer than the stream's 1 s batching window: a quiet queue); without it, at concurrency 32 (a busy one).
 */
export async function eventsRun(
  session: BenchSession,
  count: number,
  options: {
    timeoutMs: number;
    progress: (line: string) => void;
    pauseMs?: number;
    /** Publish to this topic instead of submitting echo tasks (its subscribers must answer `ms: 0` at once). */
    topic?: string;
  },
): Promise<EventsRun> {
  const publisherIds = session.functions.publisher;
  if (publisherIds.length === 0) throw new Error('the session has no EventPublisher: are events on?');
  const counting = session.awsCounting;
  if (!counting) throw new Error('events are measured with the runtime proxy’s request counts');
  await session.waitIdle(options.timeoutMs);
  // Events of earlier tasks (the warm-up) must be out of the stream before counting starts.
  await settlePublisher(session, options.timeoutMs);
  counting.resetAwsCalls();
  const sourcesBefore = session.runtime.eventSourceCalls();
  session.startCapture();
  const before = session.succeeded();
  const t0 = Date.now();
  const subscribers = options.topic ? (session.runtime.topics[options.topic] ?? []) : [];
  if (options.topic && subscribers.length === 0) throw new Error(`the runtime has no topic ${options.topic}`);
  const body = (i: number) =>
    options.topic
      ? { type: options.topic, payload: { ...payloadKB(i), ms: 0 } }
      : { type: 'echo', payload: payloadKB(i) };
  if (options.pauseMs === undefined) {
    await session.submitMany(count, SUBMIT_CONCURRENCY, body);
  } else {
    const out = await runConcurrent(count, 1, async (i) => {
      await session.submit(body(i));
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    });
    if (out.errors > 0) throw new Error(`${out.errors} of ${count} submissions failed: ${out.firstError}`);
  }
  // A published task is a publish message and one delivery per subscriber.
  await session.waitSucceeded(before, count * (1 + subscribers.length), options.timeoutMs);
  const ids = new Set(publisherIds);
  const published = () => publisherBatches(session.peekCaptured(), ids).reduce((n, b) => n + b.published, 0);
  // At least one event per task (SUCCEEDED), or per delivery; then until the publisher goes quiet, so that any
  // further event (of a published record, say) is counted too.
  const expected = count * Math.max(1, subscribers.length);
  await waitFor(`${expected} events to be published`, () => published() >= expected, options.timeoutMs, 100);
  await session.waitIdle(options.timeoutMs);
  await publisherQuiet(session, options.timeoutMs);
  const wallSeconds = round((Date.now() - t0) / 1000, 2);
  const awsCalls = counting.awsCalls();
  const awsCallsByFunction = session.runtime.awsCallsByFunction();
  const eventSourceCalls = diff(session.runtime.eventSourceCalls(), sourcesBefore);
  const invocations = session.invocationsSinceCapture();
  const logLines = session.stopCapture();
  const batches = publisherBatches(logLines, ids);
  const pacing = options.pauseMs === undefined ? 'burst' : 'paced';
  options.progress(
    `  events (${pacing}${options.topic ? `, published to ${options.topic}` : ''}): ${count} tasks, ${batches.reduce((n, b) => n + b.published, 0)} events in ${batches.length} publisher invocations`,
  );
  return {
    tasks: count,
    wallSeconds,
    awsCalls,
    awsCallsByFunction,
    eventSourceCalls,
    invocations,
    logLines,
    pacing,
    ...(options.topic && { topic: options.topic }),
    publisherIds,
    batches,
  };
}

/** Waits until the publisher has gone 3 s without an invocation (the stream's earlier records are through). */
function settlePublisher(session: BenchSession, timeoutMs: number): Promise<void> {
  return settleFunctions(session, session.functions.publisher, 3000, timeoutMs);
}

/** Waits, capturing, until no publisher invocation has ended for 3 s (longer than the 1 s batching window). */
function publisherQuiet(session: BenchSession, timeoutMs: number): Promise<void> {
  return functionsQuiet(session, session.functions.publisher, 3000, timeoutMs);
}
