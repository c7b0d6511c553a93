/**
 * The dashboard's task views, read from the task table directly: recent tasks filtered by status, type and tier,
 * and one task's page (its record, the API's view of it with a published task's deliveries, and its messages
 * while a queue still holds them, which is the only place the payload lives: the record does not keep it).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoTaskStore } from '../../lambda/adapters/dynamodb-task-store';
import { type TaskRecord, TaskStatus } from '../../lambda/core/task';
import type { TaskQueueLayout } from './layout';
import { type HeldMessage, type MessageState, scanTable } from './sources';

/** The fields a row of the recent tasks shows. */
export const TASK_LIST_FIELDS = [
  'task_id',
  'type',
  'priority',
  'status',
  'attempts',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'tenant_id',
  'topic',
  'published_task_id',
  'error',
  'progress',
  'agent_mode',
] as const;

export type TaskListRow = Pick<TaskRecord, (typeof TASK_LIST_FIELDS)[number]> & { readonly queue: string };

export interface TaskFilter {
  readonly status?: string;
  readonly type?: string;
  readonly tier?: string;
  /** @default 50 */
  readonly limit?: number;
}

export const DEFAULT_TASK_LIMIT = 50;
export const MAX_TASK_LIMIT = 1000;

const STATUSES: readonly string[] = Object.values(TaskStatus);

/** Why a filter cannot be applied, or nothing. */
export function filterProblem(
  query: Readonly<Record<string, string | undefined>>,
  tiers: readonly string[],
): string | undefined {
  if (query.status !== undefined && query.status !== '' && !STATUSES.includes(query.status))
    return `status must be one of ${STATUSES.join(', ')}`;
  if (query.tier !== undefined && query.tier !== '' && !tiers.includes(query.tier))
    return `tier must be one of ${tiers.join(', ')}`;
  if (query.limit !== undefined) {
    const n = Number(query.limit);
    if (!/^\d+$/.test(query.limit) || n < 1 || n > MAX_TASK_LIMIT)
      return `limit must be a whole number from 1 to ${MAX_TASK_LIMIT}`;
  }
  return undefined;
}

/** The rows that pass the filter, newest first, at most `limit`; and how many passed. */
export function selectTasks(
  rows: readonly TaskListRow[],
  filter: TaskFilter,
): { tasks: TaskListRow[]; matching: number } {
  const matching = rows.filter(
    (r) =>
      (!filter.status || r.status === filter.status) &&
      (!filter.type || r.type === filter.type) &&
      (!filter.tier || r.priority === filter.tier),
  );
  matching.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return { tasks: matching.slice(0, filter.limit ?? DEFAULT_TASK_LIMIT), matching: matching.length };
}

export async function listTasks(
  dynamodb: DynamoDBClient,
  layouts: readonly TaskQueueLayout[],
  filter: TaskFilter,
): Promise<{ tasks: TaskListRow[]; matching: number }> {
  const rows: TaskListRow[] = [];
  for (const layout of layouts) {
    const items = await scanTable<TaskRecord>(dynamodb, layout.tableName, TASK_LIST_FIELDS);
    for (const item of items) rows.push({ ...item, queue: layout.queue });
  }
  return selectTasks(rows, filter);
}

/** Fields of a record that are bookkeeping of secrets or deliveries, not for a page. */
const HIDDEN_FIELDS = ['token_hash', 'callback_tokens', 'receipt_handle', 'completion_hash'] as const;

export function shownRecord(record: TaskRecord): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...record };
  for (const field of HIDDEN_FIELDS) delete shown[field];
  return shown;
}

/** A message of the task (or of one of its deliveries) that a queue still holds. */
export interface TaskMessage {
  readonly queue: string;
  readonly tier: string;
  /** The tier queue, or its dead-letter queue. */
  readonly kind: 'queue' | 'dead-letter queue';
  readonly state: MessageState;
  readonly message_id: string;
  /** The task the message is for: the task itself, or a delivery of it. */
  readonly task_id: string;
  readonly receive_count: number;
  readonly sent_at: string;
  readonly payload: unknown;
}

/** The messages of `taskId` among what the queues hold: its own, and its deliveries' if it is a published task. */
export function taskMessages(
  taskId: string,
  layout: TaskQueueLayout,
  held: (queueName: string) => readonly HeldMessage[],
): TaskMessage[] {
  const found: TaskMessage[] = [];
  for (const tier of layout.tiers)
    for (const [kind, name] of [
      ['queue', tier.queueName],
      ['dead-letter queue', tier.deadLetterQueueName],
    ] as const)
      for (const { state, message } of held(name)) {
        if (!message.body.includes(taskId)) continue;
        let envelope: { task_id?: unknown; published_task_id?: unknown; payload?: unknown } | null;
        try {
          envelope = JSON.parse(message.body) as typeof envelope;
        } catch {
          continue;
        }
        if (envelope?.task_id !== taskId && envelope?.published_task_id !== taskId) continue;
        found.push({
          queue: layout.queue,
          tier: tier.tier,
          kind,
          state,
          message_id: message.messageId,
          task_id: String(envelope.task_id),
          receive_count: message.approximateReceiveCount,
          sent_at: new Date(message.sentTimestamp).toISOString(),
          payload: envelope.payload ?? null,
        });
      }
  return found;
}

/** The record of a task, in whichever TaskQueue's table holds it. */
export async function findRecord(
  dynamodb: DynamoDBClient,
  layouts: readonly TaskQueueLayout[],
  taskId: string,
): Promise<{ layout: TaskQueueLayout; record: TaskRecord } | undefined> {
  for (const layout of layouts) {
    const record = await new DynamoTaskStore(dynamodb, layout.tableName).get(taskId);
    if (record) return { layout, record };
  }
  return undefined;
}
