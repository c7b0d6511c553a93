/**
 * The fuzz run: plant the anchors, send the generated requests, shrink the first failures, check the rest, and
 * see that no wrong token changed a task.
 */
import fc from 'fast-check';
import { plantAnchor } from './anchor';
import { badRequests } from './bad-requests';
import { finishCallbackAnchor, plantCallbackAnchor, watchCallbackAnchor } from './callback-anchor';
import { callbackRequests } from './callback-requests';
import { type Accepted, type AgentOverlaps, acceptedTaskId, checkAccepted, judge } from './judge';
import { storeCounts } from './probe';
import { type FuzzReport, type FuzzViolation, requestText } from './report';
import type { FuzzRequest } from './request';
import { validTasks } from './valid-tasks';
import { send, sendLookup } from './wire';

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

/** How often (in generated requests) the run looks at the callback anchor. */
const WATCH_EVERY = 100;

/**
 * Plants the anchor task and the callback anchor (a running async task), then sends `runs` generated
 * requests one after another and records every answer: bad POST /tasks requests, bad callback requests
 * (each with a token no attempt was given) and valid tasks. Then, for the first violation of each kind (up to
 * `shrinkKinds`), replays that run with fast-check's `path` so that it shrinks the request to a minimal one
 * that still fails. Last, it checks that the callback anchor is still RUNNING in its first attempt and the
 * anchor unchanged, then cancels the callback anchor and sees it end CANCELLED.
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
      } else problem = judge(res, req.answers);
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
  const anchorView = await taskText(options.apiUrl, anchor.taskId);
  const before = await storeCounts(options.apiUrl);
  const callbackAnchor = await plantCallbackAnchor(options.apiUrl);
  const watch = async () => {
    const problem = await watchCallbackAnchor(options.apiUrl, callbackAnchor);
    if (problem) violations.push({ kind: 'callback-anchor', problem, request: '(all callback requests)' });
  };
  const request = fc.oneof(
    { arbitrary: badRequests(anchor), weight: 9 },
    {
      arbitrary: callbackRequests({ running: callbackAnchor.taskId, finished: anchor.taskId }),
      weight: 4,
    },
    { arbitrary: validTasks(options.maxAnswerBytes), weight: 1 },
  );
  let run = 0;
  await fc.check(
    fc.asyncProperty(request, async (req) => {
      const index = run++;
      const problem = await attempt(req);
      if (problem) {
        violations.push({ kind: req.kind, problem, request: requestText(req) });
        if (!firstFailingRun.has(req.kind)) firstFailingRun.set(req.kind, index);
      }
      if (run % WATCH_EVERY === 0) await watch();
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

  await watch();
  const anchorNow = await taskText(options.apiUrl, anchor.taskId);
  if (anchorNow !== anchorView) {
    violations.push({
      kind: 'anchor',
      problem: `the anchor task ${anchor.taskId} changed: ${anchorView} → ${anchorNow}`,
      request: '(all)',
    });
  }

  say(`fuzz: waiting for ${accepted.length} accepted tasks to finish`);
  violations.push(
    ...(await checkAccepted(options.apiUrl, accepted, options.finishWithinMs ?? 600_000, options.agents)),
  );

  const cancelled = await finishCallbackAnchor(options.apiUrl, callbackAnchor);
  if (cancelled) violations.push({ kind: 'callback-anchor', problem: cancelled, request: '(the cancel)' });

  // Accepted tasks have finished; their messages are deleted once acknowledged, moments later.
  const settled = Date.now() + 60_000;
  let after = await storeCounts(options.apiUrl);
  while (after.queuedMessages > before.queuedMessages && Date.now() < settled) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await storeCounts(options.apiUrl);
  }
  // The callback anchor is the one task item besides the accepted tasks; its message is deleted once it ends.
  if (
    after.queuedMessages > before.queuedMessages ||
    after.taskItems > before.taskItems + accepted.length + 1
  ) {
    violations.push({
      kind: 'store',
      problem: `something other than the ${accepted.length} accepted tasks and the callback anchor was enqueued: queued messages ${before.queuedMessages} → ${after.queuedMessages}, task items ${before.taskItems} → ${after.taskItems}`,
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
    callbackAnchor: callbackAnchor.taskId,
    before,
    after,
    violations,
  };
}

/** GET /tasks/{id} as text, to see that nothing changed a finished task. */
async function taskText(apiUrl: string, taskId: string): Promise<string> {
  return (await sendLookup(apiUrl, { kind: 'anchor', method: 'GET', path: `/tasks/${taskId}`, headers: [] }))
    .body;
}
