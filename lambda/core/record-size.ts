/**
 * The largest task record the table may have to hold. A task record is one DynamoDB item, and DynamoDB refuses
 * an item over 400 KB, counting the UTF-8 bytes of every attribute name and value. A SUCCEEDED record holds
 * the agent's result as JSON text (up to `maxResultBytes`) beside its other attributes; the payload is not
 * stored (it travels in the SQS message only). Synth refuses a `maxResultBytes` that cannot fit with every
 * other attribute at its limit, so that a result within the limit is never refused by DynamoDB instead.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */

import { MAX_TOPIC_SUBSCRIBERS } from '../contract/topics';
import { MAX_DEAD_LETTER_ERROR_CHARS, MAX_ERROR_CHARS, MAX_ERROR_CODE_CHARS } from './agent-outcome';
import { MAX_PROGRESS_MESSAGE_BYTES, TOKEN_ID_CHARS } from './async-attempt';
import { HOLDER_SUFFIX_CHARS, LimitReason } from './limits';
import { RESULT_OBJECT_KEY_BYTES, SETTLED_ADDED_BYTES } from './result-storage';
import { MAX_RECEIVE_COUNT_LIMIT } from './retry-policy';
import { PRIORITIES, type TaskRecord, TaskStatus } from './task';

/** 400 KB, as DynamoDB counts it. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 409_600;

/** A number of up to 38 significant digits: one byte per two digits, plus one. */
const NUMBER_BYTES = 21;
/** `2026-01-01T00:00:00.000Z`. */
const ISO_TIME_BYTES = 24;
const UUID_BYTES = 36;
/** UTF-8 takes at most 4 bytes for a code point. */
const MAX_BYTES_PER_CHAR = 4;
/** An error code is cut to MAX_ERROR_CODE_CHARS code points (agent-outcome.ts; a Lambda agent's errorType). */
const ERROR_CODE_BYTES = MAX_ERROR_CODE_CHARS * MAX_BYTES_PER_CHAR;
/**
 * An error message is cut to MAX_ERROR_CHARS code points, or, when the sweep stores a DLQ copy's
 * `error_message`, to MAX_DEAD_LETTER_ERROR_CHARS (agent-outcome.ts).
 */
const ERROR_MESSAGE_BYTES = Math.max(MAX_ERROR_CHARS, MAX_DEAD_LETTER_ERROR_CHARS) * MAX_BYTES_PER_CHAR;

/**
 * SQS does not publish a receipt handle's longest length; handles seen are a few hundred characters. 1 KiB is
 * the bound assumed here.
 */
const RECEIPT_HANDLE_BYTES = 1024;

const utf8 = (text: string) => Buffer.byteLength(text);
const longest = (values: readonly string[]) => Math.max(...values.map(utf8));

/** A map: 3 bytes, plus each element's name and value, plus one byte per element. */
function mapBytes(entries: Readonly<Record<string, number>>): number {
  return 3 + Object.entries(entries).reduce((sum, [name, value]) => sum + utf8(name) + value + 1, 0);
}

/**
 * The largest value of every attribute but `result`, in bytes. Typed over every key of TaskRecord, so a new
 * attribute cannot be added to the record without a bound here.
 */
