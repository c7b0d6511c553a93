/**
 * The chaos run: many tasks through the local runtime with every fault injected at once, then a check of
 * the delivery guarantees (docs/guarantees.md). Used by `npm run chaos` and, smaller, by `npm test`.
 *
 * Limits are under fire too: a share of the tasks run on the `limited` demo agent (maxConcurrency 2, rateLimit 10
 * per second), and a share belong to a few tenants under a tenant cap, so that tasks wait for slots while workers
 * die holding them. The run then checks the limits' promises (limit-checks.ts): the agent never counted more calls
 * at once than its limit, waiting used no attempt and sent no task to a DLQ, and once it is over every slot is free.
 */
import { isDeepStrictEqual } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError, TaskQueueClient } from '../cli/api-client';
import { DynamoLimiter } from '../lambda/adapters/dynamodb-limiter';
import { classifyHttpStatus } from '../lambda/core/agent-outcome';
import {
  agentHttpCode,
  TASK_ERROR_CODES,
  TaskErrorCode,
  type TaskErrorCodeInfo,
} from '../lambda/core/error-codes';
import type { LimitReason } from '../lambda/core/limits';
import type { TaskView } from '../lambda/core/task';
import { deliveryTaskId } from '../lambda/core/topics';
import { isTerminal } from '../lambda/core/transitions';
import { ASYNC_ECHO_FAILURE_CODE, type CallbackRecord } from '../local/async-echo';
import type { FaultPlan, InjectedFaults } from '../local/faults';
import type { Invocation } from '../local/lambda-pool';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import {
  checkPublishedTask,
  EventCollector,
  type EventCounts,
  type TerminalTransition,
} from './event-checks';
import {
  checkAttempts,
  checkHeldSlots,
  checkLimitedConcurrency,
  heldSlots,
  leakedCounters,
} from './limit-checks';
import { getTask, pool, submitWithRetries, taskTable, waitForTerminal } from './retries';

/** What kind of task it is decides what the run expects of it. */
type Kind = SyncKind | AsyncKind | PublishKind;
type SyncKind = 'echo' | 'sleep' | 'limited' | 'flaky' | 'poison' | 'hopeless';
/**
 * A task published to {@link CHAOS_TOPIC}, whose subscribers are `echo` and `flaky`: its `flaky` delivery fails
 * once and then succeeds (`fanout`), or fails until its retries run out (`fanout-exhausting`). Each delivery is then
 * checked as a task of its kind (`echo`, `flaky`, `hopeless`).
 */
type PublishKind = 'fanout' | 'fanout-exhausting';
const isPublishKind = (kind: Kind): kind is PublishKind => kind === 'fanout' || kind === 'fanout-exhausting';
/** The chaos stack's topic, and its subscribers. */
export const CHAOS_TOPIC = 'chaos.fanout';
const CHAOS_TOPIC_SUBSCRIBERS = ['echo', 'flaky'] as const;
/** The kind each delivery of a published task is checked as. */
function deliveryKind(kind: PublishKind, subscriber: (typeof CHAOS_TOPIC_SUBSCRIBERS)[number]): SyncKind {
  if (subscriber === 'echo') return 'echo';
  return kind === 'fanout' ? 'flaky' : 'hopeless';
}
/**
 * The `async-echo` cases (local/async-echo.ts has the knobs): a plain run, and agents that go silent, crash
 * between their 202 and their first callback, heartbeat late, complete twice, complete after a newer attempt
 * has started, complete with a stale token, or are cancelled mid-run by the driver.
 */
type AsyncKind =
  | 'async'
  | 'async-silent'
  | 'async-crash'
  | 'async-late-heartbeat'
  | 'async-twice'
  | 'async-late-completion'
  | 'async-stale-token'
  | 'async-cancel';
const ASYNC_KINDS: readonly AsyncKind[] = [
  'async',
  'async-silent',
  'async-crash',
  'async-late-heartbeat',
  'async-twice',
  'async-late-completion',
  'async-stale-token',
  'async-cancel',
];
const isAsyncKind = (kind: Kind): kind is AsyncKind => (ASYNC_KINDS as readonly string[]).includes(kind);
/** The share of async tasks in the default mix. */
export const DEFAULT_ASYNC_SHARE = 0.12;
/** The share of tasks on the `limited` agent in the default mix. */
export const DEFAULT_LIMITED_SHARE = 0.05;
/** The share of tasks published to {@link CHAOS_TOPIC} in the default mix. */
export const DEFAULT_FANOUT_SHARE = 0.08;
/** How long the end check waits for the publisher (and the replay) to give every terminal transition its event. */
const EVENTS_SETTLE_MS = 60_000;
/** The share of tasks, of every kind, that belong to a tenant. */
export const DEFAULT_TENANT_SHARE = 0.3;
/** Few tenants, so that each often has as many tasks running as its cap allows. */
export const CHAOS_TENANTS = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'] as const;
/** The chaos stack's `tenantMaxConcurrency`. */
export const CHAOS_TENANT_MAX_CONCURRENCY = 3;
/**
 * The chaos stack's limiter wake-up interval (the default is 5 s): shorter, so that a slot freed by a short `limited`
 * call does not sit idle while its waiters are away (they wait 1 s, 1 to 2 s, then 2 to 3 s); not much shorter,
 * since every waiter asks again each time (its message is delivered), and hundreds of waiters asking each second
 * would swamp the local runtime. It changes nothing else.
 */
