/**
 * The task table. Every state change is one conditional write whose condition is a rule of the state machine
 * (lambda/core/transitions.ts), built by dynamodb-condition.ts, so concurrent consumers, duplicate deliveries
 * and cancellations cannot overwrite each other. This file holds only what each write sets.
 */

import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type AsyncClaim, tokenId } from '../core/async-attempt';
import { parseExactJson } from '../core/json-text';
import type { HeldSlots, TaskWaiting } from '../core/limits';
import type { AsyncEnding, ClaimResult, CreateResult, RequeueResult, TaskStore } from '../core/ports';
import { itemBytes } from '../core/record-size';
import {
  compressedAtFloor,
  mayCompress,
  RESULT_COMPRESSED_ATTRIBUTE,
  RESULT_TEXT_ATTRIBUTE,
  resultForm,
  resultObjectKey,
  SETTLED_ADDED_BYTES,
} from '../core/result-storage';
import type { DeadLetterTarget } from '../core/sweep';
import {
  type TaskEnvelope,
  type TaskError,
  type TaskProgress,
  type TaskRecord,
  TaskStatus,
} from '../core/task';
import {
  asyncEndingRule,
  isOwnWrite,
  redriveGraceEnd,
  TRANSITIONS,
  type TransitionFacts,
  type TransitionRule,
  waitRule,
} from '../core/transitions';
import { toAttributeValues } from './attribute-values';
import { conditionOf, mergeAttributes, statusPlaceholder } from './dynamodb-condition';
import { compressResult, decompressResult } from './result-codec';
import type { ResultObjects } from './s3-result-objects';

/**
 * Results are stored as JSON text: any JSON an agent returns round-trips exactly, including numbers outside
 * DynamoDB's range and empty map keys. It is read back exactly too (json-text.ts), so `GET /tasks/{id}` answers
 * `9007199254740993` as the agent sent it. The text is in `result`, compressed in `result_z`, or in the results
 * bucket under `result_object` (result-storage.ts); the first two are decoded here, the third by `loadResult`.
 */
function toRecord(item: Record<string, unknown> | undefined): TaskRecord | undefined {
  if (!item) return undefined;
  const { [RESULT_COMPRESSED_ATTRIBUTE]: compressed, ...record } = unmarshall(item as never) as TaskRecord & {
    result?: unknown;
    result_z?: Uint8Array;
  };
  if (compressed instanceof Uint8Array)
    return { ...record, result: parseExactJson(decompressResult(compressed)) };
  return typeof record.result === 'string' ? { ...record, result: parseExactJson(record.result) } : record;
}

/** Every attribute a result may be stored in: a success write removes the ones its form does not use. */
const RESULT_ATTRIBUTES = [RESULT_TEXT_ATTRIBUTE, RESULT_COMPRESSED_ATTRIBUTE, 'result_object'] as const;

/** A result in its stored form: the attribute that holds it, and its value. */
type StoredResult = { readonly attribute: (typeof RESULT_ATTRIBUTES)[number]; readonly value: unknown };

/** What the store needs besides its table. */
export interface TaskStoreOptions {
  /**
   * The results bucket (result-storage.ts `object`).
   * @default - none: every result is stored in its record
   */
  readonly results?: ResultObjects;
}

/** What an async attempt leaves on the record; a sync claim and a requeue remove it. */
const ASYNC_ATTEMPT_FIELDS = [
  'agent_mode',
  'token_hash',
  'receipt_handle',
  'receive_count',
  'heartbeat_seconds',
  'run_deadline',
  'heartbeat_at',
  'progress',
  'cancel_requested',
  'completion_hash',
] as const;

/** The most keys one BatchGetItem takes. */
const BATCH_GET_KEYS = 100;

const oldItem = (error: unknown): TaskRecord | undefined =>
  error instanceof ConditionalCheckFailedException ? toRecord(error.Item) : undefined;

export class DynamoTaskStore implements TaskStore {
  private readonly results?: ResultObjects;

