/**
 * The task table. Every state change is one conditional write whose condition is the state machine
 * in lambda/core/transitions.ts, so concurrent consumers, duplicate deliveries and cancellations
 * cannot overwrite each other.
 */

import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { parseExactJson } from '../core/json-text';
import type { ClaimResult, CreateResult, RequeueResult, TaskStore } from '../core/ports';
import { type DeadLetterTarget, redriveGraceEnd } from '../core/sweep';
import { type TaskEnvelope, type TaskError, type TaskRecord, TaskStatus } from '../core/task';
import { CANCELLABLE_STATUSES, CLAIMABLE_STATUSES } from '../core/transitions';

/**
 * Results are stored as a JSON string: any JSON an agent returns round-trips exactly, including
 * numbers outside DynamoDB's range and empty map keys. It is read back exactly too (json-text.ts), so
 * `GET /tasks/{id}` answers `9007199254740993` as the agent sent it.
 */
function toRecord(item: Record<string, unknown> | undefined): TaskRecord | undefined {
  if (!item) return undefined;
  const record = unmarshall(item as never) as TaskRecord & { result?: unknown };
  return typeof record.result === 'string' ? { ...record, result: parseExactJson(record.result) } : record;
}

const oldItem = (error: unknown): TaskRecord | undefined =>
  error instanceof ConditionalCheckFailedException ? toRecord(error.Item) : undefined;

function statusList(
  prefix: string,
  statuses: readonly string[],
): { expr: string; values: Record<string, string> } {
  const values: Record<string, string> = {};
  statuses.forEach((s, i) => {
    values[`:${prefix}${i}`] = s;
  });
  return { expr: Object.keys(values).join(', '), values };
}

