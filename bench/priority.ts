/**
 * Figure 4, priority isolation: `flood` low-priority `sleep` tasks (200 ms each), then `probe` urgent tasks over
 * HTTP. The p99 queue wait (started_at − created_at) of the urgent tasks under the flood, over the same on an idle
 * system. Ours sends the urgent tasks as `high` (their own queue and consumer); the baseline, one shared queue,
 * sends them as `low`, behind the flood.
 *
 * The flood is put on the low queue with the SDK (the producer's exact records and messages, in batches): through
 * the HTTP API it would arrive more slowly than the low consumers drain it, and there would be no backlog to
 * isolate from.
 */
import type { BenchSession } from './session';
import { type LatencySummary, ratio, summarize } from './stats';

const SLEEP_MS = 200;

export interface IsolationRow {
  readonly design: string;
  readonly urgentPriority: 'high' | 'low';
  readonly idle: LatencySummary;
  readonly flooded: LatencySummary;
  /** flooded p99 ÷ idle p99; target ≤ 1.5 for ours. */
  readonly ratio: number;
  /** Low tasks still queued when the urgent ones were submitted. */
  readonly backlogAtSubmit: number;
}

export interface IsolationResult {
  readonly flood: number;
  readonly probe: number;
  readonly sleepMs: number;
  readonly rows: IsolationRow[];
}

const sleepTask = (priority: 'high' | 'low') => ({ type: 'sleep', priority, payload: { ms: SLEEP_MS } });

async function queueWaits(session: BenchSession, ids: string[], timeoutMs: number): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const records = await session.records(ids);
    const started = records.filter((r) => r.started_at);
    if (started.length === ids.length) {
      return started.map((r) => Date.parse(r.started_at!) - Date.parse(r.created_at));
    }
    if (Date.now() > end) throw new Error(`only ${started.length} of ${ids.length} urgent tasks started`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function lowBacklog(session: BenchSession): number {
  const low = session.runtime.status().queues.find((q) => q.label === 'Low/Queue');
  return low ? low.depth : Number.NaN;
}

async function measure(
  session: BenchSession,
  urgent: 'high' | 'low',
  flood: number,
  probe: number,
  timeoutMs: number,
): Promise<{ waits: number[]; backlog: number }> {
  await session.waitIdle(timeoutMs);
  if (flood > 0) {
    await session.raw.injectBacklog(session.queueUrl('low'), flood, sleepTask('low'));
  }
  const backlog = lowBacklog(session);
  const probes = await session.submitMany(probe, 32, () => sleepTask(urgent));
  const waits = await queueWaits(session, probes.results, timeoutMs);
  return { waits, backlog };
}

export async function priorityIsolation(
  session: BenchSession,
  sizes: { flood: number; probe: number },
  options: { timeoutMs: number; progress: (line: string) => void },
): Promise<IsolationResult> {
  const rows: IsolationRow[] = [];
  for (const [design, urgent] of [
    ['ours: high tier', 'high'],
    ['baseline: one shared queue', 'low'],
  ] as const) {
    // An unmeasured idle round first: the urgent tier's consumer reaches its full pool of warm workers.
    await measure(session, urgent, 0, sizes.probe, options.timeoutMs);
    const idle = await measure(session, urgent, 0, sizes.probe, options.timeoutMs);
    const flooded = await measure(session, urgent, sizes.flood, sizes.probe, options.timeoutMs);
    const row: IsolationRow = {
      design,
      urgentPriority: urgent,
      idle: summarize(idle.waits),
      flooded: summarize(flooded.waits),
      ratio: ratio(summarize(flooded.waits).p99Ms, summarize(idle.waits).p99Ms),
      backlogAtSubmit: flooded.backlog,
    };
    options.progress(
      `  ${design}: p99 wait idle ${row.idle.p99Ms} ms, flooded ${row.flooded.p99Ms} ms (backlog ${row.backlogAtSubmit}) → ${row.ratio}×`,
    );
    rows.push(row);
  }
  await session.waitIdle(options.timeoutMs);
  return { flood: sizes.flood, probe: sizes.probe, sleepMs: SLEEP_MS, rows };
}
