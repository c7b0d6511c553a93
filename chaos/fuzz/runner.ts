/** The fuzz run: plant the anchor, send the generated requests, shrink the first failures, check the rest. */
import fc from 'fast-check';
import { plantAnchor } from './anchor';
import { badRequests } from './bad-requests';
import { type Accepted, type AgentOverlaps, acceptedTaskId, checkAccepted, judge } from './judge';
import { storeCounts } from './probe';
import { type FuzzReport, type FuzzViolation, requestText } from './report';
import type { FuzzRequest } from './request';
import { validTasks } from './valid-tasks';
import { send } from './wire';

export interface FuzzOptions {
  /** Base URL of a running local runtime (it must serve `GET /_local/stack`). */
  readonly apiUrl: string;
  /** Generated requests. @default 5000 */
  readonly runs?: number;
  /** fast-check seed; the same seed sends the same requests. @default 7 */
  readonly seed?: number;
  /** Distinct violation kinds to shrink to a minimal counterexample (each costs more requests). @default 3 */
  readonly shrinkKinds?: number;
  readonly progress?: (line: string) => void;
  /**
   * Largest answer a `huge-answer` task asks the echo agent for. The default reaches past what a consumer
   * can buffer (the consumer must stop reading at `maxResultBytes`).
   * @default 300_000_000
   */
  readonly maxAnswerBytes?: number;
  /** How long accepted tasks may take to finish. @default 600_000 */
  readonly finishWithinMs?: number;
  /** The demo agents, when they run in this process: then no two executions of one task may overlap. */
  readonly agents?: AgentOverlaps;
}

/**
 * Plants the anchor task, then sends `runs` generated bad requests one after another and records every
 * answer. Then, for the first violation of each kind (up to `shrinkKinds`), replays that run with
 * fast-check's `path` so that it shrinks the request to a minimal one that still fails.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const runs = options.runs ?? 5000;
  const seed = options.seed ?? 7;
  const say = options.progress ?? (() => {});
  const byStatus: Record<string, number> = {};
  const byKind: Record<string, Record<string, number>> = {};
  const violations: FuzzViolation[] = [];
  const firstFailingRun = new Map<string, number>();
  const accepted: Accepted[] = [];
  let requests = 0;

  const attempt = async (req: FuzzRequest): Promise<string | undefined> => {
    requests += 1;
    let problem: string | undefined;
    let status = 'network error';
    try {
      const res = await send(options.apiUrl, req);
      status = String(res.status);
      if (req.expect) {
        const taskId = acceptedTaskId(res);
        if (taskId) accepted.push({ taskId, request: req, expect: req.expect });
        else problem = `a valid task answered ${res.status}: ${res.body.slice(0, 300)}`;
      } else problem = judge(res);
    } catch (error) {
      problem = `no answer: ${(error as Error).message}`;
    }
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const kind = byKind[req.kind] ?? {};
    kind[status] = (kind[status] ?? 0) + 1;
    byKind[req.kind] = kind;
    return problem;
  };

  const anchor = await plantAnchor(options.apiUrl, seed);
  const request = fc.oneof(
    { arbitrary: badRequests(anchor), weight: 9 },
    { arbitrary: validTasks(options.maxAnswerBytes), weight: 1 },
  );
  const before = await storeCounts(options.apiUrl);
  let run = 0;
  await fc.check(
    fc.asyncProperty(request, async (req) => {
      const index = run++;
      const problem = await attempt(req);
      if (problem) {
        violations.push({ kind: req.kind, problem, request: requestText(req) });
        if (!firstFailingRun.has(req.kind)) firstFailingRun.set(req.kind, index);
      }
      if (run % 500 === 0) say(`fuzz: ${run}/${runs} requests, ${violations.length} violations`);
      return true;
    }),
    { numRuns: runs, seed },
  );

  for (const [kind, index] of [...firstFailingRun].slice(0, options.shrinkKinds ?? 3)) {
    const details = await fc.check(
      fc.asyncProperty(request, async (req) => (await attempt(req)) === undefined),
      { seed, path: String(index), numRuns: runs },
    );
    const first = violations.find((v) => v.kind === kind)!;
    if (details.failed && details.counterexample) {
      violations[violations.indexOf(first)] = { ...first, shrunk: requestText(details.counterexample[0]) };
    }
  }

  say(`fuzz: waiting for ${accepted.length} accepted tasks to finish`);
  violations.push(
    ...(await checkAccepted(options.apiUrl, accepted, options.finishWithinMs ?? 600_000, options.agents)),
  );

  // Accepted tasks have finished; their messages are deleted once acknowledged, moments later.
  const settled = Date.now() + 60_000;
  let after = await storeCounts(options.apiUrl);
  while (after.queuedMessages > before.queuedMessages && Date.now() < settled) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await storeCounts(options.apiUrl);
  }
  if (after.queuedMessages > before.queuedMessages || after.taskItems > before.taskItems + accepted.length) {
    violations.push({
      kind: 'store',
      problem: `something other than the ${accepted.length} accepted tasks was enqueued: queued messages ${before.queuedMessages} → ${after.queuedMessages}, task items ${before.taskItems} → ${after.taskItems}`,
      request: '(all)',
    });
  }
  return {
    seed,
    runs,
    requests,
    byStatus,
    byKind,
    accepted: accepted.length,
    before,
    after,
    violations,
  };
}
