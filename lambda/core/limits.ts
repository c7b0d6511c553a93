/**
 * The limiter's rules, whole: per-agent concurrency and rate limits, the per-tenant concurrency cap, and high
 * before low. Pure: the limiter adapter (adapters/dynamodb-limiter.ts) reads the counters, asks `decide` what to
 * write, and writes it conditioned on the version it read; the in-memory limiter of the tests does the same.
 *
 * One counter item per agent type (`agent#<type>`) and per tenant (`tenant#<id>`):
 * - `holders`: holder id (`holderId`: the task id and a fresh suffix per ask) → epoch ms until which it holds a
 *   slot. A holder whose time has passed is gone, so a
 *   consumer or agent that dies while holding a slot gives it back within one lease, and a crash never shrinks a
 *   limit for good. A holder holds at most one slot per item: acquiring again only moves its time.
 * - `starts`: epoch ms of the agent calls started within the rate window, oldest first (a sliding log).
 * - `high_until`: while it is in the future, a high task of this type is waiting, and no low task starts.
 *
 * A task held back by a limit is not failing. It waits in its consumer invocation while a slot can come there soon
 * (slot-waits.ts: an attempt of the same process hands its slot over as it ends, `handOff`; or its rate's time
 * comes), for at most the wake-up interval; then the consumer re-sends its message with a delay
 * (`waitDelaySeconds`) and the next delivery asks again. A granted start is stamped in the rate log, and the call is
 * held within RATE_STAMP_TOLERANCE_MS after its stamp (`restamp`). See process-delivery.ts and the README's "Limits
 * and fairness".
 */
import type { Priority } from './task';

export const LimitReason = {
  AgentConcurrencyLimit: 'AgentConcurrencyLimit',
  AgentRateLimit: 'AgentRateLimit',
  TenantConcurrencyLimit: 'TenantConcurrencyLimit',
} as const;
export type LimitReason = (typeof LimitReason)[keyof typeof LimitReason];

/** What holds a task back, and since when (ISO 8601). Shown by `GET /tasks/{id}` while it waits. */
export interface TaskWaiting {
  readonly reason: LimitReason;
  readonly since: string;
}

/** An agent type's limits, as configured (construct, configuration file, local runtime). */
export interface AgentRateLimit {
  readonly requests: number;
  readonly perSeconds: number;
}
export interface AgentLimitConfig {
  readonly maxConcurrency?: number;
  readonly rateLimit?: AgentRateLimit;
}

/** The largest `maxConcurrency`, `tenantMaxConcurrency` and `rateLimit.requests`: they bound a counter's size. */
export const MAX_LIMIT = 1000;
/** The longest rate window (`rateLimit.per`), in seconds. */
export const MAX_RATE_WINDOW_SECONDS = 3600;

/**
 * How late an agent call may be against the start the limiter stamped for it. The grant stamps a start a few writes
 * before the call (the grant, then the claim); right before the call, a consumer whose call is later than its stamp by
 * more than this moves its stamp to the call's time (`restamp`, one more conditional write), and one that is early
 * waits for its stamp. So every call reaches the agent between its stamp and this much after it.
 */
export const RATE_STAMP_TOLERANCE_MS = 20;

/**
 * The longest the hop from the consumer's last look at its clock to the agent's receipt of the call is allowed to
 * take. 5 ms was too little: in CI, on a loaded 2-core machine, the agent saw 11 calls of a 10-per-second limit
 * within 985 ms with calls held to their stamps (test/integration/limits.test.ts), so the hop there varied by
 * more than 20 ms. The allowance keeps the total margin at the 250 ms that held before stamps were kept true.
 */
export const RATE_CALL_HOP_MS = 230;

/**
 * A start is counted for this much longer than the rate window: the stamp tolerance and the call's hop.
 * Calls reach the agent between their stamp and the tolerance (plus the hop) after it, so two calls' gap at the
 * agent is at most that much shorter than their stamps' gap, and stamps kept `per + margin` apart keep calls `per`
 * apart. It costs `requests / (per + margin)` against `requests / per` of throughput: 20 % for a 1 s window.
 */
