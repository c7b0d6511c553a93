/**
 * Figure 7, what a long agent costs in Lambda time, sync against async: for agents of 1 s, 30 s and 300 s, the
 * consumer's billed milliseconds per task, and for async the callback function's too (heartbeats and the
 * completion, which the user pays for as well).
 *
 * It runs in a runtime of its own (its own synth cache), because a 300 s synchronous agent needs an agent timeout
 * above 300 s and a consumer timeout above that. The sync agent is a `sleep` without the demo's 60 s cap
 * (long-agents.ts); the async one is the demo `async-echo`, heartbeating every {@link HEARTBEAT_MS}.
 *
 * Durations come from the runtime's invocation hook: from handing the event to the execution environment to its
 * answer, rounded up to the millisecond as Lambda bills it; waiting for a free environment is not counted. Each
 * consumer invocation is charged to the tasks in its batch, in equal parts; each callback invocation to the task
 * in its path. Sync tasks go to the high tier and async ones to the low tier, so that the two consumers (the same
 * code and memory) count their AWS calls apart. Tasks are submitted one at a time, each once the one before is
 * RUNNING, so that every task has a batch of its own (the case the issue's arithmetic takes: one agent run
 * holding one consumer invocation); the tasks of a cell then run together.
 */
import * as path from 'node:path';
import type { Invocation } from '../local/lambda-pool';
import { accessLogOf, CALLBACK_ACCESS_LOG_VALUES, dynamoItemBytes } from './cost';
import { sleep, waitFor } from './load';
import { startLongAgents } from './long-agents';
import { BenchSession } from './session';
import { median, round } from './stats';

/** How often `async-echo` heartbeats in this figure. */
export const HEARTBEAT_MS = 10_000;
/** Above the heartbeat interval with room for a loaded machine. */
const HEARTBEAT_TIMEOUT_SECONDS = 30;
/** The 300 s sync agent's timeout, and the consumer's above it (the construct wants the consumer's larger). */
const AGENT_TIMEOUT_SECONDS = 320;
const CONSUMER_TIMEOUT_SECONDS = 360;
/** Room for the cells' sync invocations, async hand-offs and callbacks at once. */
const WORKERS_PER_FUNCTION = 8;

export type AgentMode = 'sync' | 'async';

export interface AgentModeCell {
  readonly agentSeconds: number;
  readonly mode: AgentMode;
  readonly tasks: number;
  /** Consumer invocations that carried this cell's tasks, and their mean batch size. */
  readonly consumerInvocations: number;
  readonly meanBatchSize: number;
  /** Billed consumer milliseconds per task (each invocation rounded up to 1 ms, shared among its batch). */
  readonly consumerMsPerTask: number;
  /** The cheapest and dearest task's consumer ms: the spread a shared machine puts on the mean. */
  readonly consumerMsRange: readonly [number, number];
  readonly heartbeatsPerTask: number;
  readonly completionsPerTask: number;
  /** Billed callback milliseconds per task: its heartbeats and its completion. */
  readonly callbackMsPerTask: number;
  /** Lambda GB-s per task: consumer plus callback, each at its function's memory. */
  readonly gbSecondsPerTask: number;
  /** Median of finished_at − started_at: how long the tasks really ran. */
  readonly runSecondsMedian: number;
}

export interface AgentModesResult {
  readonly tasksPerCell: number;
  readonly heartbeatSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly consumerMemoryMB: number;
  readonly callbackMemoryMB: number;
  readonly cells: AgentModeCell[];
  /** Mean billed ms of one callback invocation, by route, over every cell. */
  readonly callbackMs: { readonly heartbeat: number; readonly complete: number };
  /** AWS calls seen by the runtime's proxy, per task (consumers) or per callback (callback function). */
  readonly awsCalls: {
    readonly syncConsumerPerTask: Record<string, number>;
    readonly asyncConsumerPerTask: Record<string, number>;
    readonly perCompletion: Record<string, number>;
    readonly perHeartbeat: Record<string, number>;
  };
  /** Callback function log bytes per invocation (its own lines, captured). */
  readonly callbackLogBytesPerInvocation: number;
  /** The stage's access log line per callback request, and its log group's class (from the template). */
  readonly callbackAccessLog: { readonly accessLogBytesPerRequest: number; readonly accessLogClass?: string };
  /** Mean size of the tasks' final records, for DynamoDB units per callback. */
  readonly itemBytes: number;
}

