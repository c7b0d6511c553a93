/**
 * Plain values as DynamoDB attribute values, as `marshall` of @aws-sdk/util-dynamodb writes them with
 * `removeUndefinedValues` and `convertClassInstanceToMap`, for the expression values of the task store's conditional
 * writes (dynamodb-task-store.ts `transition`).
 *
 * Strings and safe integers, nearly all of a write's values, are written here directly: `marshall` checks each
 * number against NaN and the infinities by building and searching an array of their names, and walks every value
 * through its generic converter. On a claim's 15 values it took 4.6 µs against 0.5 µs here (Node 24, hot). Every
 * other value (a fraction, a set, a map, binary, null, a number `marshall` refuses) goes to its converter, which
 * gives the same attribute, or throws the same error.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';

const OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;

export function toAttributeValues(values: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (typeof value === 'string') out[name] = { S: value };
    else if (typeof value === 'number' && Number.isSafeInteger(value)) out[name] = { N: String(value) };
    else out[name] = convertToAttr(value, OPTIONS);
  }
  return out;
}