export const RATE_WINDOW_MARGIN_MS = RATE_STAMP_TOLERANCE_MS + RATE_CALL_HOP_MS;

/**
 * How long a waiting high task's mark on its agent's counter stands, in wake-up intervals. A refused high task
 * renews it once it was written more than one interval ago, so it always reaches two intervals past the last
 * renewal. Waiting high tasks ask about once an interval, but an ask comes late by however long its message takes
 * to come back to a consumer (a busy tier, a loaded machine): two intervals of standing mark let an ask be late by a
 * whole interval without a low task slipping in. The cost: low tasks of the type wait up to this long after the
 * last high one stops waiting (15 s at the default 5 s interval).
 */
export const HIGH_MARK_WAKE_UPS = 3;

/** One counter item as read (undefined fields: never written). */
export interface CounterState {
  readonly holders: Readonly<Record<string, number>>;
  readonly starts: readonly number[];
  readonly highUntil?: number;
  /** Incremented by every write; a write is conditioned on the version it read. */
  readonly version: number;
}

export const EMPTY_COUNTER: CounterState = { holders: {}, starts: [], version: 0 };

export const agentCounterKey = (type: string): string => `agent#${type}`;
export const tenantCounterKey = (tenantId: string): string => `tenant#${tenantId}`;

/**
 * The slots one attempt holds: the counter keys, and the holder id it holds them under. A holder id is fresh for
 * every ask (`newHolderId`), so that two copies of one task's message never share a slot: each gives back only its
 * own, and a slot kept through an AgentTimeout's retry wait is counted apart from the retry's.
 */
export interface HeldSlots {
  readonly keys: readonly string[];
  readonly holder: string;
}

/** The length of a holder id's random suffix. */
export const HOLDER_SUFFIX_CHARS = 12;

/** A fresh holder id for an ask of task `taskId` (`suffix`: HOLDER_SUFFIX_CHARS random characters). */
export const holderId = (taskId: string, suffix: string): string => `${taskId}/${suffix}`;

/** A start stamped in an agent's rate log: the counter, the stamp, and the rate it was granted under. */
export interface RateStart {
  readonly key: string;
  readonly atMs: number;
  readonly rate: AgentRateLimit;
}

/** What one delivery asks of the limiter before it claims its task. */
export interface SlotRequest {
  /** The id the slots are held under (`holderId`). */
  readonly holder: string;
  readonly priority: Priority;
  readonly nowMs: number;
  /** Until when the slot is held if granted: the claim's lease (a sync attempt) or the async deadline. */
  readonly holdUntilMs: number;
  /** The agent's limits and counter key, when the agent type has any. */
  readonly agent?: { readonly key: string; readonly limits: AgentLimitConfig };
  /** The tenant's counter key and cap, when the task has a tenant and the queue a cap. */
  readonly tenant?: { readonly key: string; readonly maxConcurrency: number };
  /** The limiter's wake-up interval: the longest a waiting task goes between two asks. */
  readonly wakeUpMs: number;
  /**
   * How long after `nowMs` a granted start is stamped (stamp-lead.ts): about the time this consumer takes from a
   * grant to its call (the grant's write, the claim), so that the call meets its stamp instead of moving it
   * (`restamp`, one more write while the slot is held). The rate is checked at the stamp.
   * @default 0
   */
  readonly stampLeadMs?: number;
}

/** A counter write: the item's next state, conditioned on the version read. */
export interface CounterWrite {
  readonly key: string;
  readonly expectedVersion: number;
  readonly next: CounterState;
}

