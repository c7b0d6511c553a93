/**
 * Figures 3 and 6, end to end: `count` echo tasks submitted over HTTP at concurrency 32 while the consumers run,
 * timed from each record's created_at to its finished_at, beside a raw loop that makes the same SQS and DynamoDB
 * calls and the same agent call with the SDK, without Lambda emulation.
 */

import { ACCEPTED_BATCHING_WINDOW } from '../lib/accepted-tasks-counter';
import { runConcurrent, settleFunctions, waitFor } from './load';
import { PAYLOADS } from './payloads';
import { uniqueName } from './raw-path';
import type { BenchSession, CapturedLine, TaskRecordTimes } from './session';
import { type LatencySummary, ratio, round, summarize } from './stats';

export const SUBMIT_CONCURRENCY = 32;

export interface EndToEndPoint extends LatencySummary {
  readonly tasks: number;
  /** From the first enqueue to the last finish. */
  readonly wallSeconds: number;
  readonly tasksPerSecond: number;
}

export interface EndToEndRun {
  readonly tasks: number;
  readonly runtime: EndToEndPoint;
  readonly raw: EndToEndPoint;
  /** runtime tasks/s ÷ raw tasks/s. */
  readonly throughputRatio: number;
  /** What the cost figure needs from the runtime's run. */
  readonly detail: {
    readonly logLines: CapturedLine[];
    readonly awsCalls?: Record<string, number>;
    readonly records: TaskRecordTimes[];
    readonly rawBatchMs: number[];
    readonly rawBatchSizes: number[];
    /** The runtime's invocations while capturing: their durations (ms) by function logical id. */
    readonly invocations?: Record<string, number[]>;
    /** The local event sources' own SQS calls (ReceiveMessage, DeleteMessageBatch) during the run. */
    readonly eventSourceCalls?: Record<string, number>;
  };
}

function endToEndPoint(createdMs: number[], finishedMs: number[]): EndToEndPoint {
  const latencies = createdMs.map((c, i) => finishedMs[i]! - c);
  const wallMs = Math.max(...finishedMs) - Math.min(...createdMs);
  return {
    tasks: createdMs.length,
    ...summarize(latencies),
    wallSeconds: round(wallMs / 1000, 2),
    tasksPerSecond: round((createdMs.length / wallMs) * 1000),
  };
}

/** The sum of the `TasksAccepted` counts in the EMF lines of `ids` (the accepted-tasks counter). */
export function tasksAccepted(lines: readonly CapturedLine[], ids: ReadonlySet<string>): number {
  return lines
    .filter((l) => ids.has(l.source) && l.line.includes('"TasksAccepted"'))
    .reduce((n, l) => n + Number((JSON.parse(l.line) as { TasksAccepted?: number }).TasksAccepted ?? 0), 0);
}

async function runtimeRun(session: BenchSession, count: number, timeoutMs: number) {
  await session.waitIdle(timeoutMs);
  const counting = session.awsCounting;
  counting?.resetAwsCalls();
  // The accepted-tasks counter's batches of earlier tasks (figure 2's, a raw path's records) land before the
  // capture: it goes quiet for longer than its batching window.
  const counterIds = new Set(session.functions.counter);
  if (counterIds.size > 0) {
    const quietMs = ACCEPTED_BATCHING_WINDOW.toMilliseconds() + 3000;
    await settleFunctions(session, session.functions.counter, quietMs, timeoutMs);
  }
  const sourcesBefore = session.runtime.eventSourceCalls();
  session.startCapture();
  const before = session.succeeded();
  const submitted = await session.submitMany(count, SUBMIT_CONCURRENCY, (i) => ({
    type: 'echo',
    payload: PAYLOADS.prose(i),
  }));
  await session.waitSucceeded(before, count, timeoutMs);
  // The last DeleteMessageBatch and log lines land just after the count moves.
  await session.waitIdle(timeoutMs);
  // The accepted-tasks counter's last stream batch lands up to its batching window after the last task's create.
  if (counterIds.size > 0) {
    await waitFor(
      `the accepted-tasks counter to count the ${count} tasks`,
      () => tasksAccepted(session.peekCaptured(), counterIds) >= count,
      timeoutMs,
      200,
    );
    const counted = tasksAccepted(session.peekCaptured(), counterIds);
    if (counted !== count) throw new Error(`the accepted-tasks counter counted ${counted} of ${count} tasks`);
  }
  const awsCalls = counting?.awsCalls();
  const sourcesAfter = session.runtime.eventSourceCalls();
  const eventSourceCalls = Object.fromEntries(
    Object.entries(sourcesAfter).map(([k, v]) => [k, v - (sourcesBefore[k] ?? 0)]),
  );
  const invocations = session.invocationsSinceCapture();
  const logLines = session.stopCapture();
  const records = await session.records(submitted.results);
  const done = records.filter((r) => r.status === 'SUCCEEDED' && r.finished_at);
  if (done.length !== count) throw new Error(`only ${done.length} of ${count} tasks SUCCEEDED`);
  const point = endToEndPoint(
    done.map((r) => Date.parse(r.created_at)),
    done.map((r) => Date.parse(r.finished_at!)),
  );
  return { point, logLines, awsCalls, records, invocations, eventSourceCalls };
}

async function rawRun(session: BenchSession, count: number, loops: number) {
  const queue = await session.raw.createQueue(uniqueName('bench-raw-e2e'), 60);
  const consuming = session.raw.consume(queue, count, loops);
  const submitted = await runConcurrent(count, SUBMIT_CONCURRENCY, () =>
    session.raw.enqueue(queue, {
      type: 'echo',
      payload: PAYLOADS.prose(0),
      priority: 'low',
      delaySeconds: 0,
    }),
  );
  if (submitted.errors > 0) throw new Error(`raw enqueue failed: ${submitted.firstError}`);
  const consumed = await consuming;
  const created = submitted.results.map((t) => t.createdMs);
  const finished = submitted.results.map((t) => consumed.finishedMs.get(t.taskId)!);
  return { point: endToEndPoint(created, finished), consumed };
}

export async function endToEnd(
  session: BenchSession,
  count: number,
  options: { rawLoops: number; timeoutMs: number; progress: (line: string) => void },
): Promise<EndToEndRun> {
  const runtime = await runtimeRun(session, count, options.timeoutMs);
  const raw = await rawRun(session, count, options.rawLoops);
  const run: EndToEndRun = {
    tasks: count,
    runtime: runtime.point,
    raw: raw.point,
    throughputRatio: ratio(runtime.point.tasksPerSecond, raw.point.tasksPerSecond),
    detail: {
      logLines: runtime.logLines,
      ...(runtime.awsCalls && { awsCalls: runtime.awsCalls }),
      records: runtime.records,
      rawBatchMs: raw.consumed.batchMs,
      rawBatchSizes: raw.consumed.batchSizes,
      invocations: runtime.invocations,
      eventSourceCalls: runtime.eventSourceCalls,
    },
  };
  options.progress(
    `  ${count} tasks: runtime ${run.runtime.tasksPerSecond} tasks/s (p50 ${run.runtime.p50Ms} ms, p99 ${run.runtime.p99Ms} ms), ` +
      `raw ${run.raw.tasksPerSecond} tasks/s (p50 ${run.raw.p50Ms} ms, p99 ${run.raw.p99Ms} ms) → ${run.throughputRatio}×`,
  );
  return run;
}
