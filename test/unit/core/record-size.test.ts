import { MAX_TOPIC_SUBSCRIBERS } from '../../../lambda/contract/topics';
import {
  MAX_DEAD_LETTER_ERROR_CHARS,
  MAX_ERROR_CHARS,
  MAX_ERROR_CODE_CHARS,
} from '../../../lambda/core/agent-outcome';
import {
  DYNAMODB_ITEM_LIMIT_BYTES,
  largestRecordBytes,
  MAX_STORABLE_RESULT_BYTES,
} from '../../../lambda/core/record-size';
import { RESULT_OBJECT_KEY_BYTES } from '../../../lambda/core/result-storage';
import type { TaskRecord } from '../../../lambda/core/task';

/** DynamoDB's item size, from its documented rules, for the attribute types a task record uses. */
function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'boolean') return 1;
  // A string set: the sum of its elements.
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/\D|^0+/g, '').length / 2) + 1;
  const entries = Object.entries(value as Record<string, unknown>);
  return 3 + entries.reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + valueBytes(v) + 1, 0);
}
const itemBytes = (item: Record<string, unknown>) =>
  Object.entries(item).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + valueBytes(v), 0);

const time = '2026-12-31T23:59:59.999Z';
const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
const big = 9_007_199_254_740_991;

/** What an async attempt adds to a record, every attribute at its largest. */
const asyncAttempt = {
  agent_mode: 'async',
  token_hash: 'f'.repeat(64),
  // SQS's largest maxReceiveCount of attempts, each a 32-character token id.
  callback_tokens: new Set(Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(32, '0'))),
  receipt_handle: 'r'.repeat(1024),
  receive_count: big,
  heartbeat_seconds: big,
  run_deadline: big,
  heartbeat_at: time,
  progress: { percent: 99.99999999999999, message: '€'.repeat(341) + 'x' },
  cancel_requested: true,
  completion_hash: 'c'.repeat(64),
} as const;

/** The limiter's fields at their largest: the longest reason, both counter keys at their longest, a big base. */
const limited = {
  waiting: { reason: 'TenantConcurrencyLimit', since: time },
  slots: {
    keys: [`agent#${'t'.repeat(64)}`, `tenant#${'n'.repeat(128)}`],
    holder: `${uuid}/${'f'.repeat(12)}`,
  },
  attempts_base: Number.MAX_SAFE_INTEGER,
} as const;

/** JSON text of exactly `bytes` UTF-8 bytes, mostly of 3-byte characters. */
function textOfBytes(bytes: number): string {
  const text = `"${'€'.repeat(Math.floor((bytes - 2) / 3))}"`;
  return text + ' '.repeat(bytes - Buffer.byteLength(text));
}

describe('Module: record-size', () => {
  it('keeps a record with every attribute at its largest, and a result of the largest size, within one item', () => {
    // Prepare: a result stored as JSON text of MAX_STORABLE_RESULT_BYTES bytes
    const record: Required<Omit<TaskRecord, 'result'>> & { result: string } = {
      task_id: uuid,
      type: 't'.repeat(64),
      priority: 'high',
      tenant_id: 'n'.repeat(128),
      topic: 'p'.repeat(64),
      subscribers: Array.from({ length: MAX_TOPIC_SUBSCRIBERS }, (_, i) => `${i}`.padEnd(64, 's')),
      published_task_id: uuid,
      status: 'SUCCEEDED',
      attempts: big,
      created_at: time,
      updated_at: time,
      started_at: time,
      finished_at: time,
      result: textOfBytes(MAX_STORABLE_RESULT_BYTES),
      error: { code: 'AgentHttp503', message: '€'.repeat(1024) },
      request_hash: 'h'.repeat(64),
      enqueue_id: uuid,
      lease_until: big,
      retry_at: big,
      redriven_at: time,
      redrive_count: big,
      expires_at: big,
      claim_id: uuid,
      cancel_id: uuid,
      result_object: 'k'.repeat(RESULT_OBJECT_KEY_BYTES),
      ...asyncAttempt,
      ...limited,
    };

    // Act
    const size = itemBytes(record);

    // Assess
    expect(Buffer.byteLength(record.result)).toBe(MAX_STORABLE_RESULT_BYTES);
    expect(size).toBeLessThanOrEqual(largestRecordBytes(MAX_STORABLE_RESULT_BYTES));
    expect(largestRecordBytes(MAX_STORABLE_RESULT_BYTES)).toBe(DYNAMODB_ITEM_LIMIT_BYTES);
  });

  it('bounds an error code and message of the most code points of 4 bytes each that a record can be given', () => {
    // Prepare: a SUCCEEDED record cannot have an error, but the bound covers every attribute at its largest
    const error = {
      code: '😀'.repeat(MAX_ERROR_CODE_CHARS),
      message: '😀'.repeat(Math.max(MAX_ERROR_CHARS, MAX_DEAD_LETTER_ERROR_CHARS)),
    };
    const record = {
      task_id: uuid,
      type: 't'.repeat(64),
      priority: 'high',
      tenant_id: 'n'.repeat(128),
      topic: 'p'.repeat(64),
      subscribers: Array.from({ length: MAX_TOPIC_SUBSCRIBERS }, (_, i) => `${i}`.padEnd(64, 's')),
      published_task_id: uuid,
      status: 'SUCCEEDED',
      attempts: big,
      created_at: time,
      updated_at: time,
      started_at: time,
      finished_at: time,
      result: textOfBytes(MAX_STORABLE_RESULT_BYTES),
      error,
      request_hash: 'h'.repeat(64),
      enqueue_id: uuid,
      lease_until: big,
      retry_at: big,
      redriven_at: time,
      redrive_count: big,
      expires_at: big,
      claim_id: uuid,
      cancel_id: uuid,
      result_object: 'k'.repeat(RESULT_OBJECT_KEY_BYTES),
      ...asyncAttempt,
      ...limited,
    } satisfies Required<Omit<TaskRecord, 'result'>> & { result: string };

    // Act
    const size = itemBytes(record);

    // Assess
    expect(size).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT_BYTES);
  });
});
