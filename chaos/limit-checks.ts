/**
 * The chaos run's checks of the limits (README "Limits and fairness"), apart from the run so that each can be
 * tested on its own: the `limited` agent's own count of its calls, the attempts of tasks that waited, and the
 * limiter's counters once the run is over.
 */
import { type CounterState, counterIsFree, liveHolders } from '../lambda/core/limits';
import type { TaskStatus } from '../lambda/core/task';
import { isTerminal } from '../lambda/core/transitions';
import type { LimitedStats } from '../local/demo-agents';

/** The most offending calls a check lists; the count says how many there were. */
const LISTED = 5;

/**
 * The `limited` agent's own count against its `maxConcurrency`, and its count of one tenant's calls against the
 * tenant cap (a lower bound of the tenant's running tasks: its other tasks run on other agents). Sound under every
 * fault: an attempt holds its slots from the grant until after its agent answered, or, when the consumer stopped
 * waiting (AgentTimeout), until the retry's wait is over, which leaves the agent one more timeout to finish; a
 * consumer that dies holds them for its whole lease, longer than any agent call.
 */
export function checkLimitedConcurrency(
  stats: LimitedStats,
  limits: { readonly maxConcurrency: number; readonly tenantMaxConcurrency?: number },
): string[] {
  const violations: string[] = [];
  const over = stats.calls.filter((c) => c.in_flight > limits.maxConcurrency);
  if (stats.max > limits.maxConcurrency)
    violations.push(
      `the limited agent counted ${stats.max} calls at once, over its maxConcurrency of ${limits.maxConcurrency} ` +
        `(${over.length} calls started over it: ${over
          .slice(0, LISTED)
          .map((c) => `${c.task_id} attempt ${c.attempt} as call ${c.in_flight}`)
          .join(', ')})`,
    );
  const cap = limits.tenantMaxConcurrency;
  if (cap !== undefined) {
    const overCap = stats.calls.filter((c) => (c.tenant_in_flight ?? 0) > cap);
    if (overCap.length > 0)
      violations.push(
        `the limited agent counted more calls of one tenant at once than tenantMaxConcurrency ${cap}: ${overCap
          .slice(0, LISTED)
          .map((c) => `${c.task_id} of ${c.tenant_id} as its call ${c.tenant_in_flight}`)
          .join(', ')}`,
      );
  }
  return violations;
}

/** What the run knows of one task's attempts. */
export interface AttemptFacts {
  readonly status: string;
  readonly attempts: number;
  /** Attempts that started while an earlier one had not recorded its outcome (deaths, time-outs, failed writes). */
  readonly interrupted: number;
  /**
   * Its deliveries that ended with their consumer invocation (a death, a time-out, its own or a batch mate's): they
   * recorded nothing and were not acknowledged, so each one counts towards the redrive policy.
   */
  readonly diedDeliveries: number;
  /**
   * The attempts its agent needs to end the task when nothing else goes wrong (1 for an agent that answers at
   * once, 2 for one that fails once); undefined when that is not known ahead (async agents).
   */
  readonly attemptsNeeded?: number;
  /** Whether its agent never fails by itself: then only a fault can send it to a DLQ. */
  readonly neverFails: boolean;
  readonly inDeadLetterQueue: boolean;
}

/**
 * Waiting never uses an attempt, nor sends a task to a DLQ.
 * - Every task ends within `maxReceiveCount` attempts; docs/guarantees.md allows one more per consumer death in a
 *   last attempt, which the run cannot tell from other interrupted attempts, so each interrupted attempt allows one.
 * - A task whose agent needs a known number of attempts makes no more than that, plus one per interrupted attempt:
 *   a wait that used an attempt would show as one more.
 * - A task whose agent never fails reaches a DLQ (or FAILED) only if one of its attempts was interrupted or one of
 *   its deliveries died with its consumer: a wait that SQS counted towards the redrive policy would send it there
 *   without either. (The record's error code is the DLQ copy's: the consumer writes both from one error; an SQS
 *   redrive has none, and the sweep records `DeadLettered`.)
 */