export type SlotDecision =
  | {
      readonly granted: true;
      /** Every write, all or none (a grant of an agent slot and a tenant slot is one transaction). */
      readonly writes: readonly CounterWrite[];
      /** The slots the holder now holds. */
      readonly slots: HeldSlots;
      /** The agent's slots in use after the grant, when it has a concurrency limit. */
      readonly agentInUse?: number;
      /** The start stamped in the agent's rate log, when it has a rate limit. */
      readonly start?: RateStart;
    }
  | {
      readonly granted: false;
      readonly reason: LimitReason;
      /** The earliest a new ask could succeed (for a rate limit), otherwise undefined. */
      readonly retryAfterMs?: number;
      /** Writes that do not take a slot: a waiting high task's mark (may be skipped if they conflict). */
      readonly writes: readonly CounterWrite[];
    };

/** The holders whose time has not come: a slot held until `t` is free at `t` (as a retry due at `t` is due). */
export function liveHolders(state: CounterState, nowMs: number): Record<string, number> {
  return Object.fromEntries(Object.entries(state.holders).filter(([, until]) => until > nowMs));
}

/** The rate window with its margin, in ms. */
const rateWindowMs = (rate: AgentRateLimit): number => rate.perSeconds * 1000 + RATE_WINDOW_MARGIN_MS;

/** The starts still inside the rate window (with its margin), oldest first. */
function liveStarts(state: CounterState, nowMs: number, rate: AgentRateLimit): number[] {
  const windowMs = rateWindowMs(rate);
  return state.starts.filter((at) => at > nowMs - windowMs).sort((a, b) => a - b);
}

/**
 * Whether one more start stamped at `atMs` keeps every window of the rate (with its margin) at `requests` starts
 * or fewer, checking every window that would hold it: those with earlier starts and those with later ones (a
 * stamp moved later, `restamp`, can fall before starts granted after it). Returns 0 when it fits, otherwise the
 * least wait after `atMs` at which it would.
 */
export function rateWaitMs(starts: readonly number[], atMs: number, rate: AgentRateLimit): number {
  const windowMs = rateWindowMs(rate);
  const sorted = [...starts].sort((a, b) => a - b);
  const fits = (at: number) => {
    const all = [...sorted, at].sort((a, b) => a - b);
    const i = all.lastIndexOf(at);
    // Every run of requests + 1 starts that holds this one must span the whole window.
    for (let j = Math.max(0, i - rate.requests); j <= i && j + rate.requests < all.length; j++) {
      if (all[j + rate.requests]! - all[j]! < windowMs) return false;
    }
    return true;
  };
  if (fits(atMs)) return 0;
  // The first moment it fits is one where some start leaves a window that would hold it.
  const candidates = sorted.map((s) => s + windowMs).filter((t) => t > atMs);
  for (const t of [...new Set(candidates)].sort((a, b) => a - b)) if (fits(t)) return t - atMs;
  return Math.max(0, (sorted[sorted.length - 1] ?? atMs) + windowMs - atMs);
}

/**
 * The rate log after a call that was stamped `fromMs` moves its stamp to `toMs` (its actual call time, when later
 * than its stamp by more than RATE_STAMP_TOLERANCE_MS). Every window holding the new stamp must keep `requests`
 * starts or fewer, later starts included; when one would not, `waitMs` says how long after `toMs` the move fits, and
 * the call waits for it. A stamp no longer in the log (a counter written anew) is added.
 */
export function restamp(
  state: CounterState,
  fromMs: number,
  toMs: number,
  rate: AgentRateLimit,
): { readonly ok: true; readonly next: CounterState } | { readonly ok: false; readonly waitMs: number } {
  const starts = liveStarts(state, toMs, rate);
  const at = starts.indexOf(fromMs);
  if (at >= 0) starts.splice(at, 1);
  const waitMs = rateWaitMs(starts, toMs, rate);
  if (waitMs > 0) return { ok: false, waitMs };
  return {
    ok: true,
    next: { ...state, starts: [...starts, toMs].sort((a, b) => a - b), version: state.version + 1 },
  };
}

