/**
 * What goes into an SQS message: the body and String attributes of a task's message and of its DLQ copy,
 * and how SQS measures them. The rule is here, so the producer can refuse (413) a task whose message would
 * not fit before anything is sent, and the consumer's DLQ copy always fits a message the producer accepted.
 *
 * SQS counts the body's UTF-8 bytes plus, for every message attribute, its name, its type (`String`) and its
 * value; the total must not exceed 1 MiB.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
import { MAX_TOPIC_SUBSCRIBERS } from '../contract/topics';
import { MAX_DEAD_LETTER_ERROR_CHARS, MAX_ERROR_CODE_CHARS } from './agent-outcome';
import { requestHash } from './idempotency';
import { sqsAttributeText, toSqsJson } from './json-text';
import { ENVELOPE_SCHEMA_VERSION, type TaskEnvelope, type TaskError } from './task';

/** @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html (1 MiB) */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * SQS's longest message delay (`DelaySeconds`): the schema's `delay_seconds` maximum, and part of how late a
 * message can arrive (lib/task-tier.ts, taskRetention).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
 */
export const SQS_MAX_DELAY_SECONDS = 900;

/** SendMessageBatch takes at most this many entries, whose sizes may add up to at most {@link SQS_MAX_MESSAGE_BYTES}. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/**
 * Splits messages into SendMessageBatch calls that SQS accepts: at most {@link SQS_MAX_BATCH_ENTRIES} entries,
 * and at most {@link SQS_MAX_MESSAGE_BYTES} in all. Order is kept; a message is never split.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
export function sqsBatches<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (
      current.length > 0 &&
      (current.length === SQS_MAX_BATCH_ENTRIES || bytes + size > SQS_MAX_MESSAGE_BYTES)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A message as SendMessage takes it: every attribute is a String attribute. */
export interface QueueMessage {
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  /**
   * SendMessage's `MessageGroupId`: the task's tenant. On a standard queue it makes SQS fair queues share the
   * tier between tenants; it is not part of the size SQS checks.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html
   */
  readonly groupId?: string;
}

const STRING_TYPE = 'String';

/** Bytes of one String attribute, as SQS counts them: name, type and value. */
const attributeBytes = (name: string, value: string) =>
  Buffer.byteLength(name) + STRING_TYPE.length + Buffer.byteLength(value);

/** The size SQS checks against {@link SQS_MAX_MESSAGE_BYTES}. */
export function messageBytes(message: QueueMessage): number {
  return Object.entries(message.attributes).reduce(
    (sum, [name, value]) => sum + attributeBytes(name, value),
    Buffer.byteLength(message.body),
  );
}

/** The least of `error_code` and of `error_message` that a DLQ copy of an accepted task always has room for. */
const ERROR_TEXT_MIN_BYTES = 64;
const TASK_ID_BYTES = 36;

/**
 * Room beyond the body that a task's messages need: the DLQ copy's attributes (`task_id`, and at least
 * {@link ERROR_TEXT_MIN_BYTES} of `error_code` and of `error_message`), which is more than the task message's
 * own `task_id` attribute.
 */
const DEAD_LETTER_ATTRIBUTE_BYTES =
  attributeBytes('task_id', 'x'.repeat(TASK_ID_BYTES)) +
  attributeBytes('error_code', 'x'.repeat(ERROR_TEXT_MIN_BYTES)) +
  attributeBytes('error_message', 'x'.repeat(ERROR_TEXT_MIN_BYTES));

/** The largest envelope body the producer accepts: its message and its DLQ copy both fit in SQS. */
export const MAX_ENVELOPE_BODY_BYTES = SQS_MAX_MESSAGE_BYTES - DEAD_LETTER_ATTRIBUTE_BYTES;

/**
 * What publishing adds to an envelope at most (topics.ts): the publish message's `subscribers` (every one at the
 * longest type), or a delivery's `topic` and `published_task_id` and its `type` (the subscriber) longer than the
 * body's (the topic), whichever is more.
 */
function topicEnvelopeBytes(): number {
  const longestType = 'x'.repeat(64);
  const json = (value: object) => Buffer.byteLength(JSON.stringify(value)) - Buffer.byteLength('{}') + 1;
  const publish = json({ subscribers: Array.from({ length: MAX_TOPIC_SUBSCRIBERS }, () => longestType) });
  const delivery =
    json({ topic: longestType, published_task_id: 'x'.repeat(TASK_ID_BYTES) }) +
    Buffer.byteLength(longestType);
  return Math.max(publish, delivery);
}

