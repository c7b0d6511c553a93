/** The queue message's envelope, read back: what the consumer and the dead-letter sweep parse a message body with. */
import { TaskErrorCode } from './error-codes';
import { parseExactJson, toDouble } from './json-text';
import { isPayloadObjectKey } from './payload-storage';
import { NEWEST_ENVELOPE_SCHEMA_VERSION, TASK_ID_PATTERN, type TaskEnvelope, type TaskError } from './task';

/**
 * Parses a queue message. Fields the consumer does not know are ignored, so the envelope can grow. The payload
 * keeps every number literal's digits (json-text.ts), so an HTTP agent receives it exactly as it was sent.
 */
export function parseEnvelope(body: string): TaskEnvelope | TaskError {
  let value: unknown;
  try {
    value = parseExactJson(body);
  } catch {
    return { code: TaskErrorCode.MalformedMessage, message: 'the message body is not JSON' };
  }
  if (value !== null && typeof value === 'object' && 'schema_version' in value) {
    // The version is read by value: `1.0` is version 1.
    value = { ...value, schema_version: toDouble(value.schema_version) };
  }
  const v = value as Partial<TaskEnvelope> | null;
  if (
    v === null ||
    typeof v !== 'object' ||
    typeof v.schema_version !== 'number' ||
    typeof v.task_id !== 'string' ||
    !TASK_ID_PATTERN.test(v.task_id) ||
    typeof v.enqueue_id !== 'string' ||
    typeof v.type !== 'string' ||
    (v.priority !== 'high' && v.priority !== 'low') ||
    typeof v.payload !== 'object' ||
    v.payload === null ||
    typeof v.created_at !== 'string' ||
    (v.tenant_id !== undefined && typeof v.tenant_id !== 'string') ||
    // A publish message's fan-out reads its subscribers, a delivery's claim its topic (topics.ts).
    (v.subscribers !== undefined &&
      (!Array.isArray(v.subscribers) || v.subscribers.some((s) => typeof s !== 'string'))) ||
    (v.topic !== undefined && typeof v.topic !== 'string') ||
    (v.published_task_id !== undefined && typeof v.published_task_id !== 'string') ||
    (v.payload_object !== undefined && !isPayloadObjectKey(v.payload_object))
  ) {
    return { code: TaskErrorCode.MalformedMessage, message: 'the message is not a task envelope' };
  }
  if (Math.trunc(v.schema_version) > NEWEST_ENVELOPE_SCHEMA_VERSION) {
    return {
      code: TaskErrorCode.UnsupportedEnvelope,
      message: `envelope schema_version ${v.schema_version} is newer than this consumer (${NEWEST_ENVELOPE_SCHEMA_VERSION})`,
    };
  }
  return v as TaskEnvelope;
}
