/**
 * The chaos run: many tasks through the local runtime with every fault injected at once, then a check of
 * the delivery guarantees (docs/guarantees.md). Used by `npm run chaos` and, smaller, by `npm test`.
 */
import { TaskQueueClient } from '../cli/api-client';
import { classifyHttpStatus } from '../lambda/core/agent-outcome';
import {
  agentHttpCode,
  TASK_ERROR_CODES,
  TaskErrorCode,
  type TaskErrorCodeInfo,
} from '../lambda/core/error-codes';
import type { TaskView } from '../lambda/core/task';
import { isTerminal } from '../lambda/core/transitions';
import type { FaultPlan, InjectedFaults } from '../local/faults';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { getTask, pool, submitWithRetries } from './retries';

/** What kind of task it is decides what the run expects of it. */
type Kind = 'echo' | 'sleep' | 'flaky' | 'poison' | 'hopeless';

interface Planned {
  readonly kind: Kind;
  readonly body: { type: string; payload: Record<string, unknown>; priority: 'high' | 'low' };
}

export interface ChaosOptions {
  readonly tasks: number;
  readonly faults: FaultPlan;
  /** Client requests in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Deliveries before the DLQ. @default 4 */
  readonly maxReceiveCount?: number;
  /** Give up waiting after this long. @default 900 */
  readonly deadlineSeconds?: number;
  readonly seed?: number;
  readonly progress?: (line: string) => void;
}

export interface ChaosReport {
  readonly tasks: number;
  readonly accepted: number;
  /** Requests that never got a 2xx, even after retries (allowed: the client was told to retry). */
  readonly notAccepted: number;
  readonly byStatus: Record<string, number>;
  readonly injected: InjectedFaults;
  /** Extra agent executions of SUCCEEDED tasks: the at-least-once window. */
  readonly extraExecutions: number;
  /** Attempts that started while an earlier attempt had not recorded its outcome (deaths, time-outs, failed writes). */
  readonly interruptedAttempts: number;
  readonly deadLettered: number;
  readonly seconds: number;
  readonly violations: readonly string[];
}

/** The default chaos mix: mostly echo, with slow, flaky, poison and hopeless (always transient) tasks. */
export function planTasks(count: number, seed = 7): Planned[] {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  return Array.from({ length: count }, (_, i) => {
    const roll = random();
    const priority = random() < 0.3 ? 'high' : 'low';
    const kind: Kind =
      roll < 0.65
        ? 'echo'
        : roll < 0.75
          ? 'sleep'
          : roll < 0.87
            ? 'flaky'
            : roll < 0.94
              ? 'poison'
              : 'hopeless';
    const payload: Record<string, unknown> =
      kind === 'sleep'
        ? { ms: 20 + Math.floor(random() * 200) }
        : kind === 'flaky'
          ? { failures: 1 }
          : kind === 'hopeless'
            ? { failures: 99 }
            : { i };
    const type = kind === 'hopeless' ? 'flaky' : kind;
    return { kind, body: { type, payload, priority } };
  });
}

/**
 * Whether a FAILED task's error code says it ran out of retries: a code the consumer retries (from the
 * error-code catalogue; the demo agents are HTTP agents), or the sweep's `DeadLettered`.
 */
function exhaustedRetries(code: string): boolean {
  if (code === TaskErrorCode.DeadLettered) return true;
  const http = /^AgentHttp(\d{3})$/.exec(code);
  if (http) return classifyHttpStatus(Number(http[1])) === 'transient';
  return (TASK_ERROR_CODES as Record<string, TaskErrorCodeInfo | undefined>)[code]?.retried === true;
}

/** Messages still in the tier queues, visible or not. */
function leftInQueues(runtime: LocalRuntime): number {
  return ['HighQueueUrl', 'LowQueueUrl'].reduce(
    (n, k) => n + runtime.queueMessages(runtime.outputs[k]!).length,
    0,
  );
}