  public constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: TaskStoreOptions = {},
  ) {
    this.results = options.results;
  }

  public async loadResult(record: TaskRecord): Promise<TaskRecord> {
    if (record.result_object === undefined || record.result !== undefined) return record;
    if (!this.results)
      throw new Error(`task ${record.task_id}'s result is in the results bucket, which this store has not`);
    return { ...record, result: parseExactJson(await this.results.get(record.result_object)) };
  }

  /**
   * A result in the form result-storage.ts chooses for a record of `recordBytes` (the claimed record; 0 when
   * unknown). An object is written before the record that points to it, so a pointer never dangles; a write that
   * then loses its claim leaves an object nothing points to, which the bucket's lifecycle removes.
   */
  private async storedResult(
    taskId: string,
    attempt: number,
    result: unknown,
    recordBytes: number | undefined,
  ): Promise<StoredResult> {
    const text = JSON.stringify(result ?? null);
    const base = {
      otherBytes: (recordBytes ?? 0) + SETTLED_ADDED_BYTES,
      textBytes: Buffer.byteLength(text),
      objectStore: this.results !== undefined,
    };
    const compressed = mayCompress(base)
      ? compressResult(text, (bytes) => compressedAtFloor(base, bytes))
      : undefined;
    const form = resultForm({ ...base, compressedBytes: compressed?.byteLength });
    if (form === 'compressed' && compressed)
      return { attribute: RESULT_COMPRESSED_ATTRIBUTE, value: compressed };
    if (form === 'object' && this.results) {
      const key = resultObjectKey(taskId, attempt, randomUUID());
      await this.results.put(key, text);
      return { attribute: 'result_object', value: key };
    }
    return { attribute: RESULT_TEXT_ATTRIBUTE, value: text };
  }

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

  /** BatchGetItem, 100 keys a call, with what DynamoDB left unprocessed asked again. */
  public async getMany(taskIds: readonly string[]): Promise<ReadonlyMap<string, TaskRecord>> {
    const found = new Map<string, TaskRecord>();
    for (let i = 0; i < taskIds.length; i += BATCH_GET_KEYS) {
      let keys: Record<string, AttributeValue>[] | undefined = [
        ...new Set(taskIds.slice(i, i + BATCH_GET_KEYS)),
      ].map((id) => marshall({ task_id: id }));
      for (let round = 0; keys?.length; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** round)));
        const out: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const record = toRecord(item);
          if (record) found.set(record.task_id, record);
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
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
   * The one conditional write: rule `r`'s condition (dynamodb-condition.ts) with the write's own update.
   * Returns the attributes DynamoDB sent back, or, when the condition failed, the record as it was (undefined
   * when there was none, or when the call asked for no record back).
   */
  private async transition(
    taskId: string,
    r: TransitionRule,
    facts: TransitionFacts,
    update: {
      readonly expression: string;
      readonly names?: Record<string, string>;
      readonly values: Record<string, unknown>;
      readonly returnValues?: 'UPDATED_NEW' | 'ALL_NEW';
    },
  ): Promise<
    | { readonly applied: true; readonly attributes: Record<string, AttributeValue> | undefined }
    | { readonly applied: false; readonly current: TaskRecord | undefined; readonly error: unknown }
  > {
    const condition = conditionOf(r, facts);
    const { names, values } = mergeAttributes(condition, update);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { task_id: { S: taskId } },
          ConditionExpression: condition.ConditionExpression,
          UpdateExpression: update.expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toAttributeValues(values),
          ...(update.returnValues && {
            ReturnValues: update.returnValues,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        }),
      );
      return { applied: true, attributes: out.Attributes };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { applied: false, current: oldItem(error), error };
    }
  }

  /**
   * A claim's write can commit while its response is lost; the SDK then retries it, and the retry fails its
   * condition against the claim itself (RUNNING, under a valid lease). Each call writes a fresh `claim_id`
   * (the same in every retry of the call), so that it can tell its own claim from another consumer's.
   */
  public async claim(
    envelope: TaskEnvelope,
    now: Date,
    leaseSeconds: number,
    async?: AsyncClaim,
    slots?: HeldSlots,
  ): Promise<ClaimResult> {
    const r = TRANSITIONS.claim;
    const iso = now.toISOString();
    const claimId = randomUUID();
    // An async attempt writes its token and deadlines; a sync one removes what an earlier async attempt left.
    const asyncSets = async
      ? ', agent_mode = :async, token_hash = :th, receipt_handle = :rh, receive_count = :rc, ' +
        'heartbeat_seconds = :hb, run_deadline = :rd'
      : '';
    const asyncRemoves = async
      ? ', cancel_requested, progress, heartbeat_at, completion_hash'
      : `, ${ASYNC_ATTEMPT_FIELDS.join(', ')}`;
    const asyncValues = async
      ? {
          ':async': 'async',
          ':th': async.tokenHash,
          ':rh': async.receiptHandle,
          ':rc': async.receiveCount,
          ':hb': async.heartbeatSeconds,
          ':rd': async.runDeadlineMs,
          ':tid': new Set([tokenId(async.tokenHash)]),
        }
      : {};
    const tenantSet =
      envelope.tenant_id !== undefined ? ', tenant_id = if_not_exists(tenant_id, :tenant)' : '';
    // A delivery of a published task (topics.ts) keeps what ties it to that task.
    const deliverySet =
      envelope.published_task_id !== undefined && envelope.topic !== undefined
        ? ', topic = if_not_exists(topic, :topic), published_task_id = if_not_exists(published_task_id, :pid)'
        : '';
    // The slots the attempt holds (limits.ts).
    const slotSet = slots ? ', slots = :slots' : '';
    const slotRemove = slots ? ', waiting' : ', waiting, slots';
    const out = await this.transition(
      envelope.task_id,
      r,
      { nowMs: now.getTime(), enqueueId: envelope.enqueue_id },
      {
        // A missing record means the producer's write failed after its send: create it from the envelope.
        expression:
          `SET #status = ${statusPlaceholder(r.to)}, attempts = if_not_exists(attempts, :zero) + :one, lease_until = :lease, ` +
          'updated_at = :now, started_at = if_not_exists(started_at, :now), #type = if_not_exists(#type, :type), ' +
          'priority = if_not_exists(priority, :priority), created_at = if_not_exists(created_at, :created), ' +
          'enqueue_id = if_not_exists(enqueue_id, :eid), request_hash = if_not_exists(request_hash, :hash), ' +
          `${r.marker} = :cid${tenantSet}${deliverySet}${slotSet}${asyncSets} REMOVE retry_at${slotRemove}${asyncRemoves}` +
          (async ? ' ADD callback_tokens :tid' : ''),
        names: { '#type': 'type' },
        values: {
          ...asyncValues,
          ...(envelope.tenant_id !== undefined && { ':tenant': envelope.tenant_id }),
          ...(deliverySet && { ':topic': envelope.topic, ':pid': envelope.published_task_id }),
          ...(slots && { ':slots': { keys: [...slots.keys], holder: slots.holder } }),
          [statusPlaceholder(r.to)]: r.to,
          ':eid': envelope.enqueue_id,
          ':lease': async ? async.leaseUntilMs : now.getTime() + leaseSeconds * 1000,
          ':now': iso,
          ':zero': 0,
          ':one': 1,
          ':type': envelope.type,
          ':priority': envelope.priority,
          ':created': envelope.created_at,
          ':hash': envelope.request_hash ?? '',
          ':cid': claimId,
        },
        // The whole record: the answer carries `attempts_base` too (retry-policy.ts `isLastAttempt`).
        returnValues: 'ALL_NEW',
      },
    );
    if (out.applied) {
      const written = unmarshall(out.attributes ?? {});
      return {
        claimed: true,
        attempt: Number(written.attempts),
        attemptsBase: Number(written.attempts_base ?? 0),
        recordBytes: itemBytes(written),
      };
    }
    if (out.current && isOwnWrite(r, out.current, claimId))
      return {
        claimed: true,
        attempt: out.current.attempts,
        attemptsBase: out.current.attempts_base ?? 0,
        recordBytes: itemBytes(out.current),
      };
    if (out.current) return { claimed: false, current: out.current };
    // A claim creates a missing record, so a refusal always has one to return; without it there is no answer.
    throw out.error;
  }

  /** Settles the attempt `attempt` if it still holds the claim. */
  private async settle(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Record<string, unknown>,
  ): Promise<boolean>;
  private async settle(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Record<string, unknown>,
    returnValues: 'ALL_NEW',
  ): Promise<TaskRecord | undefined>;
  private async settle(
    r: TransitionRule,
    taskId: string,
    attempt: number,
    now: Date,
    fields: Record<string, unknown>,
    returnValues?: 'ALL_NEW',
  ): Promise<boolean | TaskRecord | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':next': r.to, ':now': now.toISOString() };
    const sets = ['#status = :next', 'updated_at = :now'];
    // A success clears the error an earlier attempt left, so that the record does not read as a failure, and keeps
    // its result in one attribute only.
    const removes = ['lease_until'];
    if (r.to === TaskStatus.SUCCEEDED) {
      names['#error'] = 'error';
      removes.push('#error');
      for (const attribute of RESULT_ATTRIBUTES) {
        if (attribute in fields) continue;
        names[`#${attribute}`] = attribute;
        removes.push(`#${attribute}`);
      }
    }
    for (const [key, value] of Object.entries(fields)) {
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    const out = await this.transition(
      taskId,
      r,
      { nowMs: now.getTime(), attempt },
      { expression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`, names, values, returnValues },
    );
    if (returnValues === undefined) return out.applied;
    return out.applied ? toRecord(out.attributes) : undefined;
  }

  public async succeed(
    taskId: string,
    attempt: number,
    result: unknown,
    now: Date,
    expiresAt: number,
    recordBytes?: number,
  ) {
    const stored = await this.storedResult(taskId, attempt, result, recordBytes);
    return this.settle(TRANSITIONS.succeed, taskId, attempt, now, {
      [stored.attribute]: stored.value,
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  public retry(taskId: string, attempt: number, error: TaskError, now: Date, retryAtMs: number) {
    return this.settle(TRANSITIONS.retry, taskId, attempt, now, { error, retry_at: retryAtMs });
  }

  public fail(taskId: string, attempt: number, error: TaskError, now: Date, expiresAt: number) {
    return this.settle(TRANSITIONS.fail, taskId, attempt, now, {
      error,
      finished_at: now.toISOString(),
      expires_at: expiresAt,
    });
  }

  public async wait(
    taskId: string,
    status: typeof TaskStatus.QUEUED | typeof TaskStatus.RETRYING,
    enqueueId: string,
    waiting: TaskWaiting,
    now: Date,
  ): Promise<boolean> {
    const out = await this.transition(
      taskId,
      waitRule(status),
      { nowMs: now.getTime(), enqueueId },
      { expression: 'SET waiting = :waiting', values: { ':waiting': waiting } },
    );
    return out.applied;
  }

  public async adopt(
    taskId: string,
    attempt: number,
    receiptHandle: string,
    receiveCount: number,
    now: Date,
  ): Promise<boolean> {
    const out = await this.transition(
      taskId,
      TRANSITIONS.adopt,
      { nowMs: now.getTime(), attempt },
      {
        expression: 'SET receipt_handle = :rh, receive_count = :rc',
        values: { ':rh': receiptHandle, ':rc': receiveCount },
      },
    );
    return out.applied;
  }

  public async heartbeat(
    taskId: string,
    attempt: number,
    now: Date,
    leaseUntilMs: number,
    progress: TaskProgress | undefined,
  ): Promise<TaskRecord | undefined> {
    const out = await this.transition(
      taskId,
      TRANSITIONS.heartbeat,
      { nowMs: now.getTime(), attempt },
      {
        expression: `SET lease_until = :lease, heartbeat_at = :now, updated_at = :now${progress ? ', progress = :progress' : ''}`,
        values: {
          ':lease': leaseUntilMs,
          ':now': now.toISOString(),
          ...(progress && { ':progress': progress }),
        },
        returnValues: 'ALL_NEW',
      },
    );
    return out.applied ? toRecord(out.attributes) : undefined;
  }

  public async requestCancel(taskId: string, attempt: number, now: Date): Promise<TaskRecord | undefined> {
    const out = await this.transition(
      taskId,
      TRANSITIONS.requestCancel,
      { nowMs: now.getTime(), attempt },
      {
        expression: 'SET cancel_requested = :yes, updated_at = :now',
        values: { ':yes': true, ':now': now.toISOString() },
        returnValues: 'ALL_NEW',
      },
    );
    return out.applied ? toRecord(out.attributes) : undefined;
  }

  public async finishAsync(
    taskId: string,
    attempt: number,
    ending: AsyncEnding,
    now: Date,
    lease: 'held' | 'expired',
  ): Promise<TaskRecord | undefined> {
    const r = asyncEndingRule(ending.status, lease);
    const fields: Record<string, unknown> = {};
    if (ending.status === TaskStatus.SUCCEEDED) {
      const stored = await this.storedResult(taskId, attempt, ending.result, ending.recordBytes);
      fields[stored.attribute] = stored.value;
    } else fields.error = ending.error;
    if (ending.status === TaskStatus.RETRYING) fields.retry_at = ending.retryAtMs;
    else Object.assign(fields, { finished_at: now.toISOString(), expires_at: ending.expiresAt });
    if (ending.completionHash !== undefined) fields.completion_hash = ending.completionHash;
    const written = await this.settle(r, taskId, attempt, now, fields, 'ALL_NEW');
    // The result just written, as it was given: no read of the bucket for what the caller already has.
    return written && ending.status === TaskStatus.SUCCEEDED
      ? { ...written, result: written.result ?? parseExactJson(JSON.stringify(ending.result ?? null)) }
      : written;
  }

  public async abandon(
    target: DeadLetterTarget,
    error: TaskError,
    now: Date,
    opts: { redriveGraceSeconds: number; expiresAt: number },
  ): Promise<boolean> {
    const r = TRANSITIONS.abandon;
    const out = await this.transition(
      target.taskId,
      r,
      {
        nowMs: now.getTime(),
        enqueueId: target.enqueueId,
        redriveGraceEnd: redriveGraceEnd(now, opts.redriveGraceSeconds),
      },
      {
        expression:
          `SET #status = ${statusPlaceholder(r.to)}, #error = :error, updated_at = :now, finished_at = :now, expires_at = :exp ` +
          'REMOVE lease_until',
        names: { '#error': 'error' },
        values: {
          [statusPlaceholder(r.to)]: r.to,
          ':error': error,
          ':now': now.toISOString(),
          ':exp': opts.expiresAt,
        },
      },
    );
    return out.applied;
  }

  public async requeue(taskId: string, now: Date): Promise<RequeueResult> {
    const r = TRANSITIONS.requeue;
    const out = await this.transition(
      taskId,
      r,
      { nowMs: now.getTime() },
      {
        expression:
          `SET #status = ${statusPlaceholder(r.to)}, redriven_at = :now, updated_at = :now, ` +
          'redrive_count = if_not_exists(redrive_count, :zero) + :one, attempts_base = attempts ' +
          `REMOVE finished_at, expires_at, lease_until, retry_at, callback_tokens, waiting, slots, ${ASYNC_ATTEMPT_FIELDS.join(', ')}`,
        values: { [statusPlaceholder(r.to)]: r.to, ':now': now.toISOString(), ':zero': 0, ':one': 1 },
        returnValues: 'ALL_NEW',
      },
    );
    return out.applied
      ? { requeued: true, record: toRecord(out.attributes)! }
      : { requeued: false, current: out.current };
  }

  /** Like `claim`, writes a fresh `cancel_id`, so that a retried call recognises its own cancellation. */
  public async cancel(taskId: string, now: Date, expiresAt: number) {
    const r = TRANSITIONS.cancel;
    const cancelId = randomUUID();
    const out = await this.transition(
      taskId,
      r,
      { nowMs: now.getTime() },
      {
        expression: `SET #status = ${statusPlaceholder(r.to)}, updated_at = :now, finished_at = :now, expires_at = :exp, ${r.marker} = :cid`,
        values: {
          [statusPlaceholder(r.to)]: r.to,
          ':now': now.toISOString(),
          ':exp': expiresAt,
          ':cid': cancelId,
        },
        returnValues: 'ALL_NEW',
      },
    );
    if (out.applied) return { cancelled: toRecord(out.attributes)! };
    if (isOwnWrite(r, out.current, cancelId)) return { cancelled: out.current! };
    return { current: out.current };
  }
}