/**
 * Whether the task may start now, and what to write. The rules, in order:
 * 1. a holder that already holds a live slot keeps it (the limiter's own write, retried after a lost answer), and
 *    is only held to the rate;
 * 2. the tenant's cap: live tenant holders < `tenant.maxConcurrency`;
 * 3. high before low: a low task does not start while a high task of its type is waiting (`high_until`);
 * 4. the agent's concurrency: live holders < `maxConcurrency`;
 * 5. the agent's rate: starts in every window of `per` (plus the margin) that would hold the stamp < `requests`;
 *    the start is stamped `stampLeadMs` after `nowMs`.
 * A high task refused by 4 or 5 marks the agent item (`high_until = now + HIGH_MARK_WAKE_UPS × wake-up`) unless
 * the mark was written less than one wake-up ago; see HIGH_MARK_WAKE_UPS.
 */
export function decide(
  request: SlotRequest,
  counters: ReadonlyMap<string, CounterState | undefined>,
): SlotDecision {
  const { nowMs, holder } = request;
  const read = (key: string) => counters.get(key) ?? EMPTY_COUNTER;
  const agent = request.agent && { ...request.agent, state: read(request.agent.key) };
  const tenant = request.tenant && { ...request.tenant, state: read(request.tenant.key) };

  const tenantHolders = tenant && liveHolders(tenant.state, nowMs);
  if (tenant && tenantHolders && !(holder in tenantHolders)) {
    if (Object.keys(tenantHolders).length >= tenant.maxConcurrency) {
      return { granted: false, reason: LimitReason.TenantConcurrencyLimit, writes: [] };
    }
  }

  const agentHolders = agent && liveHolders(agent.state, nowMs);
  const rate = agent?.limits.rateLimit;
  const startAtMs = nowMs + Math.max(0, request.stampLeadMs ?? 0);
  const starts = agent && rate ? liveStarts(agent.state, nowMs, rate) : (agent?.state.starts ?? []);
  if (agent && agentHolders) {
    const max = agent.limits.maxConcurrency;
    const holds = holder in agentHolders;
    const refusal = (reason: LimitReason, retryAfterMs?: number): SlotDecision => {
      const mark =
        request.priority === 'high' &&
        (agent.state.highUntil ?? 0) < nowMs + (HIGH_MARK_WAKE_UPS - 1) * request.wakeUpMs;
      return {
        granted: false,
        reason,
        ...(retryAfterMs !== undefined && { retryAfterMs }),
        writes: mark
          ? [
              {
                key: agent.key,
                expectedVersion: agent.state.version,
                next: {
                  ...agent.state,
                  holders: agentHolders,
                  starts,
                  highUntil: nowMs + HIGH_MARK_WAKE_UPS * request.wakeUpMs,
                  version: agent.state.version + 1,
                },
              },
            ]
          : [],
      };
    };
    if (!holds && request.priority === 'low' && (agent.state.highUntil ?? 0) > nowMs) {
      return refusal(max !== undefined ? LimitReason.AgentConcurrencyLimit : LimitReason.AgentRateLimit);
    }
    if (!holds && max !== undefined && Object.keys(agentHolders).length >= max) {
      return refusal(LimitReason.AgentConcurrencyLimit);
    }
    // Every agent call counts against the rate, a retry holding its slot too.
    const rateWait = rate ? rateWaitMs(starts, startAtMs, rate) : 0;
    if (rateWait > 0) return refusal(LimitReason.AgentRateLimit, rateWait);
  }

  const writes: CounterWrite[] = [];
  const keys: string[] = [];
  let agentInUse: number | undefined;
  if (agent && agentHolders) {
    const limited = agent.limits.maxConcurrency !== undefined;
    const holders = limited
      ? { ...agentHolders, [holder]: Math.max(agentHolders[holder] ?? 0, request.holdUntilMs) }
      : {};
    writes.push({
      key: agent.key,
      expectedVersion: agent.state.version,
      next: {
        ...agent.state,
        holders,
        starts: rate ? [...starts, startAtMs].sort((a, b) => a - b) : [],
        version: agent.state.version + 1,
      },
    });
    // A rate-only agent holds no slot: nothing to give back.
    if (limited) {
      keys.push(agent.key);
      agentInUse = Object.keys(holders).length;
    }
  }
  if (tenant && tenantHolders) {
    writes.push({
      key: tenant.key,
      expectedVersion: tenant.state.version,
      next: {
        ...tenant.state,
        holders: {
          ...tenantHolders,
          [holder]: Math.max(tenantHolders[holder] ?? 0, request.holdUntilMs),
        },
        version: tenant.state.version + 1,
      },
    });
    keys.push(tenant.key);
  }
  return {
    granted: true,
    writes,
    slots: { keys, holder },
    ...(agentInUse !== undefined && { agentInUse }),
    ...(agent && rate && { start: { key: agent.key, atMs: startAtMs, rate } }),
  };
}