/** Task ids of every message in the DLQs. */
function deadLetterTaskIds(runtime: LocalRuntime): Set<string> {
  const ids = new Set<string>();
  for (const key of ['HighDeadLetterQueueUrl', 'LowDeadLetterQueueUrl']) {
    for (const body of runtime.queueMessages(runtime.outputs[key]!)) {
      try {
        ids.add((JSON.parse(body) as { task_id: string }).task_id);
      } catch {
        // not an envelope: not ours to check
      }
    }
  }
  return ids;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.progress ?? (() => {});
  const started = Date.now();
  const maxReceiveCount = options.maxReceiveCount ?? 4;
  const runtime = await startLocalRuntime({
    port: 0,
    awsPort: 0,
    dynamodbPort: 0,
    maxReceiveCount,
    faults: options.faults,
    // Short timeouts keep a dead consumer's message coming back within seconds.
    timeouts: { consumerSeconds: 10, agentSeconds: 3 },
    scheduleIntervalSeconds: 3,
    log: () => {},
  });
  const violations: string[] = [];
  try {
    const api = new TaskQueueClient({ endpoint: runtime.apiUrl });
    const plan = planTasks(options.tasks, options.seed);
    const run = `chaos-${Date.now().toString(36)}`;
    say(`submitting ${plan.length} tasks with faults ${JSON.stringify(options.faults)}`);
    const answers = await pool(plan, options.concurrency ?? 16, (task, i) =>
      submitWithRetries(api, task.body, `${run}-${i}`),
    );
    const accepted = new Map<string, Planned>();
    let notAccepted = 0;
    answers.forEach((answer, i) => {
      if (answer.status >= 200 && answer.status < 300 && answer.taskId) accepted.set(answer.taskId, plan[i]!);
      else if (answer.status >= 400 && answer.status < 500)
        violations.push(`task ${i}: a valid request got ${answer.status}`);
      else notAccepted += 1;
    });
    say(`accepted ${accepted.size}; waiting for terminal states`);

    const deadline = started + (options.deadlineSeconds ?? 900) * 1000;
    const states = new Map<string, TaskView | undefined>();
    let pending = [...accepted.keys()];
    while (pending.length > 0 && Date.now() < deadline) {
      const now = await pool(pending, 32, (id) => getTask(api, id));
      pending.forEach((id, i) => {
        states.set(id, now[i]);
      });
      pending = pending.filter((id) => {
        const s = states.get(id);
        return s !== undefined && !isTerminal(s.status);
      });
      say(`${accepted.size - pending.length}/${accepted.size} terminal`);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    let left = leftInQueues(runtime);
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      left = leftInQueues(runtime);
    }

    const successes = runtime.faults.agentSuccesses();
    const interrupted = runtime.faults.interruptedAttempts();
    const injected = runtime.faults.injected();
    const deadLetters = deadLetterTaskIds(runtime);
    const byStatus: Record<string, number> = {};
    let extraExecutions = 0;
    for (const [id, planned] of accepted) {
      const state = states.get(id);
      if (!state) {
        violations.push(`task ${id} was accepted but is lost (404)`);
        continue;
      }
      byStatus[state.status] = (byStatus[state.status] ?? 0) + 1;
      if (!isTerminal(state.status)) violations.push(`task ${id} (${planned.kind}) is still ${state.status}`);
      const runs = successes.get(id) ?? 0;
      if (state.status === 'SUCCEEDED') {
        if (runs < 1) violations.push(`task ${id} SUCCEEDED but its agent never answered 2xx`);
        extraExecutions += Math.max(0, runs - 1);
        // A second execution needs an attempt that started while the first had not recorded its outcome.
        if (runs - 1 > (interrupted.get(id) ?? 0)) {
          violations.push(
            `task ${id} ran its agent ${runs} times with ${interrupted.get(id) ?? 0} interrupted attempts`,
          );
        }
        if (planned.kind === 'poison' || planned.kind === 'hopeless')
          violations.push(`task ${id} (${planned.kind}) SUCCEEDED`);
      }
      if (state.status === 'FAILED') {
        const code = state.error?.code ?? '';
        const explained =
          planned.kind === 'poison'
            ? code === agentHttpCode(422) || exhaustedRetries(code)
            : exhaustedRetries(code);
        if (!explained)
          violations.push(
            `task ${id} (${planned.kind}) FAILED with ${code}, which neither poison nor exhausted retries explain`,
          );
        if (!deadLetters.has(id)) violations.push(`task ${id} FAILED but its message is in no DLQ`);
      }
      if (state.status === 'CANCELLED') violations.push(`task ${id} was CANCELLED, but nobody cancelled it`);
    }
    if (left > 0) violations.push(`${left} messages are left in the tier queues`);

    return {
      tasks: plan.length,
      accepted: accepted.size,
      notAccepted,
      byStatus,
      injected,
      extraExecutions,
      interruptedAttempts: [...interrupted.values()].reduce((a, b) => a + b, 0),
      deadLettered: deadLetters.size,
      seconds: Math.round((Date.now() - started) / 1000),
      violations,
    };
  } finally {
    await runtime.stop();
  }
}

/** Every fault on at once, at rates that keep a run finishing in minutes. */
export const ALL_FAULTS: FaultPlan = {
  sqsSendFailure: 0.05,
  dynamodbThrottle: 0.03,
  dieBeforeAgent: 0.02,
  dieAfterAgent: 0.02,
  dieAfterCompletion: 0.02,
  duplicateDelivery: 0.05,
  slowAgent: 0.05,
  slowAgentMs: 500,
  agentTimeout: 0.01,
};

export function formatReport(report: ChaosReport): string {
  const rows: Array<[string, string | number]> = [
    ['tasks submitted', report.tasks],
    ['accepted (2xx)', report.accepted],
    ['not accepted after retries', report.notAccepted],
    ...Object.entries(report.byStatus).map(([s, n]): [string, number] => [`  ${s}`, n]),
    ['messages in DLQs', report.deadLettered],
    ...Object.entries(report.injected).map(([f, n]): [string, number] => [`fault: ${f}`, n]),
    ['interrupted attempts (deaths, time-outs, failed writes)', report.interruptedAttempts],
    ['extra executions (at-least-once window)', report.extraExecutions],
    ['seconds', report.seconds],
    ['violations', report.violations.length],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v).padStart(8)}`);
  return [...lines, ...report.violations.slice(0, 50).map((v) => `VIOLATION ${v}`)].join('\n');
}
