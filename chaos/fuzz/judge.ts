/**
 * Judging the answers: a bad request's answer must be a 4xx JSON error; an accepted task must end as its
 * expectation says.
 */
import { API_ERROR_CODES, type ApiErrorCode } from '../../lambda/core/error-codes';
import { parseExactJson } from '../../lambda/core/json-text';
import { TaskStatus, type TaskView } from '../../lambda/core/task';
import { isTerminal } from '../../lambda/core/transitions';
import { GATEWAY_RESPONSES } from '../../local/http-api';
import { type FuzzViolation, requestText } from './report';
import type { Expectation, FuzzRequest } from './request';
import { type FuzzResponse, send } from './wire';

/**
 * What is wrong with an answer to a bad request, or undefined when it is a 4xx JSON error: our handler's
 * `{ error: { code, message } }` with a known code at that code's one status, or API Gateway's own answer. When
 * `answers` is given, the answer (as {@link answerOf} writes it) must also be one of them.
 */
export function judge(res: FuzzResponse, answers?: readonly string[]): string | undefined {
  if (res.status < 400 || res.status > 499) return `answered ${res.status}: ${res.body.slice(0, 300)}`;
  if (!/^application\/json\b/i.test(res.contentType))
    return `answered ${res.status} with content-type '${res.contentType}'`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `answered ${res.status} with a body that is not JSON: ${res.body.slice(0, 300)}`;
  }
  const answer = answerOf(res.status, body);
  if (answer === undefined) {
    return `answered ${res.status} without { error: { code, message } }: ${res.body.slice(0, 300)}`;
  }
  const code = (body as { error?: { code?: string } }).error?.code;
  if (code !== undefined) {
    const known = Object.hasOwn(API_ERROR_CODES, code) ? API_ERROR_CODES[code as ApiErrorCode] : undefined;
    if (!known) return `answered ${res.status} with the unknown error code ${code}`;
    if (known.status !== res.status)
      return `answered ${res.status} with the code ${code}, whose status is ${known.status}`;
  }
  if (answers && !answers.includes(answer))
    return `answered ${answer}, not ${answers.join(' or ')}: ${res.body.slice(0, 300)}`;
  return undefined;
}

/**
 * An error answer as `<status> <what>`: `401 Unauthorized` for our handler's code, `404 Not Found` for the
 * message of API Gateway's own answer. Undefined for a body of neither shape.
 */
export function answerOf(status: number, body: unknown): string | undefined {
  // API Gateway answers a request that matches no route, or a body over its own limit, itself, with
  // `{ "message" }` and no code: docs/api.md says so. Only those exact answers are allowed that shape.
  const gateway = Object.values(GATEWAY_RESPONSES).find((r) => r.status === status && r.status < 500);
  if (gateway && JSON.stringify(body) === JSON.stringify({ message: gateway.message }))
    return `${status} ${gateway.message}`;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || !error.code || typeof error.message !== 'string' || !error.message)
    return undefined;
  return `${status} ${error.code}`;
}

/** A valid task the API accepted, to check once it has finished. */
export interface Accepted {
  readonly taskId: string;
  readonly request: FuzzRequest;
  readonly expect: Expectation;
}

/** The task id of a 202 answer, or undefined for any other answer. */
export function acceptedTaskId(res: FuzzResponse): string | undefined {
  if (res.status !== 202) return undefined;
  try {
    const id = (JSON.parse(res.body) as { task_id?: unknown }).task_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Counts, per task id, the agent executions that overlapped an earlier one of the same task (the demo agents). */
export interface AgentOverlaps {
  overlaps(): ReadonlyMap<string, number>;
}

/** What GET /tasks/{id} shows of a task that has finished. */
type FinishedView = Partial<TaskView>;

/** JSON text with every number literal as written and no whitespace: equal for "exactly as sent" payloads. */
const exactText = (value: unknown) => JSON.stringify(value);

/**
 * Waits until every accepted task is terminal, then checks each against its expectation: an echo result that
 * holds the payload exactly, the expected error code, or a late agent's task SUCCEEDED without overlapping
 * executions (when the demo agents are at hand).
 */
export async function checkAccepted(
  apiUrl: string,
  accepted: readonly Accepted[],
  withinMs: number,
  agents?: AgentOverlaps,
): Promise<FuzzViolation[]> {
  const violations: FuzzViolation[] = [];
  const deadline = Date.now() + withinMs;
  let pending = [...accepted];
  const finished = new Map<string, FinishedView>();
  while (pending.length > 0) {
    const still: Accepted[] = [];
    for (const task of pending) {
      let text = '';
      try {
        text = (
          await send(apiUrl, { kind: 'check', method: 'GET', path: `/tasks/${task.taskId}`, headers: [] })
        ).body;
        const view = parseExactJson(text) as FinishedView;
        if (view.status !== undefined && isTerminal(view.status)) finished.set(task.taskId, view);
        else still.push(task);
      } catch {
        still.push(task);
      }
    }
    pending = still;
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      for (const task of pending)
        violations.push({
          kind: task.request.kind,
          problem: `task ${task.taskId} did not finish within ${withinMs} ms`,
          request: requestText(task.request),
        });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const overlaps = agents?.overlaps();
  for (const task of accepted) {
    const view = finished.get(task.taskId);
    if (!view) continue;
    const problem = expectationProblem(task.expect, view, overlaps?.get(task.taskId) ?? 0);
    if (problem)
      violations.push({
        kind: task.request.kind,
        problem: `task ${task.taskId} ${problem}`,
        request: requestText(task.request),
      });
  }
  return violations;
}

function expectationProblem(expect: Expectation, view: FinishedView, overlaps: number): string | undefined {
  const state = `${view.status}${view.error?.code ? ` (${view.error.code})` : ''}`;
  switch (expect.outcome) {
    case 'echo': {
      if (view.status !== TaskStatus.SUCCEEDED) return `ended ${state}, not SUCCEEDED`;
      const echoed = exactText((view.result as { echo?: unknown } | undefined)?.echo);
      const sent = exactText(parseExactJson(expect.payload));
      return echoed === sent
        ? undefined
        : `reached the agent as ${echoed.slice(0, 200)}, not as sent: ${sent.slice(0, 200)}`;
    }
    case 'failed':
      return view.status === TaskStatus.FAILED && view.error?.code === expect.code
        ? undefined
        : `ended ${state}, not FAILED (${expect.code})`;
    case 'late':
      if (view.status !== TaskStatus.SUCCEEDED) return `ended ${state}, not SUCCEEDED`;
      return overlaps > 0 ? `had ${overlaps} agent executions overlapping an earlier one` : undefined;
  }
}