/**
 * What becomes of a held slot: given back now, or held until `untilMs` (at least, or `exactly`: an earlier time
 * too, to give it back then).
 */
export type SlotChange =
  | { readonly release: true }
  | { readonly untilMs: number; readonly exactly?: boolean };

/**
 * The counter after `holder` moves its slot's time to `untilMs` (`release`: gives it back now). Undefined when
 * there is nothing to write: the task holds no slot there, or (for an extension) already holds it that long.
 */
export function moveHolder(
  state: CounterState,
  holder: string,
  change: SlotChange,
  nowMs: number,
): CounterState | undefined {
  const current = state.holders[holder];
  if (current === undefined) return undefined;
  const holders = liveHolders(state, nowMs);
  if ('release' in change) {
    delete holders[holder];
  } else {
    if (change.exactly ? current === change.untilMs : current >= change.untilMs) return undefined;
    holders[holder] = change.untilMs;
  }
  return { ...state, holders, version: state.version + 1 };
}

/**
 * A slot handed straight from one attempt to a task waiting in the same consumer: `slots` are given back and
 * `request` decided on the counters as they are after that, in one write per counter, all conditioned on the versions
 * read. Granted or not, the release is written; a refusal (a waiting high task's mark, the rate) leaves the slot free.
 */
export function handOff(
  slots: HeldSlots,
  request: SlotRequest,
  counters: ReadonlyMap<string, CounterState | undefined>,
): { readonly decision: SlotDecision; readonly writes: readonly CounterWrite[] } {
  const released = new Map<string, CounterState | undefined>(counters);
  for (const key of slots.keys) {
    const state = counters.get(key);
    const next = state && moveHolder(state, slots.holder, { release: true }, request.nowMs);
    if (next) released.set(key, next);
  }
  const decision = decide(request, released);
  const byKey = new Map<string, CounterState>();
  for (const key of slots.keys) {
    if (released.get(key) !== counters.get(key)) byKey.set(key, released.get(key)!);
  }
  for (const write of decision.writes) byKey.set(write.key, write.next);
  const writes = [...byKey].map(([key, next]) => {
    const version = counters.get(key)?.version ?? 0;
    return { key, expectedVersion: version, next: { ...next, version: version + 1 } };
  });
  return { decision, writes };
}

/**
 * How long a waiting task stays away before it asks again, in whole seconds (SQS delays are whole seconds):
 * doubling from 1 s with each wait, up to the wake-up interval, jittered down by up to half so that the waiters
 * of a burst do not ask together. Never before a rate limit's `retryAfterMs`, up to the wake-up interval.
 *
 * @param waits the waits this task has had in a row before this one (0 for the first)
 */
export function waitDelaySeconds(
  waits: number,
  wakeUpSeconds: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(wakeUpSeconds, 2 ** Math.min(waits, 20));
  const floor = Math.ceil(ceiling / 2);
  const jittered = floor + Math.floor(random() * (ceiling - floor + 1));
  const due = retryAfterMs === undefined ? 0 : Math.ceil(retryAfterMs / 1000);
  return Math.max(1, Math.min(wakeUpSeconds, Math.max(jittered, due)));
}

/** Whether a counter holds nothing any more at `nowMs` (the chaos run's end check). */
export function counterIsFree(state: CounterState, nowMs: number): boolean {
  return Object.keys(liveHolders(state, nowMs)).length === 0;
}