const CHAOS_LIMIT_WAKE_UP_SECONDS = 3;
/** The `limited` demo agent's concurrency limit (local-config.ts), which its own count is checked against. */
const LIMITED_MAX_CONCURRENCY = 2;
/**
 * How long a `limited` call sleeps: long enough that worker deaths and duplicate deliveries find its attempt
 * holding slots, short enough that its two slots get through the run's share in seconds.
 */
const LIMITED_MS = { min: 300, spread: 400 } as const;
/** How long the checks wait, once every task is terminal, for async agents still sending their last callbacks. */
const ASYNC_RUNS_SETTLE_MS = 15_000;

/**
 * Heartbeat timeout of the async agents in a chaos run: a silent attempt is declared lost within seconds. An
 * attempt's first deadline is its claim + the hand-off timeout (the agent timeout, 3 s) + this.
 */
export const CHAOS_HEARTBEAT_TIMEOUT_SECONDS = 3;
const CHAOS_AGENT_TIMEOUT_SECONDS = 3;
/**
 * Short, so that a dead consumer's message comes back within a minute (the visibility timeout is 6 ×: 48 s). The
 * shortest the construct allows with a 3 s agent timeout (the agent timeout plus 5 s of room). A run of `npm test`
 * waits out the visibility timeout about twice (the deaths of first deliveries, then of their redeliveries), and
 * the chaos suite is its longest: with 10 s it took 236 s of a 245 s run, with 8 s 173 s and 203 s.
 */
const CHAOS_CONSUMER_TIMEOUT_SECONDS = 8;
/**
 * A sync claim's lease in the chaos stack (lib/task-tier.ts: twice the consumer timeout): the longest any attempt
 * holds a limiter slot without giving it back, as when its consumer died. Async deadlines and the retry wait that
 * keeps a timed-out attempt's slots are shorter.
 */
const CHAOS_LEASE_MS = 2 * CHAOS_CONSUMER_TIMEOUT_SECONDS * 1000;
/**
 * Async agents heartbeat this often: three heartbeats per heartbeat timeout, so a throttled or slow one is not
 * fatal, and few enough that the callback function keeps up on a busy machine.
 */
const CHAOS_HEARTBEAT_MS = 1000;
/** A late first heartbeat comes well after the attempt's first deadline. */
const LATE_HEARTBEAT_MS = (CHAOS_AGENT_TIMEOUT_SECONDS + CHAOS_HEARTBEAT_TIMEOUT_SECONDS + 2) * 1000;

interface Planned {
  readonly kind: Kind;
  readonly body: {
    type: string;
    payload: Record<string, unknown>;
    priority: 'high' | 'low';
    tenantId?: string;
  };
}

export interface ChaosOptions {
  readonly tasks: number;
  readonly faults: FaultPlan;
  /** Client requests in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Deliveries before the DLQ. @default 4 */
  readonly maxReceiveCount?: number;
  /** Share of the tasks that run on the async agent `async-echo`. @default 0.12 */
  readonly asyncShare?: number;
  /** Share of the tasks that run on the `limited` agent. @default 0.05 */
  readonly limitedShare?: number;
  /** Share of the tasks published to the topic `chaos.fanout` (subscribers `echo`, `flaky`). @default 0.08 */
  readonly fanoutShare?: number;
  /** Share of the tasks, of every kind, that belong to one of {@link CHAOS_TENANTS}. @default 0.3 */
  readonly tenantShare?: number;
  /**
   * A DynamoDB Local to share (local/runtime.ts `dynamodbEndpoint`). @default - the runtime starts one of its own on
   * a free port
   */
  readonly dynamodbEndpoint?: string;
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
  /** Tasks on the async agent, among the accepted ones. */
  readonly asyncTasks: number;
  /** Async attempts recorded as lost (`HeartbeatTimeout`, `AgentRunTimeExceeded`). */
  readonly lostAttempts: number;
  /** Async agent runs beyond the first of their task: each one follows a lost, interrupted or failed attempt. */
  readonly extraAsyncRuns: number;
  /** Callbacks with a token that was not current, or past their attempt, that the API refused (401, 409). */
  readonly refusedCallbacks: number;
  /** Exact duplicate completions that the API answered 200 without a change. */
  readonly duplicateCompletions: number;
  /** DELETEs of running async tasks: answered 202, then CANCELLED, or SUCCEEDED when the completion won. */
  readonly cancels: {
    readonly requested: number;
    readonly cancelled: number;
    readonly completionWon: number;
  };
  readonly deadLettered: number;
  readonly limits: LimitsReport;
  readonly published: PublishedReport;
  readonly events: EventCounts;
  readonly seconds: number;
  readonly violations: readonly string[];
}

/** What the published tasks and their deliveries did in a run. */
export interface PublishedReport {
  /** Tasks published to the chaos topic, among the accepted ones. */
  readonly tasks: number;
  /** Their deliveries (one per subscriber), by status. */
  readonly deliveriesByStatus: Readonly<Record<string, number>>;
  /** Published tasks by their derived top-level status. */
  readonly byStatus: Readonly<Record<string, number>>;
}