export function checkAttempts(facts: AttemptFacts, maxReceiveCount: number): string[] {
  const violations: string[] = [];
  const { attempts, interrupted } = facts;
  if (attempts > maxReceiveCount + interrupted)
    violations.push(
      `made ${attempts} attempts, over maxReceiveCount ${maxReceiveCount} with ${interrupted} interrupted`,
    );
  else if (facts.attemptsNeeded !== undefined && attempts > facts.attemptsNeeded + interrupted)
    violations.push(
      `made ${attempts} attempts where its agent needs ${facts.attemptsNeeded} and ${interrupted} were ` +
        'interrupted: an attempt went without an agent failure (a wait?)',
    );
  if (facts.neverFails && interrupted === 0 && facts.diedDeliveries === 0) {
    const unexplained = 'though its agent never fails, no attempt was interrupted and no delivery died';
    if (facts.inDeadLetterQueue) violations.push(`reached a DLQ, ${unexplained}`);
    else if (facts.status === 'FAILED') violations.push(`FAILED, ${unexplained}`);
  }
  return violations;
}

/** A slot held in a limiter counter. */
export interface HeldSlot {
  readonly counter: string;
  readonly holder: string;
  readonly taskId: string;
  /** Epoch ms: it goes back then unless given back first. */
  readonly untilMs: number;
}

/** The task a holder id names (limits.ts `holderId`: the task id, a slash, a suffix fresh per ask). */
export function holderTask(holder: string): string {
  const slash = holder.indexOf('/');
  return slash < 0 ? holder : holder.slice(0, slash);
}

/** Every slot still held at `nowMs`, latest first. */
export function heldSlots(counters: ReadonlyMap<string, CounterState>, nowMs: number): HeldSlot[] {
  return [...counters]
    .flatMap(([counter, state]) =>
      Object.entries(liveHolders(state, nowMs)).map(([holder, untilMs]) => ({
        counter,
        holder,
        taskId: holderTask(holder),
        untilMs,
      })),
    )
    .sort((a, b) => b.untilMs - a.untilMs);
}

/**
 * The slots held once every task is terminal. Each must belong to a task of the run that is terminal, and go back
 * within `longestHoldMs` (one claim's lease: the longest any attempt holds a slot without giving it back, as when
 * its consumer died). The run then waits for them to lapse and checks with {@link leakedCounters}.
 */
export function checkHeldSlots(
  held: readonly HeldSlot[],
  nowMs: number,
  facts: { readonly statusOf: (taskId: string) => string | undefined; readonly longestHoldMs: number },
): string[] {
  const violations: string[] = [];
  for (const slot of held) {
    const status = facts.statusOf(slot.taskId);
    const where = `${slot.counter} holder ${slot.holder}`;
    if (status === undefined) violations.push(`${where} names no task of the run`);
    else if (!isTerminal(status as TaskStatus))
      violations.push(`${where} holds a slot of a task still ${status}`);
    if (slot.untilMs > nowMs + facts.longestHoldMs)
      violations.push(
        `${where} holds its slot for ${Math.round((slot.untilMs - nowMs) / 1000)} s more, past one lease ` +
          `(${facts.longestHoldMs / 1000} s): a slot that never comes back`,
      );
  }
  return violations;
}

/** The counters that still hold a slot at `nowMs`: every slot must be free at the end of a run. */
export function leakedCounters(counters: ReadonlyMap<string, CounterState>, nowMs: number): string[] {
  return [...counters]
    .filter(([, state]) => !counterIsFree(state, nowMs))
    .map(
      ([counter, state]) =>
        `${counter} still holds ${Object.keys(liveHolders(state, nowMs)).join(', ')} after every lease ran out`,
    );
}
