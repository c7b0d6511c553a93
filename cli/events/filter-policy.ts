/**
 * `taskq events tail`'s filter flags, turned into an SNS filter policy on the events' message attributes
 * (`type`, `priority`, `status`, `event`; lambda/core/task-events.ts sets them on every event). Values of one key
 * are ORed, keys are ANDed, as SNS matches a policy.
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
 */
import { PRIORITIES, TaskStatus } from '../../lambda/core/task';
import { UsageError } from '../errors';

/** The attributes a tail can filter on. */
export const FILTER_KEYS = ['type', 'priority', 'status', 'event'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** An SNS filter policy: per attribute, the values any one of which it must have. */
export type FilterPolicy = Readonly<Partial<Record<FilterKey, readonly string[]>>>;

/** SNS's limits on a filter policy: 5 keys (we have 4), and at most 150 combinations of values. */
const MAX_COMBINATIONS = 150;

const STATUSES: readonly string[] = Object.values(TaskStatus);
const EVENTS = STATUSES.map((s) => `task.${s.toLowerCase()}`);

/** Parses one `--filter key=value`; a value with a comma lists several (`status=FAILED,CANCELLED`). */
export function parseFilter(text: string): { key: FilterKey; values: string[] } {
  const eq = text.indexOf('=');
  const key = text.slice(0, eq).trim();
  if (eq <= 0 || !(FILTER_KEYS as readonly string[]).includes(key))
    throw new UsageError(
      `--filter takes key=value with a key among ${FILTER_KEYS.join(', ')}, but '${text}' was given`,
    );
  const values = text
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length === 0) throw new UsageError(`--filter ${key}= needs a value`);
  const allowed: Partial<Record<FilterKey, readonly string[]>> = {
    priority: PRIORITIES,
    status: STATUSES,
    event: EVENTS,
  };
  for (const value of values) {
    const known = allowed[key as FilterKey];
    if (known && !known.includes(value))
      throw new UsageError(`--filter ${key}=${value}: ${key} is one of ${known.join(', ')}`);
  }
  return { key: key as FilterKey, values };
}

/**
 * The filter policy of `--filter` (repeatable) and `--type` (repeatable, the same as `--filter type=T`); undefined
 * when there is nothing to filter on, so the subscription takes every event.
 */
export function buildFilterPolicy(
  filters: readonly string[],
  types: readonly string[] = [],
): FilterPolicy | undefined {
  const policy: Partial<Record<FilterKey, string[]>> = {};
  const add = (key: FilterKey, values: readonly string[]) => {
    const list = policy[key] ?? [];
    for (const v of values) if (!list.includes(v)) list.push(v);
    policy[key] = list;
  };
  for (const text of filters) {
    const { key, values } = parseFilter(text);
    add(key, values);
  }
  if (types.some((t) => t.trim() === '')) throw new UsageError('--type needs a task type');
  if (types.length > 0) add('type', types);
  const keys = Object.keys(policy) as FilterKey[];
  if (keys.length === 0) return undefined;
  const combinations = keys.reduce((n, k) => n * policy[k]!.length, 1);
  if (combinations > MAX_COMBINATIONS)
    throw new UsageError(
      `the filter has ${combinations} combinations of values; SNS takes at most ${MAX_COMBINATIONS}`,
    );
  return policy;
}
