/**
 * POST /tasks. Message first, record second:
 *
 * 1. With an idempotency key, read the record; if it exists, this is a replay (200) or a conflict (409).
 * 2. Send the envelope to the tier queue. If that fails, nothing exists yet: 503, and a retry is safe.
 * 3. Write the record with attribute_not_exists. If a concurrent request with the same key won, our
 *    message carries a losing `enqueue_id` and consumers acknowledge it without running it. If the write
 *    fails for another reason, the message is already queued and the consumer creates the missing record
 *    from the envelope: the task runs once, and a retry with the same key finds it.
 *
 * So a record exists only when its message was sent (no QUEUED task without a message), and every
 * agent execution needs a successful conditional claim on the one record (never run twice).
 *
 * A topic's type publishes the task (topics.ts): the message is a publish message, which its tier's consumer fans
 * out into one delivery per subscriber, and the record is the published record. The size check then measures the
 * largest delivery message too, so that every delivery fits where the publish message did.
 *
 * A payload whose message would be large is put in the task bucket first, and the message names its object
 * (payload-storage.ts): if the put fails, nothing was sent (503, and a retry is safe).
 *
 * The type check comes after the replay check: a replay of an accepted task is a 200 even if its type was
 * removed since. The size check measures the message as SQS will (escapes included) before sending: a task
 * that cannot fit is the client's 413, never a 503 that every retry would meet again.
 */

import type { TopicSubscribers } from '../contract/topics';
import { ApiErrorCode } from './error-codes';
import { HttpError, serviceUnavailable } from './errors';
import { newTaskId, requestHash, taskIdForKey } from './idempotency';
import { toSqsJson } from './json-text';
import { payloadGoesToObject, payloadObjectKey } from './payload-storage';
import type { TaskSender, TaskStore } from './ports';
import { envelopeMessage, MAX_ENVELOPE_BODY_BYTES } from './queue-message';
import type { Submission } from './submission';
import {
  ENVELOPE_SCHEMA_VERSION,
  OBJECT_PAYLOAD_SCHEMA_VERSION,
  type TaskEnvelope,
  type TaskRecord,
  TaskStatus,
  type TaskView,
  toTaskView,
} from './task';
import { viewOf } from './task-status';
import { deliveryEnvelopes, publishedExpiresAt, publishedRecord, publishedView } from './topics';