const VALUE_BYTES: { readonly [K in Exclude<keyof TaskRecord, 'result'>]-?: number } = {
  task_id: UUID_BYTES,
  type: 64, // the task contract's type pattern allows 64 ASCII characters
  priority: longest(PRIORITIES),
  tenant_id: 128, // the task contract's tenant_id pattern allows 128 ASCII characters
  topic: 64, // a topic name follows the type pattern
  // A list: 3 bytes, plus each subscriber (a type) and a byte.
  subscribers: 3 + MAX_TOPIC_SUBSCRIBERS * (64 + 1),
  published_task_id: UUID_BYTES,
  status: longest(Object.values(TaskStatus)),
  attempts: NUMBER_BYTES,
  created_at: ISO_TIME_BYTES,
  updated_at: ISO_TIME_BYTES,
  started_at: ISO_TIME_BYTES,
  finished_at: ISO_TIME_BYTES,
  error: mapBytes({ code: ERROR_CODE_BYTES, message: ERROR_MESSAGE_BYTES }),
  request_hash: 64, // a SHA-256 digest: 43 characters in base64url, 64 in hex
  enqueue_id: UUID_BYTES,
  lease_until: NUMBER_BYTES,
  retry_at: NUMBER_BYTES,
  redriven_at: ISO_TIME_BYTES,
  redrive_count: NUMBER_BYTES,
  expires_at: NUMBER_BYTES,
  claim_id: UUID_BYTES,
  cancel_id: UUID_BYTES,
  agent_mode: utf8('async'),
  token_hash: 64,
  // One entry per async attempt since the last redrive: at most SQS's largest maxReceiveCount, each a 32-character
  // hash prefix plus a byte.
  callback_tokens: 3 + MAX_RECEIVE_COUNT_LIMIT * (TOKEN_ID_CHARS + 1),
  receipt_handle: RECEIPT_HANDLE_BYTES,
  receive_count: NUMBER_BYTES,
  heartbeat_seconds: NUMBER_BYTES,
  run_deadline: NUMBER_BYTES,
  heartbeat_at: ISO_TIME_BYTES,
  progress: mapBytes({ percent: NUMBER_BYTES, message: MAX_PROGRESS_MESSAGE_BYTES }),
  cancel_requested: 1,
  completion_hash: 64,
  waiting: mapBytes({
    reason: longest(Object.values(LimitReason)),
    since: ISO_TIME_BYTES,
  }),
  // The counter keys, the agent's (`agent#` and its type) and the tenant's (`tenant#` and its id), each with a
  // byte of list overhead, and the holder id (a task id, `/`, 12 hex characters).
  slots: mapBytes({
    keys: 3 + utf8('tenant#') + 128 + 1 + utf8('agent#') + 64 + 1,
    holder: UUID_BYTES + 1 + HOLDER_SUFFIX_CHARS,
  }),
  attempts_base: NUMBER_BYTES,
  result_object: RESULT_OBJECT_KEY_BYTES,
};

/** Bytes of every attribute but `result`, names included, each at its largest. */
export const RECORD_OVERHEAD_BYTES = Object.entries(VALUE_BYTES).reduce(
  (sum, [name, value]) => sum + utf8(name) + value,
  0,
);

/** The largest `maxResultBytes` whose record still fits one DynamoDB item. */
export const MAX_STORABLE_RESULT_BYTES = DYNAMODB_ITEM_LIMIT_BYTES - RECORD_OVERHEAD_BYTES - utf8('result');

/** The largest item a task record with a result of `maxResultBytes` bytes of JSON text can become. */
export function largestRecordBytes(maxResultBytes: number): number {
  return RECORD_OVERHEAD_BYTES + utf8('result') + maxResultBytes;
}

/**
 * Lambda's limit on a synchronous response (and request) payload: 6 MB. `GET /tasks/{id}` answers a result inline,
 * and an async agent's completion carries one in its request.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6_291_456;

/**
 * The largest `maxResultBytes` when results above the inline limit go to the results bucket (result-storage.ts):
 * the response of `GET /tasks/{id}` must fit Lambda's 6 MB. The handler's answer carries the view as a JSON string
 * inside Lambda's JSON response, where each `"` and `\` of the result's text is escaped again, so a result takes
 * up to twice its bytes there; the record's other fields are bounded by `RECORD_OVERHEAD_BYTES`, twice over too.
 */
export const LARGEST_MAX_RESULT_BYTES =
  Math.floor((LAMBDA_SYNC_PAYLOAD_BYTES - 2 * RECORD_OVERHEAD_BYTES) / 2 / 1024) * 1024;

/**
 * DynamoDB's size of an item, from the record as read (strings, numbers, booleans, sets, lists, maps, binary).
 * Numbers count a byte per two significant digits, plus one.
 */
export function itemBytes(item: object): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => (value === undefined ? sum : sum + utf8(name) + valueBytes(value)),
    0,
  );
}

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/^-/, '').replace(/e.*$/i, '').replace('.', '');
    const significant = digits.replace(/^0+/, '').replace(/0+$/, '').length || 1;
    return Math.ceil(significant / 2) + 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + valueBytes(v) + 1, 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (sum, [name, v]) => (v === undefined ? sum : sum + utf8(name) + valueBytes(v) + 1),
        0,
      )
    );
  }
  return utf8(String(value));
}

/**
 * The bytes of the record a successful write leaves, but for its result (result-storage.ts `otherBytes`): the
 * record as read (`record`, a claimed one), without any result, plus what the write adds.
 */
export function settledOtherBytes(record: TaskRecord): number {
  const { result: _result, result_object: _object, ...rest } = record;
  return itemBytes(rest) + SETTLED_ADDED_BYTES;
}