export class DynamoTaskStore implements TaskStore {
  public constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  public async get(taskId: string): Promise<TaskRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ task_id: taskId }),
        ConsistentRead: true,
      }),
    );
    return toRecord(out.Item);
  }

  public async create(record: TaskRecord): Promise<CreateResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(record, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(task_id)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      const existing = oldItem(error);
      if (existing) return { created: false, existing };
      throw error;
    }
  }

  /**
   * A claim's write can commit while its response is lost; the SDK then retries it, and the retry fails its
   * condition against the claim itself (RUNNING, under a valid lease). Each call writes a fresh `claim_id`
   * (the same in every retry of the call), so that it can tell its own claim from another consumer's.
   */
  public async claim(envelope: TaskEnvelope, now: Date, leaseSeconds: number): Promise<ClaimResult> {
    const claimable = statusList('c', CLAIMABLE_STATUSES);
    const iso = now.toISOString();
    const claimId = randomUUID();
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ task_id: envelope.task_id }),
          // A missing record means the producer's write failed after its send: create it from the envelope.
          ConditionExpression:
            '(attribute_not_exists(task_id) OR enqueue_id = :eid) AND ' +
            `(attribute_not_exists(#status) OR #status IN (${claimable.expr}) OR (#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs)))`,
          UpdateExpression:
            'SET #status = :running, attempts = if_not_exists(attempts, :zero) + :one, lease_until = :lease, ' +
            'updated_at = :now, started_at = if_not_exists(started_at, :now), #type = if_not_exists(#type, :type), ' +
            'priority = if_not_exists(priority, :priority), created_at = if_not_exists(created_at, :created), ' +
            'enqueue_id = if_not_exists(enqueue_id, :eid), request_hash = if_not_exists(request_hash, :hash), ' +
            'claim_id = :cid',
          ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
          ExpressionAttributeValues: marshall({
            ...claimable.values,
            ':running': TaskStatus.RUNNING,
            ':eid': envelope.enqueue_id,
            ':nowMs': now.getTime(),
            ':lease': now.getTime() + leaseSeconds * 1000,
            ':now': iso,
            ':zero': 0,
            ':one': 1,
            ':type': envelope.type,
            ':priority': envelope.priority,
            ':created': envelope.created_at,
            ':hash': envelope.request_hash ?? '',
            ':cid': claimId,
          }),
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, attempt: Number(unmarshall(out.Attributes ?? {}).attempts) };
    } catch (error) {
      const current = oldItem(error);
      if (current?.status === TaskStatus.RUNNING && current.claim_id === claimId) {
        return { claimed: true, attempt: current.attempts };
      }
      if (current) return { claimed: false, current };
      throw error;
    }
  }

  /** Settles the attempt `attempt` if it still holds the claim. */
  private async settle(
    taskId: string,
    attempt: number,
    status: TaskStatus,
    now: Date,
    fields: Record<string, unknown>,
  ): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {
      ':running': TaskStatus.RUNNING,
      ':attempt': attempt,
      ':next': status,
      ':now': now.toISOString(),
    };
    const sets = ['#status = :next', 'updated_at = :now'];
    // A success clears the error an earlier attempt left, so that the record does not read as a failure.
    const removes = ['lease_until'];
    if (status === TaskStatus.SUCCEEDED) {
      names['#error'] = 'error';
      removes.push('#error');
    }
    for (const [key, value] of Object.entries(fields)) {
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ task_id: taskId }),
          ConditionExpression: '#status = :running AND attempts = :attempt',
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values, {
            removeUndefinedValues: true,
            convertClassInstanceToMap: true,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  public succeed(taskId: string, attempt: number, result: unknown, now: Date, expiresAt: number) {
    return this.settle(taskId, attempt, TaskStatus.SUCCEEDED, now, {
      result: JSON.stringify(result ?? null),
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  public retry(taskId: string, attempt: number, error: TaskError, now: Date) {
    return this.settle(taskId, attempt, TaskStatus.RETRYING, now, { error });
  }

  public fail(taskId: string, attempt: number, error: TaskError, now: Date, expiresAt: number) {
    return this.settle(taskId, attempt, TaskStatus.FAILED, now, {
      error,
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  /** The condition is `isStranded` of core/sweep.ts, written as a DynamoDB condition. */
  public async abandon(
    target: DeadLetterTarget,
    error: TaskError,
    now: Date,
    opts: { redriveGraceSeconds: number; expiresAt: number },
  ): Promise<boolean> {
    const claimable = statusList('c', CLAIMABLE_STATUSES);
    // A letter without an enqueue_id can only be the message of a record without one.
    const ownMessage =
      target.enqueueId === undefined
        ? 'attribute_not_exists(enqueue_id)'
        : '(attribute_not_exists(enqueue_id) OR enqueue_id = :eid)';
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ task_id: target.taskId }),
          ConditionExpression:
            `attribute_exists(task_id) AND ${ownMessage} AND ` +
            '(attribute_not_exists(redriven_at) OR redriven_at < :graceEnd) AND ' +
            `(#status IN (${claimable.expr}) OR ` +
            '(#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs)))',
          UpdateExpression:
            'SET #status = :failed, #error = :error, updated_at = :now, finished_at = :now, expires_at = :exp ' +
            'REMOVE lease_until',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
          ExpressionAttributeValues: marshall(
            {
              ...claimable.values,
              ':eid': target.enqueueId,
              ':running': TaskStatus.RUNNING,
              ':failed': TaskStatus.FAILED,
              ':nowMs': now.getTime(),
              ':graceEnd': redriveGraceEnd(now, opts.redriveGraceSeconds),
              ':error': error,
              ':now': now.toISOString(),
              ':exp': opts.expiresAt,
            },
            { removeUndefinedValues: true },
          ),
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  public async requeue(taskId: string, now: Date): Promise<RequeueResult> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ task_id: taskId }),
          ConditionExpression:
            'attribute_exists(task_id) AND (#status IN (:failed, :retrying) OR ' +
            '(#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs)))',
          UpdateExpression:
            'SET #status = :queued, redriven_at = :now, updated_at = :now, ' +
            'redrive_count = if_not_exists(redrive_count, :zero) + :one ' +
            'REMOVE finished_at, expires_at, lease_until',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':failed': TaskStatus.FAILED,
            ':retrying': TaskStatus.RETRYING,
            ':running': TaskStatus.RUNNING,
            ':queued': TaskStatus.QUEUED,
            ':nowMs': now.getTime(),
            ':now': now.toISOString(),
            ':zero': 0,
            ':one': 1,
          }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { requeued: true, record: toRecord(out.Attributes)! };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        return { requeued: false, current: oldItem(error) };
      throw error;
    }
  }

  /** Like `claim`, writes a fresh `cancel_id`, so that a retried call recognises its own cancellation. */
  public async cancel(taskId: string, now: Date, expiresAt: number) {
    const cancellable = statusList('c', CANCELLABLE_STATUSES);
    const cancelId = randomUUID();
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ task_id: taskId }),
          ConditionExpression: `attribute_exists(task_id) AND #status IN (${cancellable.expr})`,
          UpdateExpression:
            'SET #status = :cancelled, updated_at = :now, finished_at = :now, expires_at = :exp, cancel_id = :cid',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ...cancellable.values,
            ':cancelled': TaskStatus.CANCELLED,
            ':now': now.toISOString(),
            ':exp': expiresAt,
            ':cid': cancelId,
          }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { cancelled: toRecord(out.Attributes)! };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = oldItem(error);
      if (current?.status === TaskStatus.CANCELLED && current.cancel_id === cancelId) {
        return { cancelled: current };
      }
      return { current };
    }
  }
}
