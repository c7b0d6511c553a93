/**
 * The one translation of a state-machine rule (lambda/core/transitions.ts) into a DynamoDB condition
 * expression. Every conditional write of the task store takes its condition from here, so the table enforces
 * exactly what `permits` says; the contract test (test/support/task-store-contract.ts) holds both to the same
 * cases.
 *
 * Placeholders: `#status`; a status is `:<status in lower case>` (`:queued`, `:running`), so that an update
 * expression may use the same placeholder for the status it writes; `:eid`, `:attempt`, `:graceEnd`, `:nowMs`
 * for the facts (`:nowMs` both for the lease and for the retry time); `:async` for `agent_mode`.
 */
import type { TaskStatus } from '../core/task';
import { requiredFact, type TransitionFacts, type TransitionRule } from '../core/transitions';

export interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  /** Plain values, to be marshalled with the update's own. */
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/** The placeholder of a status value. */
export const statusPlaceholder = (status: TaskStatus): string => `:${status.toLowerCase()}`;

const any = (terms: readonly string[]): string =>
  terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;

/** The condition under which DynamoDB applies rule `r`: the same predicate as `permits(r, record, facts)`. */
export function conditionOf(r: TransitionRule, facts: TransitionFacts): Condition {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = {};
  const status = (s: TaskStatus): string => {
    const placeholder = statusPlaceholder(s);
    values[placeholder] = s;
    return placeholder;
  };

  const guards: string[] = [];
  if (r.enqueueFence !== undefined) {
    const enqueueId = r.enqueueFence === 'same' ? requiredFact(r, facts, 'enqueueId') : facts.enqueueId;
    if (enqueueId !== undefined) values[':eid'] = enqueueId;
    guards.push(
      r.enqueueFence === 'same'
        ? 'enqueue_id = :eid'
        : enqueueId === undefined
          ? 'attribute_not_exists(enqueue_id)'
          : '(attribute_not_exists(enqueue_id) OR enqueue_id = :eid)',
    );
  }
  if (r.attemptFence) {
    values[':attempt'] = requiredFact(r, facts, 'attempt');
    guards.push('attempts = :attempt');
  }
  if (r.redriveGrace) {
    values[':graceEnd'] = requiredFact(r, facts, 'redriveGraceEnd');
    guards.push('(attribute_not_exists(redriven_at) OR redriven_at < :graceEnd)');
  }
  if (r.asyncOnly) {
    values[':async'] = 'async';
    guards.push('agent_mode = :async');
  }
  const expired = '(attribute_not_exists(lease_until) OR lease_until < :nowMs)';

  // With `retryWait`, RETRYING is a term of its own: only once its retry is due.
  const waits = r.retryWait && r.from.includes('RETRYING');
  const plain = waits ? r.from.filter((s) => s !== 'RETRYING') : r.from;
  const statuses: string[] = [];
  // A lease requirement applies to RUNNING only, which is then a term of its own.
  const leased = r.lease !== 'any' && plain.includes('RUNNING');
  const unleased = leased ? plain.filter((s) => s !== 'RUNNING') : plain;
  if (unleased.length === 1) statuses.push(`#status = ${status(unleased[0]!)}`);
  if (unleased.length > 1) statuses.push(`#status IN (${unleased.map(status).join(', ')})`);
  if (leased) {
    values[':nowMs'] = facts.nowMs;
    statuses.push(
      `(#status = ${status('RUNNING')} AND ${r.lease === 'held' ? 'lease_until >= :nowMs' : expired})`,
    );
  }
  if (waits) {
    values[':nowMs'] = facts.nowMs;
    statuses.push(
      `(#status = ${status('RETRYING')} AND (attribute_not_exists(retry_at) OR retry_at <= :nowMs))`,
    );
  }
  if (r.fromExpiredLease !== false) {
    values[':nowMs'] = facts.nowMs;
    const syncOnly = r.fromExpiredLease === 'sync' ? ' AND attribute_not_exists(agent_mode)' : '';
    statuses.push(`(#status = ${status('RUNNING')} AND ${expired}${syncOnly})`);
  }
  guards.push(any(statuses));

  // A missing record has no status: `refuse` needs nothing more than the status test, but says so.
  const ConditionExpression =
    r.ifMissing === 'create'
      ? `attribute_not_exists(task_id) OR (${guards.join(' AND ')})`
      : ['attribute_exists(task_id)', ...guards].join(' AND ');
  return { ConditionExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/**
 * The attribute maps of a conditional update: the condition's and the update expression's own. A placeholder
 * both define must hold the same value (e.g. `:running` as the status a claim leaves from and writes).
 */
export function mergeAttributes(
  condition: Condition,
  update: { readonly names?: Record<string, string>; readonly values: Record<string, unknown> },
): { names: Record<string, string>; values: Record<string, unknown> } {
  const values = { ...condition.ExpressionAttributeValues };
  for (const [key, value] of Object.entries(update.values)) {
    if (key in values && values[key] !== value) {
      throw new Error(
        `placeholder ${key} is ${String(values[key])} in the condition and ${String(value)} in the update`,
      );
    }
    values[key] = value;
  }
  return { names: { ...condition.ExpressionAttributeNames, ...update.names }, values };
}