/** What the limits did in a run. */
export interface LimitsReport {
  /** Tasks on the `limited` agent, and tasks with a tenant, among the accepted ones. */
  readonly limitedTasks: number;
  readonly tenantTasks: number;
  /** The most `limited` calls the agent itself counted at once. */
  readonly limitedPeak: number;
  /** The most calls of one tenant the `limited` agent counted at once. */
  readonly tenantPeak: number;
  /** Waits recorded on task records (a first wait, or a change of reason), by reason. */
  readonly waits: Readonly<Record<LimitReason, number>>;
  /** Consumer deaths injected while the attempt held slots (tasks on `limited` or with a tenant). */
  readonly deathsHoldingSlots: number;
  /** Deliveries that died with their consumer invocation (a death or a time-out, their own or a batch mate's). */
  readonly diedDeliveries: number;
  /**
   * Tasks whose agent never fails that reached a DLQ with no interrupted attempt: their deliveries died (while they
   * waited, say) until SQS's redrive policy took the message.
   */
  readonly deadLetteredByDeaths: number;
  /** Slots still held once every task was terminal, that went back with their lease. */
  readonly heldAtEnd: number;
  /** How long the end check waited for them. */
  readonly lapseWaitMs: number;
}

/** The async-echo payload of each async case; `chaos_attempts: 1` lets the next attempt succeed. */
function asyncPayload(kind: AsyncKind, i: number, random: () => number): Record<string, unknown> {
  const short = { i, ms: Math.floor(random() * 600), heartbeat_ms: CHAOS_HEARTBEAT_MS };
  switch (kind) {
    case 'async':
      return short;
    case 'async-silent':
      return { ...short, silent: true, chaos_attempts: 1 };
    case 'async-crash':
      return { ...short, crash_after_accept: true, chaos_attempts: 1 };
    case 'async-late-heartbeat':
      // Runs past its late heartbeat, so that the heartbeat (not an early completion) finds the attempt gone.
      return {
        i,
        ms: LATE_HEARTBEAT_MS + 1000,
        heartbeat_ms: CHAOS_HEARTBEAT_MS,
        heartbeat_late_ms: LATE_HEARTBEAT_MS,
        chaos_attempts: 1,
      };
    case 'async-twice':
      return { ...short, complete_twice: true };
    case 'async-late-completion':
      return { ...short, complete_late: true, chaos_attempts: 1 };
    case 'async-stale-token':
      // Attempt 1 sends a made-up token (401), then fails on purpose; attempt 2 sends attempt 1's token (409).
      return { ...short, stale_token: true, fail_attempts: 1 };
    case 'async-cancel':
      // Long enough for the driver to see it RUNNING and cancel it while it heartbeats.
      return { i, ms: 6000, heartbeat_ms: CHAOS_HEARTBEAT_MS };
  }
}

/** The shares of the mix: async tasks, `limited` tasks, and tasks with a tenant (of every kind). */
export interface TaskShares {
  readonly async?: number;
  readonly limited?: number;
  readonly fanout?: number;
  readonly tenant?: number;
}

/**
 * The default chaos mix: mostly echo, with slow, flaky, poison and hopeless (always transient) tasks, a share of
 * async tasks (`async`) spread evenly over the async cases, a share of `limited` tasks, and a share of all of them
 * (`tenant`) spread over {@link CHAOS_TENANTS}.
 */
export function planTasks(count: number, seed = 7, shares: TaskShares = {}): Planned[] {
  const asyncShare = shares.async ?? DEFAULT_ASYNC_SHARE;
  const limitedShare = shares.limited ?? DEFAULT_LIMITED_SHARE;
  const fanoutShare = shares.fanout ?? DEFAULT_FANOUT_SHARE;
  const tenantShare = shares.tenant ?? DEFAULT_TENANT_SHARE;
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const plan = (i: number): Planned => {
    const priority = random() < 0.3 ? 'high' : 'low';
    const pick = random();
    if (pick < asyncShare) {
      const kind = ASYNC_KINDS[Math.floor((pick / asyncShare) * ASYNC_KINDS.length)]!;
      return { kind, body: { type: 'async-echo', payload: asyncPayload(kind, i, random), priority } };
    }
    if (pick < asyncShare + limitedShare) {
      const ms = LIMITED_MS.min + Math.floor(random() * LIMITED_MS.spread);
      return { kind: 'limited', body: { type: 'limited', payload: { i, ms }, priority } };
    }
    if (pick < asyncShare + limitedShare + fanoutShare) {
      // A quarter of them exhaust their flaky delivery's retries; echo ignores `failures`.
      const kind: PublishKind = random() < 0.75 ? 'fanout' : 'fanout-exhausting';
      const failures = kind === 'fanout' ? 1 : 99;
      return { kind, body: { type: CHAOS_TOPIC, payload: { i, failures }, priority } };
    }
    const used = asyncShare + limitedShare + fanoutShare;
    const roll = (pick - used) / (1 - used);
    const kind: SyncKind =
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
  };
  return Array.from({ length: count }, (_, i) => {
    const planned = plan(i);
    if (random() >= tenantShare) return planned;
    const tenantId = CHAOS_TENANTS[Math.floor(random() * CHAOS_TENANTS.length)]!;
    return { ...planned, body: { ...planned.body, tenantId } };
  });
}

/**
 * The attempts a kind's agent needs to end its task when nothing goes wrong, and whether it ever fails by itself
 * (limit-checks.ts `checkAttempts`); async kinds are checked by `checkAsyncTask`.
 */