export interface EnqueueDeps {
  readonly store: TaskStore;
  readonly sender: TaskSender;
  readonly isRegistered: (type: string) => boolean;
  /**
   * The configured topics: a submission whose type is one of them is published to its subscribers. A published
   * record stays twice `retentionSeconds` (how long a finished task stays in the table; topics.ts).
   */
  readonly publish?: { readonly topics: TopicSubscribers; readonly retentionSeconds: number };
  /**
   * The task bucket, where a payload too large to travel in its message cheaply is put (payload-storage.ts).
   * Without it, every payload travels in its message, up to SQS's limit.
   */
  readonly payloads?: { put(key: string, text: string): Promise<void> };
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export type EnqueueResult =
  | { readonly outcome: 'created'; readonly task: TaskView }
  | { readonly outcome: 'replayed'; readonly task: TaskView };

async function replay(store: TaskStore, existing: TaskRecord, hash: string): Promise<EnqueueResult> {
  if (existing.request_hash !== undefined && existing.request_hash !== hash) {
    throw new HttpError(
      ApiErrorCode.IdempotencyConflict,
      'this idempotency key was already used with a different request body',
    );
  }
  return { outcome: 'replayed', task: await viewOf(store, existing) };
}

export async function enqueueTask(submission: Submission, deps: EnqueueDeps): Promise<EnqueueResult> {
  const now = (deps.now ?? (() => new Date()))();
  const newId = deps.newId ?? newTaskId;
  const hash = requestHash(submission);
  const taskId = submission.idempotencyKey !== undefined ? taskIdForKey(submission.idempotencyKey) : newId();

  const topics = deps.publish?.topics ?? {};
  const subscribers = Object.hasOwn(topics, submission.type) ? topics[submission.type] : undefined;
  const isRegistered = (type: string) => subscribers !== undefined || deps.isRegistered(type);
  const unknownType = () =>
    new HttpError(
      ApiErrorCode.UnknownTaskType,
      `no agent or topic is registered for task type '${submission.type}'`,
      [{ path: '/type', message: 'is not a registered task type or topic' }],
    );
  if (submission.idempotencyKey !== undefined) {
    const existing = await deps.store.get(taskId).catch((error: unknown) => {
      // Bad input never gets a 5xx: a type that cannot run is refused even while the store is down.
      if (!isRegistered(submission.type)) throw unknownType();
      throw serviceUnavailable('the task store is unavailable; retry with the same idempotency key', error);
    });
    if (existing) return replay(deps.store, existing, hash);
  }
  if (!isRegistered(submission.type)) throw unknownType();

  const createdAt = now.toISOString();
  const inlineEnvelope: TaskEnvelope = {
    schema_version: ENVELOPE_SCHEMA_VERSION,
    task_id: taskId,
    enqueue_id: newId(),
    type: submission.type,
    priority: submission.priority,
    payload: submission.payload,
    created_at: createdAt,
    request_hash: hash,
    ...(submission.tenantId !== undefined && { tenant_id: submission.tenantId }),
    ...(subscribers !== undefined && { subscribers }),
  };
  // Serialised once: the size check and the send use the same message.
  const largestBodyBytes = (e: TaskEnvelope, m: { body: string }) =>
    Math.max(
      Buffer.byteLength(m.body),
      ...deliveryEnvelopes(e).map((delivery) => Buffer.byteLength(envelopeMessage(delivery).body)),
    );
  let envelope = inlineEnvelope;
  let message = envelopeMessage(envelope);
  let bodyBytes = largestBodyBytes(envelope, message);
  if (deps.payloads && payloadGoesToObject(bodyBytes)) {
    const key = payloadObjectKey(taskId, inlineEnvelope.enqueue_id);
    try {
      await deps.payloads.put(key, toSqsJson(submission.payload));
    } catch (error) {
      throw serviceUnavailable(
        'the task could not be queued (its payload could not be stored); nothing was accepted, so retrying is safe',
        error,
      );
    }
    envelope = {
      ...inlineEnvelope,
      schema_version: OBJECT_PAYLOAD_SCHEMA_VERSION,
      payload: {},
      payload_object: key,
    };
    message = envelopeMessage(envelope);
    bodyBytes = largestBodyBytes(envelope, message);
  }
  if (bodyBytes > MAX_ENVELOPE_BODY_BYTES) {
    throw new HttpError(
      ApiErrorCode.PayloadTooLarge,
      `the task's queue message would be ${bodyBytes} bytes once encoded for SQS; the limit is ${MAX_ENVELOPE_BODY_BYTES} bytes`,
    );
  }
  try {
    await deps.sender.send(submission.priority, message, submission.delaySeconds);
  } catch (error) {
    throw serviceUnavailable(
      'the task could not be queued; nothing was accepted, so retrying is safe',
      error,
    );
  }

  const record: TaskRecord =
    subscribers !== undefined
      ? publishedRecord(envelope, publishedExpiresAt(now, deps.publish?.retentionSeconds ?? 0))
      : {
          task_id: taskId,
          type: submission.type,
          priority: submission.priority,
          ...(submission.tenantId !== undefined && { tenant_id: submission.tenantId }),
          status: TaskStatus.QUEUED,
          attempts: 0,
          created_at: createdAt,
          updated_at: createdAt,
          request_hash: hash,
          enqueue_id: envelope.enqueue_id,
        };
  const view = (r: TaskRecord): TaskView =>
    r.subscribers !== undefined
      ? publishedView({ ...r, subscribers: r.subscribers }, new Map())
      : toTaskView(r);
  let created: Awaited<ReturnType<TaskStore['create']>>;
  try {
    created = await deps.store.create(record);
  } catch (error) {
    // The message is queued and will run: the consumer creates the record from the envelope.
    throw serviceUnavailable(
      'the task was queued but its status record could not be written; retry with the same idempotency key to learn its id',
      error,
    );
  }
  // A consumer that claims our own message before this write creates the record from the envelope:
  // the task is still ours, so it is a creation (202), not a replay.
  if (!created.created && created.existing.enqueue_id === envelope.enqueue_id) {
    return { outcome: 'created', task: view(record) };
  }
  if (!created.created) return replay(deps.store, created.existing, hash);
  return { outcome: 'created', task: view(record) };
}
