/** Runs a number of jobs at a fixed concurrency and times each one. */
import type { BenchSession } from './session';

export interface LoadResult<T> {
  readonly results: T[];
  /** Latency of every job that succeeded, in milliseconds. */
  readonly latenciesMs: number[];
  readonly elapsedMs: number;
  readonly errors: number;
  readonly firstError?: string;
}

export async function runConcurrent<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
): Promise<LoadResult<T>> {
  const results: T[] = new Array(count);
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      try {
        results[i] = await job(i);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { results, latenciesMs, elapsedMs: performance.now() - start, errors, firstError };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where long waits report what they are waiting on, every 15 s. */
let waitReporter: ((line: string) => void) | undefined;
export const reportWaitsTo = (report: (line: string) => void) => {
  waitReporter = report;
};

/** Waits until `done()` holds, checking every `everyMs`; throws after `timeoutMs`, saying where things stood. */
export async function waitFor(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
  describe?: () => string,
) {
  const start = Date.now();
  let lastReport = start;
  while (!(await done())) {
    const now = Date.now();
    const where = describe ? ` (${describe()})` : '';
    if (now - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${where}`);
    if (now - lastReport > 15_000) {
      waitReporter?.(`  … waiting ${Math.round((now - start) / 1000)} s for ${what}${where}`);
      lastReport = now;
    }
    await sleep(everyMs);
  }
}

/**
 * Waits, capturing, until no invocation of the functions `ids` has ended for `quietMs`: longer than their event
 * source's batching window, so that the records before the wait are through.
 */
export async function functionsQuiet(
  session: BenchSession,
  ids: readonly string[],
  quietMs: number,
  timeoutMs: number,
): Promise<void> {
  let last = Date.now();
  let seen = 0;
  await waitFor(
    `${ids.join(', ')} to go quiet`,
    () => {
      const n = ids.reduce((a, id) => a + (session.invocationsSinceCapture()[id]?.length ?? 0), 0);
      if (n !== seen) {
        seen = n;
        last = Date.now();
      }
      return Date.now() - last >= quietMs;
    },
    timeoutMs,
    200,
  );
}

/**
 * Lets the stream batches of earlier writes pass before a measurement: captures only until the functions `ids` have
 * gone `quietMs` without an invocation, then forgets what it captured.
 */
export async function settleFunctions(
  session: BenchSession,
  ids: readonly string[],
  quietMs: number,
  timeoutMs: number,
): Promise<void> {
  session.startCapture();
  await functionsQuiet(session, ids, quietMs, timeoutMs);
  session.stopCapture();
}