function attemptsOfKind(
  kind: Kind,
  maxReceiveCount: number,
): { attemptsNeeded?: number; neverFails: boolean } {
  switch (kind) {
    case 'echo':
    case 'sleep':
    case 'limited':
      return { attemptsNeeded: 1, neverFails: true };
    case 'poison':
      return { attemptsNeeded: 1, neverFails: false };
    case 'flaky':
      return { attemptsNeeded: Math.min(2, maxReceiveCount), neverFails: false };
    case 'hopeless':
      return { attemptsNeeded: maxReceiveCount, neverFails: false };
    default:
      return { neverFails: false };
  }
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

/** A message in a DLQ: a consumer's copy says why (`error_code`); a redrive by SQS says nothing. */
interface DeadLetter {
  readonly errorCode?: string;
  readonly receiveCount: number;
}

/** Every message in the DLQs, by task id. */
function deadLettersByTask(runtime: LocalRuntime): Map<string, DeadLetter[]> {
  const letters = new Map<string, DeadLetter[]>();
  for (const key of ['HighDeadLetterQueueUrl', 'LowDeadLetterQueueUrl']) {
    for (const message of runtime.queueMessages(runtime.outputs[key]!)) {
      let taskId: string;
      try {
        taskId = (JSON.parse(message.body) as { task_id: string }).task_id;
      } catch {
        continue; // not an envelope: not ours to check
      }
      const letter = { errorCode: message.attributes.error_code, receiveCount: message.receiveCount };
      letters.set(taskId, [...(letters.get(taskId) ?? []), letter]);
    }
  }
  return letters;
}

/** What a violation of a task's attempts names: its end, and how it reached a DLQ. */
function attemptsContext(state: TaskView, letters: readonly DeadLetter[] | undefined): string {
  const dlq = (letters ?? []).map((l) =>
    l.errorCode !== undefined
      ? `a consumer's copy (${l.errorCode})`
      : `an SQS redrive after ${l.receiveCount} receives`,
  );
  return (
    ` [${state.status} after ${state.attempts} attempts` +
    `${state.error ? `, last error ${state.error.code}` : ''}${dlq.length ? `; DLQ: ${dlq.join(', ')}` : ''}]`
  );
}

/** The task ids of an SQS event's records (a consumer's batch); none for any other event. */
function batchTaskIds(event: unknown): string[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  return records.flatMap((record: { eventSource?: unknown; body?: unknown }) => {
    if (record?.eventSource !== 'aws:sqs' || typeof record.body !== 'string') return [];
    try {
      const { task_id } = JSON.parse(record.body) as { task_id?: unknown };
      return typeof task_id === 'string' ? [task_id] : [];
    } catch {
      return [];
    }
  });
}

/** What the driver's DELETE of a running async task got. */
type CancelOutcome = 'requested' | 'cancelled' | 'refused';

/**
 * Cancels a task mid-run: waits until GET shows it RUNNING, then sends DELETE (retried on 5xx and no answer).
 * Undefined when the task ended first, or the run's deadline came.
 */
async function cancelWhenRunning(
  api: TaskQueueClient,
  taskId: string,
  deadline: number,
): Promise<CancelOutcome | undefined> {
  while (Date.now() < deadline) {
    const view = await getTask(api, taskId).catch(() => undefined);
    if (view !== undefined && isTerminal(view.status)) return undefined;
    if (view?.status === 'RUNNING') {
      for (let attempt = 1; attempt <= 12; attempt++) {
        try {
          return (await api.cancel(taskId)).requested ? 'requested' : 'cancelled';
        } catch (error) {
          if (error instanceof ApiError && error.status === 409) return 'refused';
          if (error instanceof ApiError && error.status < 500) throw error;
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

/** The async checks of one task: what its agent's runs and callbacks did, and what the API answered them. */
function checkAsyncTask(
  id: string,
  planned: Planned & { kind: AsyncKind },
  state: TaskView,
  facts: {
    readonly runs: readonly number[];
    readonly callbacks: readonly CallbackRecord[];
    readonly successes: number;
    readonly lost: number;
    readonly interrupted: number;
    readonly cancel: CancelOutcome | undefined;
  },
): { violations: string[]; extraRuns: number; refused: number; duplicates: number } {
  const violations: string[] = [];
  const say = (what: string) => violations.push(`task ${id} (${planned.kind}) ${what}`);
  const { runs, callbacks } = facts;
  const ok = (r: CallbackRecord) => typeof r.status === 'number' && r.status >= 200 && r.status < 300;
  let refused = 0;
  let duplicates = 0;

  // One run per attempt: a duplicate delivery of a running attempt adopts it, it never calls the agent again.
  const repeated = runs.filter((a, i) => runs.indexOf(a) !== i);
  if (repeated.length > 0)
    say(`ran attempt ${repeated.join(', ')} more than once (runs: ${runs.join(', ')})`);
  // Each further run follows an attempt that is over: lost (HeartbeatTimeout), interrupted, or failed by its agent.
  const failedByAgent = callbacks.filter(
    (r) => r.route === 'complete' && r.token === 'current' && r.completion === 'error' && ok(r),
  ).length;
  const extraRuns = Math.max(0, runs.length - 1);
  if (extraRuns > facts.lost + facts.interrupted + failedByAgent)
    say(
      `ran its agent ${runs.length} times after ${facts.lost} lost, ${facts.interrupted} interrupted and ` +
        `${failedByAgent} failed attempts`,
    );

  for (const r of callbacks) {
    const answer = `${r.route} of attempt ${r.attempt} with the ${r.token} token got ${r.status}`;
    if (r.token === 'made-up') {
      if (r.status !== 401) say(`${answer}, not 401`);
      else refused += 1;
    }
    if (r.token === 'previous') {
      if (r.status !== 409) say(`${answer}, not 409`);
      else refused += 1;
    }
    const chaosAttempt = r.attempt <= 1;
    if (planned.kind === 'async-late-completion' && chaosAttempt && r.route === 'complete') {
      if (r.status !== 409) say(`${answer}: a completion after a newer attempt started must get 409`);
      else refused += 1;
    }
    if (planned.kind === 'async-late-heartbeat' && chaosAttempt) {
      if (ok(r)) say(`${answer}: its first heartbeat came after the deadline, so the attempt was gone`);
      else if (r.status === 409) refused += 1;
    }
  }
  // The exact same completion again: 200 with the task, and no change.
  const byAttempt = new Map<number, CallbackRecord[]>();
  for (const r of callbacks)
    if (r.route === 'complete' && r.token === 'current' && r.completion === 'result')
      byAttempt.set(r.attempt, [...(byAttempt.get(r.attempt) ?? []), r]);
  for (const [attempt, sent] of byAttempt) {
    if (sent.length < 2 || !ok(sent[0]!)) continue;
    if (sent.slice(1).some((r) => !ok(r)))
      say(
        `attempt ${attempt}: a duplicate of an accepted completion got ${sent.map((r) => r.status).join(', ')}`,
      );
    else duplicates += sent.length - 1;
  }

  if (state.status === 'SUCCEEDED') {
    if (facts.successes !== 1)
      say(`SUCCEEDED with ${facts.successes} accepted completions with a result, not exactly 1`);
    if (!isDeepStrictEqual(state.result, { echo: planned.body.payload }))
      say(`SUCCEEDED with ${JSON.stringify(state.result)}, not the echo of its payload`);
  }
  if (state.status === 'CANCELLED' && facts.cancel !== 'requested' && facts.cancel !== 'cancelled')
    say('was CANCELLED, but nobody cancelled it');
  if (facts.cancel === 'requested' && state.status !== 'CANCELLED' && state.status !== 'SUCCEEDED')
    say(`ended ${state.status} after its cancel was accepted (202), not CANCELLED or SUCCEEDED`);
  if (facts.cancel === 'cancelled' && state.status !== 'CANCELLED')
    say(`ended ${state.status} after DELETE answered 200`);
  return { violations, extraRuns, refused, duplicates };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const progress = options.progress ?? (() => {});
  const say = (line: string) => progress(`${Math.round((Date.now() - started) / 1000)} s: ${line}`);
  const maxReceiveCount = options.maxReceiveCount ?? 4;
  // Per task, its deliveries whose consumer invocation ended without an answer (a death or a time-out).
  const diedDeliveries = new Map<string, number>();
  const countDied = (invocation: Invocation) => {
    if (invocation.ok) return;
    for (const id of batchTaskIds(invocation.event))
      diedDeliveries.set(id, (diedDeliveries.get(id) ?? 0) + 1);
  };
  const runtime = await startLocalRuntime({
    demoAgents: true,
    port: 0,
    awsPort: 0,
    dynamodbPort: 0,
    ...(options.dynamodbEndpoint !== undefined && { dynamodbEndpoint: options.dynamodbEndpoint }),
    maxReceiveCount,
    faults: options.faults,
    // Short timeouts keep a dead consumer's message coming back within seconds, and a silent async agent's
    // attempt declared lost within seconds.
    timeouts: { consumerSeconds: CHAOS_CONSUMER_TIMEOUT_SECONDS, agentSeconds: CHAOS_AGENT_TIMEOUT_SECONDS },
    tenantMaxConcurrency: CHAOS_TENANT_MAX_CONCURRENCY,
    limitWakeUpSeconds: CHAOS_LIMIT_WAKE_UP_SECONDS,
    heartbeatTimeoutSeconds: CHAOS_HEARTBEAT_TIMEOUT_SECONDS,
    scheduleIntervalSeconds: 3,
    topics: { [CHAOS_TOPIC]: { subscribers: [...CHAOS_TOPIC_SUBSCRIBERS] } },
    onInvocation: countDied,
    log: () => {},
  });
  const violations: string[] = [];
  const collector = new EventCollector(runtime);
  try {
    // Subscribed before the first task: every event of the run reaches it, or the unpublished-events queue.
    await collector.subscribe();
    const api = new TaskQueueClient({ endpoint: runtime.apiUrl });
    const plan = planTasks(options.tasks, options.seed, {
      async: options.asyncShare,
      limited: options.limitedShare,
      fanout: options.fanoutShare,
      tenant: options.tenantShare,
    });
    const run = `chaos-${Date.now().toString(36)}`;
    say(`submitting ${plan.length} tasks with faults ${JSON.stringify(options.faults)}`);
    const deadline = started + (options.deadlineSeconds ?? 900) * 1000;
    // The driver cancels each async-cancel task mid-run: it watches it from its acceptance until it runs.
    const cancelling = new Map<string, Promise<CancelOutcome | undefined>>();
    const answers = await pool(plan, options.concurrency ?? 16, async (task, i) => {
      const answer = await submitWithRetries(api, task.body, `${run}-${i}`);
      if (task.kind === 'async-cancel' && answer.taskId && answer.status >= 200 && answer.status < 300)
        cancelling.set(answer.taskId, cancelWhenRunning(api, answer.taskId, deadline));
      return answer;
    });
    const accepted = new Map<string, Planned>();
    let notAccepted = 0;
    answers.forEach((answer, i) => {
      if (answer.status >= 200 && answer.status < 300 && answer.taskId) accepted.set(answer.taskId, plan[i]!);
      else if (answer.status >= 400 && answer.status < 500)
        violations.push(`task ${i}: a valid request got ${answer.status}`);
      else notAccepted += 1;
    });
    say(`accepted ${accepted.size}; waiting for terminal states`);

    // Each task's state is what GET /tasks/{id} answers; the task table says when to ask (retries.ts).
    const table = taskTable(runtime.dynamodbEndpoint, runtime.outputs.TaskTableName!);
    const { states } = await waitForTerminal(api, [...accepted.keys()], {
      table,
      deadline,
      concurrency: 32,
      progress: (pending) => say(`${accepted.size - pending}/${accepted.size} terminal`),
    }).finally(() => table.close());
    const cancelOutcomes = new Map<string, CancelOutcome | undefined>();
    for (const [id, outcome] of cancelling) cancelOutcomes.set(id, await outcome);
    let left = leftInQueues(runtime);
    // Async agents may still be sending their last callbacks (a duplicate completion, a late one).
    const settleBy = Math.min(deadline, Date.now() + ASYNC_RUNS_SETTLE_MS);
    while (
      (left > 0 && Date.now() < deadline) ||
      (runtime.faults.activeAsyncRuns() > 0 && Date.now() < settleBy)
    ) {
      await new Promise((r) => setTimeout(r, 1000));
      left = leftInQueues(runtime);
    }
    say(`settled (${left} messages left in the tier queues); checking the limiter's counters`);
    // Every slot is free at the end: the holders left go back within one lease, and then nothing is held.
    const slots = await checkSlotsAtEnd(runtime, (taskId) =>
      accepted.has(taskId) ? (states.get(taskId)?.status ?? 'lost') : undefined,
    );
    violations.push(...slots.violations);

    const successes = runtime.faults.agentSuccesses();
    const interrupted = runtime.faults.interruptedAttempts();
    const lost = runtime.faults.lostAttempts();
    const asyncRuns = runtime.faults.asyncRunAttempts();
    const callbacks = new Map<string, CallbackRecord[]>();
    for (const r of runtime.faults.agentCallbacks())
      callbacks.set(r.taskId, [...(callbacks.get(r.taskId) ?? []), r]);
    const injected = runtime.faults.injected();
    const deadLetters = deadLettersByTask(runtime);
    const byStatus: Record<string, number> = {};
    let extraExecutions = 0;
    let asyncTasks = 0;
    let extraAsyncRuns = 0;
    let refusedCallbacks = 0;
    let duplicateCompletions = 0;
    const cancels = { requested: 0, cancelled: 0, completionWon: 0 };
    const deaths = runtime.faults.deaths();
    let limitedTasks = 0;
    let tenantTasks = 0;
    let deathsHoldingSlots = 0;
    let deadLetteredByDeaths = 0;
    // A published task's deliveries are checked as tasks of their kind; the published task against them.
    const published = await checkPublishedTasks(api, accepted, states);
    violations.push(...published.violations);
    const subjects: Array<[string, Planned, TaskView | undefined, boolean]> = [
      ...[...accepted]
        .filter(([, planned]) => !isPublishKind(planned.kind))
        .map(([id, planned]): [string, Planned, TaskView | undefined, boolean] => [
          id,
          planned,
          states.get(id),
          false,
        ]),
      ...published.deliveries.map(
        ({ id, planned, state }): [string, Planned, TaskView | undefined, boolean] => [
          id,
          planned,
          state,
          true,
        ],
      ),
    ];
    const deliveriesByStatus: Record<string, number> = {};
    for (const [id, planned, state, isDelivery] of subjects) {
      if (!state) {
        violations.push(`${isDelivery ? 'delivery' : 'task'} ${id} was accepted but is lost (404)`);
        continue;
      }
      const counts = isDelivery ? deliveriesByStatus : byStatus;
      counts[state.status] = (counts[state.status] ?? 0) + 1;
      if (!isTerminal(state.status)) violations.push(`task ${id} (${planned.kind}) is still ${state.status}`);
      const holdsSlots = planned.kind === 'limited' || planned.body.tenantId !== undefined;
      if (planned.kind === 'limited') limitedTasks += 1;
      if (planned.body.tenantId !== undefined) tenantTasks += 1;
      if (holdsSlots) deathsHoldingSlots += deaths.get(id) ?? 0;
      const kind = attemptsOfKind(planned.kind, maxReceiveCount);
      if (kind.neverFails && deadLetters.has(id) && !interrupted.get(id) && diedDeliveries.get(id))
        deadLetteredByDeaths += 1;
      violations.push(
        ...checkAttempts(
          {
            status: state.status,
            attempts: state.attempts,
            interrupted: interrupted.get(id) ?? 0,
            diedDeliveries: diedDeliveries.get(id) ?? 0,
            inDeadLetterQueue: deadLetters.has(id),
            ...kind,
          },
          maxReceiveCount,
        ).map((v) => `task ${id} (${planned.kind}) ${v}${attemptsContext(state, deadLetters.get(id))}`),
      );
      if (
        planned.kind === 'limited' &&
        state.status === 'SUCCEEDED' &&
        (state.result as { slept_ms?: unknown } | undefined)?.slept_ms !== planned.body.payload.ms
      )
        violations.push(
          `task ${id} (limited) SUCCEEDED with ${JSON.stringify(state.result)}, not its ${planned.body.payload.ms} ms`,
        );
      const runs = successes.get(id) ?? 0;
      const isAsync = isAsyncKind(planned.kind);
      if (isAsyncKind(planned.kind)) {
        asyncTasks += 1;
        const cancel = cancelOutcomes.get(id);
        const checked = checkAsyncTask(id, { ...planned, kind: planned.kind }, state, {
          runs: asyncRuns.get(id) ?? [],
          callbacks: callbacks.get(id) ?? [],
          successes: runs,
          lost: lost.get(id) ?? 0,
          interrupted: interrupted.get(id) ?? 0,
          cancel,
        });
        violations.push(...checked.violations);
        extraAsyncRuns += checked.extraRuns;
        refusedCallbacks += checked.refused;
        duplicateCompletions += checked.duplicates;
        if (cancel === 'requested') {
          cancels.requested += 1;
          if (state.status === 'CANCELLED') cancels.cancelled += 1;
          if (state.status === 'SUCCEEDED') cancels.completionWon += 1;
        }
      } else if (state.status === 'SUCCEEDED') {
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
            : isAsync
              ? // Lost attempts (HeartbeatTimeout, AgentRunTimeExceeded) and the agent's own retryable failure
                // on the last delivery are retried codes too.
                exhaustedRetries(code) || code === ASYNC_ECHO_FAILURE_CODE
              : exhaustedRetries(code);
        if (!explained)
          violations.push(
            `task ${id} (${planned.kind}) FAILED with ${code}, which neither poison nor exhausted retries explain`,
          );
        if (!deadLetters.has(id)) violations.push(`task ${id} FAILED but its message is in no DLQ`);
      }
      if (state.status === 'CANCELLED' && !isAsync)
        violations.push(`task ${id} was CANCELLED, but nobody cancelled it`);
    }
    if (left > 0) violations.push(`${left} messages are left in the tier queues`);

    // Every terminal transition of every task and delivery has its event, once the publisher and the replay are
    // through.
    const transitions: TerminalTransition[] = subjects.flatMap(([id, planned, state, isDelivery]) =>
      state && isTerminal(state.status)
        ? [
            {
              recordId: id,
              status: state.status,
              attempts: state.attempts,
              label: `${isDelivery ? 'delivery' : 'task'} ${id} (${planned.kind})`,
            },
          ]
        : [],
    );
    say(`checking the events of ${transitions.length} terminal transitions`);
    const coverage = await collector.collect(transitions, EVENTS_SETTLE_MS);
    violations.push(...coverage.violations);
    if (collector.keptAfterReplay > 0)
      violations.push(
        `the replay left ${collector.keptAfterReplay} messages in the unpublished-events queue`,
      );
    const limited = runtime.faults.limited();
    violations.push(
      ...checkLimitedConcurrency(limited, {
        maxConcurrency: LIMITED_MAX_CONCURRENCY,
        tenantMaxConcurrency: CHAOS_TENANT_MAX_CONCURRENCY,
      }),
    );

    return {
      tasks: plan.length,
      accepted: accepted.size,
      notAccepted,
      byStatus,
      injected,
      extraExecutions,
      interruptedAttempts: [...interrupted.values()].reduce((a, b) => a + b, 0),
      asyncTasks,
      lostAttempts: [...lost.values()].reduce((a, b) => a + b, 0),
      extraAsyncRuns,
      refusedCallbacks,
      duplicateCompletions,
      cancels,
      deadLettered: deadLetters.size,
      limits: {
        limitedTasks,
        tenantTasks,
        limitedPeak: limited.max,
        tenantPeak: Math.max(0, ...limited.calls.map((c) => c.tenant_in_flight ?? 0)),
        waits: runtime.faults.waits(),
        deathsHoldingSlots,
        diedDeliveries: [...diedDeliveries.values()].reduce((a, b) => a + b, 0),
        deadLetteredByDeaths,
        heldAtEnd: slots.heldAtEnd,
        lapseWaitMs: slots.waitedMs,
      },
      published: {
        tasks: published.tasks,
        deliveriesByStatus,
        byStatus: published.byStatus,
      },
      events: {
        expected: transitions.length,
        received: collector.events.length,
        distinct: coverage.distinct,
        replayed: collector.replayed,
        keptAfterReplay: collector.keptAfterReplay,
        missing: coverage.missing,
      },
      seconds: Math.round((Date.now() - started) / 1000),
      violations,
    };
  } finally {
    await collector.close();
    await runtime.stop();
  }
}

/**
 * Reads each published task's deliveries (GET of each delivery's own id) and checks the published task against
 * them (event-checks.ts `checkPublishedTask`); returns the deliveries to check as tasks of their kind.
 */
async function checkPublishedTasks(
  api: TaskQueueClient,
  accepted: ReadonlyMap<string, Planned>,
  states: ReadonlyMap<string, TaskView | undefined>,
): Promise<{
  tasks: number;
  byStatus: Record<string, number>;
  deliveries: Array<{ id: string; planned: Planned; state: TaskView | undefined }>;
  violations: string[];
}> {
  const publishedTasks = [...accepted].filter((entry): entry is [string, Planned & { kind: PublishKind }] =>
    isPublishKind(entry[1].kind),
  );
  const byStatus: Record<string, number> = {};
  const violations: string[] = [];
  const deliveries: Array<{ id: string; planned: Planned; state: TaskView | undefined }> = [];
  const views = await pool(publishedTasks, 16, async ([id]) =>
    Promise.all(CHAOS_TOPIC_SUBSCRIBERS.map((s) => getTask(api, deliveryTaskId(id, s)))),
  );
  publishedTasks.forEach(([id, planned], i) => {
    const state = states.get(id);
    if (state) byStatus[state.status] = (byStatus[state.status] ?? 0) + 1;
    const own = new Map<string, TaskView | undefined>();
    CHAOS_TOPIC_SUBSCRIBERS.forEach((subscriber, j) => {
      const view = views[i]![j];
      own.set(subscriber, view);
      deliveries.push({
        id: deliveryTaskId(id, subscriber),
        planned: {
          kind: deliveryKind(planned.kind, subscriber),
          body: { ...planned.body, type: subscriber },
        },
        state: view,
      });
    });
    if (state) violations.push(...checkPublishedTask(id, state, CHAOS_TOPIC_SUBSCRIBERS, own));
  });
  return { tasks: publishedTasks.length, byStatus, deliveries, violations };
}

/**
 * The end check of the limiter's counters, once every task is terminal: the slots still held must belong to
 * terminal tasks and go back within one lease (limit-checks.ts `checkHeldSlots`); the check waits until the last
 * of them lapses (at most one lease, and usually nothing: a dead consumer's message comes back only after the
 * visibility timeout, three leases), then every counter must be free.
 */
async function checkSlotsAtEnd(
  runtime: LocalRuntime,
  statusOf: (taskId: string) => string | undefined,
): Promise<{ violations: string[]; heldAtEnd: number; waitedMs: number }> {
  const tableName = runtime.outputs.LimitsTableName;
  if (!tableName)
    return { violations: ['the stack has no LimitsTableName output'], heldAtEnd: 0, waitedMs: 0 };
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: runtime.dynamodbEndpoint,
    credentials: { accessKeyId: 'chaos', secretAccessKey: 'chaos' },
  });
  try {
    const limiter = new DynamoLimiter(client, tableName);
    const startMs = Date.now();
    const held = heldSlots(await limiter.counters(), startMs);
    const violations = checkHeldSlots(held, startMs, { statusOf, longestHoldMs: CHAOS_LEASE_MS });
    // A holder is live up to its time, included (limits.ts `liveHolders`).
    const lapsedAt = Math.min(held[0]?.untilMs ?? 0, startMs + CHAOS_LEASE_MS) + 1;
    if (lapsedAt > Date.now()) await new Promise((r) => setTimeout(r, lapsedAt - Date.now()));
    violations.push(...leakedCounters(await limiter.counters(), Date.now()));
    return { violations, heldAtEnd: held.length, waitedMs: Date.now() - startMs };
  } finally {
    client.destroy();
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
  snsPublishFailure: 0.2,
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
    ['async tasks', report.asyncTasks],
    ['async lost attempts (HeartbeatTimeout)', report.lostAttempts],
    ['async extra agent runs (lost, interrupted or failed attempts)', report.extraAsyncRuns],
    ['async callbacks refused (stale token, late: 401/409)', report.refusedCallbacks],
    ['async duplicate completions answered 200', report.duplicateCompletions],
    ['async cancels accepted (202)', report.cancels.requested],
    ['  then CANCELLED', report.cancels.cancelled],
    ['  then SUCCEEDED (completion won)', report.cancels.completionWon],
    ['limited tasks', report.limits.limitedTasks],
    ['tasks with a tenant', report.limits.tenantTasks],
    [
      `limited calls at once, counted by the agent (limit ${LIMITED_MAX_CONCURRENCY})`,
      report.limits.limitedPeak,
    ],
    [`one tenant's limited calls at once (cap ${CHAOS_TENANT_MAX_CONCURRENCY})`, report.limits.tenantPeak],
    ...Object.entries(report.limits.waits).map(([r, n]): [string, number] => [`waits: ${r}`, n]),
    ['worker deaths while holding slots', report.limits.deathsHoldingSlots],
    ['deliveries that died with their consumer (own or batch mate)', report.limits.diedDeliveries],
    ['  tasks that never fail dead-lettered by them, no attempt cut', report.limits.deadLetteredByDeaths],
    ['slots held when all tasks ended (lapse by lease)', report.limits.heldAtEnd],
    ['ms waited for them to lapse', report.limits.lapseWaitMs],
    [`published tasks (${CHAOS_TOPIC}: ${CHAOS_TOPIC_SUBSCRIBERS.join(', ')})`, report.published.tasks],
    ...Object.entries(report.published.byStatus).map(([s, n]): [string, number] => [`  published ${s}`, n]),
    ['deliveries', Object.values(report.published.deliveriesByStatus).reduce((a, b) => a + b, 0)],
    ...Object.entries(report.published.deliveriesByStatus).map(([s, n]): [string, number] => [
      `  delivery ${s}`,
      n,
    ]),
    ['terminal transitions (tasks and deliveries)', report.events.expected],
    ['events received by the subscriber queue', report.events.received],
    ['  distinct event_ids', report.events.distinct],
    ['events replayed from UnpublishedEvents', report.events.replayed],
    ['terminal transitions without their event', report.events.missing],
    ['seconds', report.seconds],
    ['violations', report.violations.length],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v).padStart(8)}`);
  return [...lines, ...report.violations.slice(0, 50).map((v) => `VIOLATION ${v}`)].join('\n');
}
