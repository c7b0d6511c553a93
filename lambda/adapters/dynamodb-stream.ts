/** The task table's stream records, read as the old and new task records of one committed write. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { EventRecord } from '../core/task-events';

export interface StreamWrite {
  /** The record's sequence number: what a batch item failure names, so the stream retries from it. */
  readonly sequenceNumber: string;
  /** Before the write; undefined for an INSERT. */
  readonly oldRecord?: EventRecord;
  /** After the write; undefined for a REMOVE (a TTL expiry or a delete). */
  readonly newRecord?: EventRecord;
}

/**
 * Decodes one stream record. Results stay as stored (a JSON string): events never carry them, so they are not
 * parsed. Throws when the record has no sequence number, which a Lambda stream record always has.
 */
export function streamWrite(record: DynamoDBRecord): StreamWrite {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (!sequenceNumber) throw new Error('the stream record has no sequence number');
  const image = (value: unknown): EventRecord | undefined =>
    value === undefined ? undefined : (unmarshall(value as Record<string, AttributeValue>) as EventRecord);
  return {
    sequenceNumber,
    oldRecord: image(record.dynamodb?.OldImage),
    newRecord: record.eventName === 'REMOVE' ? undefined : image(record.dynamodb?.NewImage),
  };
}
