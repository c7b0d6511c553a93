/**
 * What `taskq top` shows: the first screen of the local dashboard, per tier and per agent type. The local
 * runtime serves it as it is (`GET /_local/dashboard/api/overview`, field names kept); a deployed stack's source
 * builds it from SQS and CloudWatch, where some figures do not exist: those are `null`, and the screen shows `-`.
 */
import { CommandError } from '../errors';

export interface TierOverview {
  /** `high` or `low`. */
  readonly tier: string;
  /** The TaskQueue the tier belongs to (its construct path when a stack has several). */
  readonly queue: string;
  readonly visible: number;
  readonly in_flight: number;
  readonly delayed: number;
  /** Messages sent to the tier queue per second, over the last minute. `null` when unknown. */
  readonly produced_per_second: number | null;
  /** Messages deleted (acked) from the tier queue per second, over the last minute. `null` when unknown. */
  readonly consumed_per_second: number | null;
  /** Age of the oldest message: the tier's lag. 0 when the queue is empty; `null` when unknown. */
  readonly oldest_age_seconds: number | null;
  readonly dlq_depth: number;
}

export interface AgentLimitOverview {
  /** @default - no concurrency limit */
  readonly max_concurrency?: number;
  /** Slots in use now; `null` when unknown. */
  readonly in_use: number | null;
  /** @default - no rate limit */
  readonly rate_limit?: { readonly requests: number; readonly per_seconds: number };
}

export interface AgentOverview {
  readonly type: string;
  /** Tasks of this type an agent is working on now; `null` when unknown. */
  readonly running: number | null;
  readonly succeeded_per_minute: number;
  readonly failed_per_minute: number;
  /** Agent latency of the tasks finished in the last 15 minutes; `null` when none finished. */
  readonly latency_ms: { readonly p50: number | null; readonly p95: number | null };
  /** @default - the type has no limit */
  readonly limit?: AgentLimitOverview;
  /** @default - a sync agent */
  readonly async_running?: readonly { readonly task_id: string; readonly progress?: unknown }[];
}

export interface Overview {
  /** ISO 8601: when the figures were read. */
  readonly generated_at: string;
  /** The stack's name. */
  readonly stack: string;
  readonly tiers: readonly TierOverview[];
  readonly agents: readonly AgentOverview[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isCountOrNull = (value: unknown): value is number | null => value === null || isCount(value);

/** Where the first field that breaks the contract is, or undefined when `tier` keeps it. */
function tierProblem(tier: unknown, at: string): string | undefined {
  if (!isObject(tier)) return `${at} is not an object`;
  for (const key of ['tier', 'queue'] as const)
    if (typeof tier[key] !== 'string') return `${at}.${key} is not a string`;
  for (const key of ['visible', 'in_flight', 'delayed', 'dlq_depth'] as const)
    if (!isCount(tier[key])) return `${at}.${key} is not a number`;
  for (const key of ['produced_per_second', 'consumed_per_second', 'oldest_age_seconds'] as const)
    if (!isCountOrNull(tier[key])) return `${at}.${key} is not a number`;
  return undefined;
}

function agentProblem(agent: unknown, at: string): string | undefined {
  if (!isObject(agent)) return `${at} is not an object`;
  if (typeof agent.type !== 'string') return `${at}.type is not a string`;
  if (!isCountOrNull(agent.running)) return `${at}.running is not a number`;
  for (const key of ['succeeded_per_minute', 'failed_per_minute'] as const)
    if (!isCount(agent[key])) return `${at}.${key} is not a number`;
  const latency = agent.latency_ms;
  if (!isObject(latency) || !isCountOrNull(latency.p50) || !isCountOrNull(latency.p95))
    return `${at}.latency_ms is not { p50, p95 }`;
  const limit = agent.limit;
  if (limit !== undefined) {
    if (!isObject(limit)) return `${at}.limit is not an object`;
    if (!isCountOrNull(limit.in_use)) return `${at}.limit.in_use is not a number`;
    if (limit.max_concurrency !== undefined && !isCount(limit.max_concurrency))
      return `${at}.limit.max_concurrency is not a number`;
    const rate = limit.rate_limit;
    if (rate !== undefined && !(isObject(rate) && isCount(rate.requests) && isCount(rate.per_seconds)))
      return `${at}.limit.rate_limit is not { requests, per_seconds }`;
  }
  if (agent.async_running !== undefined && !Array.isArray(agent.async_running))
    return `${at}.async_running is not an array`;
  return undefined;
}

/**
 * Checks a document against the overview contract (the fields the screen reads; others are ignored) and
 * returns it typed. Throws `InvalidResponse` naming the first field that breaks it.
 */
export function parseOverview(document: unknown, from: string): Overview {
  const problem = ((): string | undefined => {
    if (!isObject(document)) return 'the body is not a JSON object';
    if (typeof document.generated_at !== 'string') return 'generated_at is not a string';
    if (typeof document.stack !== 'string') return 'stack is not a string';
    if (!Array.isArray(document.tiers)) return 'tiers is not an array';
    if (!Array.isArray(document.agents)) return 'agents is not an array';
    for (const [i, tier] of document.tiers.entries()) {
      const found = tierProblem(tier, `tiers[${i}]`);
      if (found) return found;
    }
    for (const [i, agent] of document.agents.entries()) {
      const found = agentProblem(agent, `agents[${i}]`);
      if (found) return found;
    }
    return undefined;
  })();
  if (problem) throw new CommandError('InvalidResponse', `${from} is not a dashboard overview: ${problem}`);
  return document as unknown as Overview;
}
