/**
 * Figure 2, enqueue: POST /tasks against the local runtime at concurrency 1 and 32, beside the raw path (the
 * producer's SendMessage and PutItem sent straight to the same emulators with the SDK at the same concurrency).
 * Tasks are sent with the longest delay (900 s) on both paths, so that no consumer works during the
 * measurement; the tier queues are purged afterwards.
 */
import { type LoadResult, runConcurrent } from './load';
import { uniqueName } from './raw-path';
import type { BenchSession } from './session';
import { type LatencySummary, ratio, round, summarize } from './stats';

/** A 1 KB task payload, as in the cost figure. */
export const payloadKB = (i: number) => ({ n: i, data: 'x'.repeat(1000) });
const DELAY_SECONDS = 900;

export interface EnqueuePoint extends LatencySummary {
  readonly requestsPerSecond: number;
  readonly errors: number;
  /**
   * CPU time of the benchmark process (all its threads: load generator, HTTP API, fauxqs, Lambda workers) per
   * request. DynamoDB Local's JVM is not included. The difference between the paths is the runtime's own cost.
   */
  readonly cpuMsPerRequest: number;
}

export interface EnqueueRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly runtime: EnqueuePoint;
  readonly raw: EnqueuePoint;
  /** runtime rps / raw rps; target ≥ 0.6 at concurrency 32. */
  readonly throughputRatio: number;
}

type Timed = LoadResult<unknown> & { cpuMs: number };

async function timed(run: () => Promise<LoadResult<unknown>>): Promise<Timed> {
  const cpu = process.cpuUsage();
  const out = await run();
  const used = process.cpuUsage(cpu);
  return { ...out, cpuMs: (used.user + used.system) / 1000 };
}

function point(out: Timed): EnqueuePoint {
  return {
    ...summarize(out.latenciesMs),
    requestsPerSecond: round((out.latenciesMs.length / out.elapsedMs) * 1000),
    errors: out.errors,
    cpuMsPerRequest: round(out.cpuMs / Math.max(1, out.latenciesMs.length), 2),
  };
}

export async function enqueue(
  session: BenchSession,
  sizes: ReadonlyArray<{ concurrency: number; requests: number }>,
  progress: (line: string) => void,
): Promise<EnqueueRow[]> {
  const rawQueue = await session.raw.createQueue(uniqueName('bench-raw-enqueue'), 30);
  const rows: EnqueueRow[] = [];
  // Warm both paths (a cold worker or a first TCP connection is not what is measured here).
  const body = (i: number) => ({ type: 'echo', payload: payloadKB(i), delaySeconds: DELAY_SECONDS });
  await runConcurrent(40, 8, (i) => session.submit(body(i)));
  const rawTask = (i: number) => ({
    type: 'echo',
    payload: payloadKB(i),
    priority: 'low' as const,
    delaySeconds: DELAY_SECONDS,
  });
  await runConcurrent(40, 8, (i) => session.raw.enqueue(rawQueue, rawTask(i)));
  for (const [index, { concurrency, requests }] of sizes.entries()) {
    const runtimeRun = () =>
      timed(() => runConcurrent<unknown>(requests, concurrency, (i) => session.submit(body(i))));
    const rawRun = () =>
      timed(() =>
        runConcurrent<unknown>(requests, concurrency, (i) => session.raw.enqueue(rawQueue, rawTask(i))),
      );
    // Alternate the order, so that neither path always runs on the fresher machine.
    let runtimeOut: Timed;
    let rawOut: Timed;
    if (index % 2 === 0) {
      runtimeOut = await runtimeRun();
      rawOut = await rawRun();
    } else {
      rawOut = await rawRun();
      runtimeOut = await runtimeRun();
    }
    const row: EnqueueRow = {
      concurrency,
      requests,
      runtime: point(runtimeOut),
      raw: point(rawOut),
      throughputRatio: ratio(
        runtimeOut.latenciesMs.length / runtimeOut.elapsedMs,
        rawOut.latenciesMs.length / rawOut.elapsedMs,
      ),
    };
    if (runtimeOut.firstError)
      progress(`  runtime errors: ${runtimeOut.errors}, first: ${runtimeOut.firstError}`);
    if (rawOut.firstError) progress(`  raw errors: ${rawOut.errors}, first: ${rawOut.firstError}`);
    progress(
      `  c=${concurrency}: runtime ${row.runtime.requestsPerSecond} rps (p50 ${row.runtime.p50Ms} ms, p99 ${row.runtime.p99Ms} ms), ` +
        `raw ${row.raw.requestsPerSecond} rps (p50 ${row.raw.p50Ms} ms, p99 ${row.raw.p99Ms} ms) → ${row.throughputRatio}×; ` +
        `CPU per request ${row.runtime.cpuMsPerRequest} vs ${row.raw.cpuMsPerRequest} ms`,
    );
    rows.push(row);
  }
  await session.purgeTiers();
  return rows;
}
