/**
 * The callback anchor: an `async-echo` task that stays RUNNING for the whole fuzz, so that the callback routes
 * have a live async attempt to attack. Its token is known only to its agent; every callback the fuzz sends
 * carries another one, so none of them may change the task. The fuzz looks at it while it runs and at the
 * end, then cancels it, and the agent's next heartbeat ends it CANCELLED.
 */
import { randomUUID } from 'node:crypto';
import type { TaskView } from '../../lambda/core/task';
import { TaskStatus } from '../../lambda/core/task';
import type { DemoAgentType } from '../../local/demo-agents';
import { JSON_CT } from './request';
import { sendLookup } from './wire';

/** The running task the callback requests aim at, and what it showed once its agent had called back. */
export interface CallbackAnchor {
  readonly taskId: string;
  /** Its attempts when it was planted: a wrong token must never start, end or retry one. */
  readonly attempts: number;
}

export const CALLBACK_ANCHOR_TYPE = 'async-echo' satisfies DemoAgentType;

/** Longer than any fuzz run (the fuzz cancels it), and well within the default `maxRunTime` of an hour. */
export const CALLBACK_ANCHOR_RUN_MS = 30 * 60_000;

/** Every progress message the fuzz sends starts with this; the anchor's agent never writes it. */
export const FUZZ_PROGRESS_MARK = 'fuzz-progress';

/**
 * Submits the callback anchor (a new task each run: an earlier one has been cancelled) and waits until its
 * agent has sent its first heartbeat, so that the attempt is live and its token in use.
 */
export async function plantCallbackAnchor(apiUrl: string, withinMs = 60_000): Promise<CallbackAnchor> {
  // A key of its own, so that sending it again after a network error cannot plant two.
  const res = await sendLookup(apiUrl, {
    kind: 'anchor',
    method: 'POST',
    path: '/tasks',
    headers: [JSON_CT, ['Idempotency-Key', `fuzz-callback-anchor-${randomUUID()}`]],
    body: Buffer.from(
      JSON.stringify({
        type: CALLBACK_ANCHOR_TYPE,
        payload: { ms: CALLBACK_ANCHOR_RUN_MS, heartbeat_ms: 1000, fuzz: 'callback-anchor' },
      }),
    ),
  });
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`the callback anchor task got ${res.status}: ${res.body}`);
  const taskId = (JSON.parse(res.body) as { task_id: string }).task_id;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const view = await viewOf(apiUrl, taskId);
    if (view.status === TaskStatus.RUNNING && view.heartbeat_at !== undefined)
      return { taskId, attempts: view.attempts ?? 0 };
    if (Date.now() > deadline)
      throw new Error(
        `the callback anchor ${taskId} had no heartbeat after ${withinMs} ms: ${JSON.stringify(view)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * What a wrong token changed of the callback anchor, or undefined: it must still be RUNNING in the attempt it
 * was planted in, with no cancel request, no error and no progress the fuzz sent.
 */
export function callbackAnchorProblem(anchor: CallbackAnchor, view: Partial<TaskView>): string | undefined {
  if (view.status !== TaskStatus.RUNNING) return `is ${view.status}, not RUNNING`;
  if (view.attempts !== anchor.attempts) return `is in attempt ${view.attempts}, not ${anchor.attempts}`;
  if (view.cancel_requested !== undefined) return `shows cancel_requested: ${view.cancel_requested}`;
  if (view.error !== undefined) return `shows the error ${JSON.stringify(view.error)}`;
  if (view.progress?.message?.startsWith(FUZZ_PROGRESS_MARK))
    return `shows the fuzz's progress ${JSON.stringify(view.progress)}`;
  return undefined;
}

/** Looks at the callback anchor now: what a wrong token changed of it, or undefined. */
export async function watchCallbackAnchor(
  apiUrl: string,
  anchor: CallbackAnchor,
): Promise<string | undefined> {
  const problem = callbackAnchorProblem(anchor, await viewOf(apiUrl, anchor.taskId));
  return problem && `the callback anchor ${anchor.taskId} ${problem}`;
}

/**
 * Cancels the callback anchor (202 with `cancel_requested: true`) and waits until its agent, told by its next
 * heartbeat, has ended it CANCELLED. Undefined when it did; otherwise what went wrong.
 */
export async function finishCallbackAnchor(
  apiUrl: string,
  anchor: CallbackAnchor,
  withinMs = 60_000,
): Promise<string | undefined> {
  const res = await sendLookup(apiUrl, {
    kind: 'anchor',
    method: 'DELETE',
    path: `/tasks/${anchor.taskId}`,
    headers: [],
  });
  const answer = JSON.parse(res.body) as Partial<TaskView>;
  if (res.status !== 202 || answer.cancel_requested !== true)
    return `cancelling the callback anchor ${anchor.taskId} answered ${res.status}: ${res.body.slice(0, 300)}`;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const view = await viewOf(apiUrl, anchor.taskId);
    if (view.status === TaskStatus.CANCELLED && view.attempts === anchor.attempts) return undefined;
    if (view.status !== TaskStatus.RUNNING)
      return `the cancelled callback anchor ${anchor.taskId} ended ${view.status} in attempt ${view.attempts}, not CANCELLED in attempt ${anchor.attempts}`;
    if (Date.now() > deadline)
      return `the cancelled callback anchor ${anchor.taskId} was still RUNNING after ${withinMs} ms`;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function viewOf(apiUrl: string, taskId: string): Promise<Partial<TaskView>> {
  const res = await sendLookup(apiUrl, {
    kind: 'anchor',
    method: 'GET',
    path: `/tasks/${taskId}`,
    headers: [],
  });
  return JSON.parse(res.body) as Partial<TaskView>;
}