/**
 * Bytes an envelope adds to the `type` and `payload` of the body it was made from: its other fields at their
 * largest (ids, `created_at`, the longer priority, the request hash, of one length), with the JSON around them.
 * A `tenant_id` takes no more bytes in the envelope than in the body, as its pattern allows no escapes.
 */
const ENVELOPE_FIXED_BYTES =
  topicEnvelopeBytes() +
  Buffer.byteLength(
    toSqsJson({
      schema_version: ENVELOPE_SCHEMA_VERSION,
      task_id: 'x'.repeat(TASK_ID_BYTES),
      enqueue_id: 'x'.repeat(TASK_ID_BYTES),
      type: '',
      priority: 'high',
      payload: {},
      created_at: '2026-01-01T00:00:00.000Z',
      request_hash: requestHash({ type: '', payload: {}, priority: 'high', delaySeconds: 0 }),
    } satisfies TaskEnvelope),
  ) -
  Buffer.byteLength('{}');

/**
 * The largest body whose task fits in one SQS message with its payload in it: the envelope holds the body's `type` and
 * `payload` in at most the bytes the body gave them, plus {@link ENVELOPE_FIXED_BYTES}, within
 * {@link MAX_ENVELOPE_BODY_BYTES}. One case still grows: a character SQS refuses (U+FFFE, U+FFFF written raw,
 * 3 bytes) becomes a 6-byte `\uXXXX` escape; a task that no longer fits then gets the producer's 413.
 */
export const LARGEST_INLINE_BODY_BYTES = MAX_ENVELOPE_BODY_BYTES - ENVELOPE_FIXED_BYTES;

/**
 * A task's message: the envelope as JSON that SQS accepts (characters it refuses are `\uXXXX` escapes, the
 * same JSON value), every number literal as sent, the task id as an attribute, and the tenant, if any, as
 * the message group.
 */
export function envelopeMessage(envelope: TaskEnvelope): QueueMessage {
  return {
    body: toSqsJson(envelope),
    attributes: { task_id: sqsAttributeText(envelope.task_id, TASK_ID_BYTES) },
    ...(envelope.tenant_id !== undefined && { groupId: envelope.tenant_id }),
  };
}

/**
 * The DLQ copy of a message, annotated with why it failed. Attribute values are valid SQS text, cut on
 * code-point boundaries, and cut further (`error_message` first) so that the copy fits in SQS whatever the
 * body: a copy that SQS refused would leave a permanent failure to run again on every delivery.
 */
/** The attribute that counts a waiting task's waits in a row (process-delivery.ts `askForSlots`). */
export const WAITS_ATTRIBUTE = 'waits';

/**
 * A task's message sent again while it waits for a limit: the same body and group, its task id, and how many
 * times in a row it has waited. The room the DLQ copy's attributes keep is more than these take.
 */
export function waitingMessage(body: string, taskId: string, waits: number, groupId?: string): QueueMessage {
  return {
    body,
    attributes: {
      task_id: sqsAttributeText(taskId, TASK_ID_BYTES),
      [WAITS_ATTRIBUTE]: String(waits),
    },
    ...(groupId !== undefined && { groupId }),
  };
}

export function deadLetterMessage(
  body: string,
  error: TaskError,
  taskId: string | undefined,
  groupId?: string,
): QueueMessage {
  let room = SQS_MAX_MESSAGE_BYTES - Buffer.byteLength(body);
  const attributes: Record<string, string> = {};
  /**
   * Adds an attribute cut to the room left, less `keep` bytes held back for the attributes after it; `whole`
   * leaves it out rather than cut it (half a task id names no task).
   */
  const add = (name: string, text: string, maxChars: number, { keep = 0, whole = false } = {}) => {
    const maxBytes = room - keep - Buffer.byteLength(name) - STRING_TYPE.length;
    if (maxBytes < 1) return;
    const value = sqsAttributeText(text, maxChars, maxBytes);
    if (whole && value !== sqsAttributeText(text, maxChars)) return;
    attributes[name] = value;
    room -= attributeBytes(name, value);
  };
  if (taskId) add('task_id', taskId, TASK_ID_BYTES, { whole: true });
  add('error_code', error.code, MAX_ERROR_CODE_CHARS, {
    keep: attributeBytes('error_message', 'x'.repeat(ERROR_TEXT_MIN_BYTES)),
  });
  add('error_message', error.message, MAX_DEAD_LETTER_ERROR_CHARS);
  return { body, attributes, ...(groupId !== undefined && { groupId }) };
}