interface Charge {
  consumerMs: number;
  /** Consumer invocations that carried the task, with each one's batch size. */
  batches: number[];
  heartbeats: number;
  heartbeatMs: number;
  completions: number;
  completeMs: number;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** The task ids in a consumer's SQS event. */
function sqsTaskIds(event: unknown): string[] {
  const records = (event as { Records?: Array<{ body?: string }> }).Records ?? [];
  return records.flatMap((r) => {
    try {
      const id = (JSON.parse(r.body ?? '') as { task_id?: unknown }).task_id;
      return typeof id === 'string' ? [id] : [];
    } catch {
      return [];
    }
  });
}

const perUnit = (calls: Record<string, number> | undefined, units: number): Record<string, number> =>
  Object.fromEntries(
    Object.entries(calls ?? {})
      .filter(([, n]) => n > 0)
      .map(([k, n]) => [k, round(n / Math.max(units, 1), 3)]),
  );

const minus = (a: Record<string, number> = {}, b: Record<string, number> = {}, times = 1) =>
  Object.fromEntries(Object.entries(a).map(([k, n]) => [k, n - (b[k] ?? 0) * times]));

export async function agentModes(options: {
  durationsSeconds: readonly number[];
  tasksPerCell: number;
  progress: (line: string) => void;
}): Promise<AgentModesResult> {
  const { progress, tasksPerCell } = options;
  const agents = await startLongAgents();
  const invocations: Invocation[] = [];
  let recording = false;
  let session: BenchSession | undefined;
  try {
    session = await BenchSession.start({
      outdir: path.join(__dirname, '..', 'cdk.bench-agents.out'),
      agentsUrl: agents.url,
      timeouts: { consumerSeconds: CONSUMER_TIMEOUT_SECONDS, agentSeconds: AGENT_TIMEOUT_SECONDS },
      heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
      maxWorkersPerFunction: WORKERS_PER_FUNCTION,
      onInvocation: (invocation) => {
        if (recording) invocations.push(invocation);
      },
    });
    const s = session;
    progress(`  runtime ready in ${round(s.startupMs / 1000, 1)} s (agents ${agents.url})`);
    const [highConsumer, lowConsumer] = [
      s.functions.consumer.find((id) => id.includes('High')),
      s.functions.consumer.find((id) => id.includes('Low')),
    ];
    const callbackFn = s.functions.callback[0];
    if (!highConsumer || !lowConsumer || !callbackFn) {
      throw new Error('the template has no high and low consumers and callback function');
    }
    const consumers = new Set(s.functions.consumer);
    const cut = (id: string) => id.slice(0, 40);

    const submitOne = (mode: AgentMode, ms: number, heartbeatMs = HEARTBEAT_MS) =>
      s.submit(
        mode === 'sync'
          ? { type: 'sleep', priority: 'high', payload: { ms } }
          : { type: 'async-echo', priority: 'low', payload: { ms, heartbeat_ms: heartbeatMs } },
      );
    const waitStatus = async (ids: readonly string[], done: (status: string) => boolean, timeoutMs: number) =>
      waitFor(
        `${ids.length} tasks`,
        async () => (await s.records(ids)).every((r) => done(r.status)),
        timeoutMs,
        100,
      );

    // Warm-up, unmeasured: as many tasks of each mode at once as a cell runs, heartbeating often, so that every
    // execution environment a cell uses has run its code path once (its first call sets up SDK clients and
    // connections, which a warm Lambda environment has done too).
    const warm = await Promise.all(
      Array.from({ length: tasksPerCell }, () => [
        submitOne('sync', 2000),
        submitOne('async', 2000, 300),
      ]).flat(),
    );
    await waitStatus(warm, (st) => TERMINAL.has(st), 120_000);
    await s.waitIdle(60_000);

    const cells: AgentModeCell[] = [];
    const perCompletionCalls: Record<string, number>[] = [];
    const perHeartbeatCalls: Record<string, number>[] = [];
    const consumerCalls: Record<AgentMode, Record<string, number>> = { sync: {}, async: {} };
    let consumerTasks = 0;
    let callbackLogBytes = 0;
    let callbackInvocations = 0;
    const callbackTotals = { heartbeatMs: 0, heartbeats: 0, completeMs: 0, completions: 0 };
    const itemSizes: number[] = [];

    for (const seconds of options.durationsSeconds) {
      progress(`  agents of ${seconds} s: ${tasksPerCell} sync and ${tasksPerCell} async tasks at once`);
      await s.waitIdle(60_000);
      invocations.length = 0;
      s.awsCounting?.resetAwsCalls();
      s.startCapture();
      recording = true;
      const ids: Record<AgentMode, string[]> = { sync: [], async: [] };
      for (let i = 0; i < tasksPerCell; i++) {
        for (const mode of ['sync', 'async'] as const) {
          const id = await submitOne(mode, seconds * 1000);
          ids[mode].push(id);
          // Its own batch: the next task is sent once this one is RUNNING.
          await waitStatus([id], (st) => st !== 'QUEUED', 60_000);
        }
      }
      const all = [...ids.sync, ...ids.async];
      await waitStatus(all, (st) => TERMINAL.has(st), seconds * 1000 + 180_000);
      await s.waitIdle(60_000);
      // The last invocations report just after their writes land.
      await sleep(1000);
      recording = false;
      const lines = s.stopCapture();
      const records = await s.records(all);
      const notDone = records.filter((r) => r.status !== 'SUCCEEDED');
      if (notDone.length > 0) {
        throw new Error(
          `${notDone.length} of ${all.length} tasks did not succeed: ${notDone.map((r) => `${r.task_id} ${r.status} ${String(r.item.error_code ?? '')}`).join(', ')}`,
        );
      }
      itemSizes.push(...records.map((r) => dynamoItemBytes(r.item)));

      const charges = new Map<string, Charge>(
        all.map((id) => [
          id,
          {
            consumerMs: 0,
            batches: [],
            heartbeats: 0,
            heartbeatMs: 0,
            completions: 0,
            completeMs: 0,
          },
        ]),
      );
      for (const inv of invocations) {
        const billed = Math.ceil(inv.durationMs);
        if (consumers.has(inv.logicalId)) {
          const taskIds = sqsTaskIds(inv.event);
          for (const id of taskIds) {
            const c = charges.get(id);
            if (!c) continue;
            c.consumerMs += billed / taskIds.length;
            c.batches.push(taskIds.length);
          }
        } else if (inv.logicalId === callbackFn) {
          const match = /^\/tasks\/([^/]+)\/(heartbeat|complete)$/.exec(
            String((inv.event as { rawPath?: unknown }).rawPath ?? ''),
          );
          const c = match && charges.get(match[1]!);
          if (!c) continue;
          callbackInvocations++;
          if (match[2] === 'heartbeat') {
            c.heartbeats++;
            c.heartbeatMs += billed;
            callbackTotals.heartbeatMs += billed;
            callbackTotals.heartbeats++;
          } else {
            c.completions++;
            c.completeMs += billed;
            callbackTotals.completeMs += billed;
            callbackTotals.completions++;
          }
        }
      }
      callbackLogBytes += lines
        .filter((l) => l.source === callbackFn)
        .reduce((n, l) => n + Buffer.byteLength(l.line) + 1, 0);

      const gb = (id: string) => s.memoryMB(id) / 1024;
      for (const mode of ['sync', 'async'] as const) {
        const cs = ids[mode].map((id) => charges.get(id)!);
        const sum = (f: (c: Charge) => number) => cs.reduce((n, c) => n + f(c), 0);
        const n = cs.length;
        const consumerMs = sum((c) => c.consumerMs) / n;
        const callbackMs = sum((c) => c.heartbeatMs + c.completeMs) / n;
        const batches = cs.flatMap((c) => c.batches);
        // An invocation of a batch of k is seen k times, once from each of its tasks.
        const consumerInvocations = batches.reduce((a, k) => a + 1 / k, 0);
        const byId = new Map(records.map((r) => [r.task_id, r]));
        const runSeconds = ids[mode].map((id) => {
          const r = byId.get(id)!;
          return (Date.parse(r.finished_at ?? '') - Date.parse(r.started_at ?? '')) / 1000;
        });
        const cell: AgentModeCell = {
          agentSeconds: seconds,
          mode,
          tasks: n,
          consumerInvocations: round(consumerInvocations, 2),
          meanBatchSize: round(batches.length / Math.max(consumerInvocations, 1e-9), 2),
          consumerMsPerTask: round(consumerMs, 1),
          consumerMsRange: [
            round(Math.min(...cs.map((c) => c.consumerMs)), 1),
            round(Math.max(...cs.map((c) => c.consumerMs)), 1),
          ],
          heartbeatsPerTask: round(sum((c) => c.heartbeats) / n, 2),
          completionsPerTask: round(sum((c) => c.completions) / n, 2),
          callbackMsPerTask: round(callbackMs, 1),
          gbSecondsPerTask: round(
            (consumerMs / 1000) * gb(mode === 'sync' ? highConsumer : lowConsumer) +
              (callbackMs / 1000) * gb(callbackFn),
            5,
          ),
          runSecondsMedian: round(median(runSeconds), 1),
        };
        cells.push(cell);
        progress(
          `    ${mode}: consumer ${cell.consumerMsPerTask} ms/task (${cell.consumerInvocations} invocations), callbacks ${cell.callbackMsPerTask} ms/task (${cell.heartbeatsPerTask} heartbeats + ${cell.completionsPerTask} completions), ${cell.gbSecondsPerTask} GB-s/task`,
        );
      }

      // AWS calls by function: the high consumer ran the sync tasks, the low one the async tasks' hand-offs.
      const byFunction = s.runtime.awsCallsByFunction();
      consumerCalls.sync = sumCalls(consumerCalls.sync, byFunction[cut(highConsumer)]);
      consumerCalls.async = sumCalls(consumerCalls.async, byFunction[cut(lowConsumer)]);
      consumerTasks += tasksPerCell;
      const callbackCalls = byFunction[cut(callbackFn)] ?? {};
      const heartbeats = cells.find(
        (c) => c.agentSeconds === seconds && c.mode === 'async',
      )!.heartbeatsPerTask;
      if (heartbeats === 0) perCompletionCalls.push(perUnit(callbackCalls, tasksPerCell));
      else if (perCompletionCalls.length > 0) {
        // Heartbeat calls: what is left once the completions' calls (from a cell without heartbeats) are taken off.
        perHeartbeatCalls.push(
          perUnit(minus(callbackCalls, perCompletionCalls[0], tasksPerCell), heartbeats * tasksPerCell),
        );
      }
    }

    const mean = (total: number, count: number) => (count > 0 ? round(total / count, 1) : Number.NaN);
    return {
      tasksPerCell,
      heartbeatSeconds: HEARTBEAT_MS / 1000,
      heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
      consumerMemoryMB: s.memoryMB(lowConsumer),
      callbackMemoryMB: s.memoryMB(callbackFn),
      cells,
      callbackMs: {
        heartbeat: mean(callbackTotals.heartbeatMs, callbackTotals.heartbeats),
        complete: mean(callbackTotals.completeMs, callbackTotals.completions),
      },
      awsCalls: {
        syncConsumerPerTask: perUnit(consumerCalls.sync, consumerTasks),
        asyncConsumerPerTask: perUnit(consumerCalls.async, consumerTasks),
        perCompletion: perCompletionCalls[0] ?? {},
        perHeartbeat: perHeartbeatCalls[perHeartbeatCalls.length - 1] ?? {},
      },
      callbackLogBytesPerInvocation:
        callbackInvocations > 0 ? round(callbackLogBytes / callbackInvocations) : 0,
      callbackAccessLog: accessLogOf(s.runtime.template.Resources, CALLBACK_ACCESS_LOG_VALUES),
      itemBytes: Math.round(itemSizes.reduce((a, b) => a + b, 0) / Math.max(itemSizes.length, 1)),
    };
  } finally {
    recording = false;
    await session?.stop();
    await agents.close();
  }
}

function sumCalls(a: Record<string, number>, b: Record<string, number> | undefined): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}
