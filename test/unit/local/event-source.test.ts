import type { SQSRecord } from 'aws-lambda';
import { recordsToDelete } from '../../../local/event-source';

const records = ['m1', 'm2', 'm3'].map(
  (messageId) => ({ messageId, receiptHandle: `rh-${messageId}` }) as SQSRecord,
);
const ids = (rs: readonly SQSRecord[]) => rs.map((r) => r.messageId);

describe('Function: recordsToDelete', () => {
  it('deletes only the successes of a batch with reported item failures', () => {
    const outcome = { ok: true as const, result: { batchItemFailures: [{ itemIdentifier: 'm2' }] } };
    expect(ids(recordsToDelete(records, outcome, true))).toEqual(['m1', 'm3']);
  });

  it('deletes the whole batch when the function reports no failures', () => {
    expect(ids(recordsToDelete(records, { ok: true, result: { batchItemFailures: [] } }, true))).toHaveLength(
      3,
    );
    expect(ids(recordsToDelete(records, { ok: true, result: null }, true))).toHaveLength(3);
  });

  it('deletes nothing when the function throws or times out', () => {
    const error = { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 75.00 seconds' };
    expect(recordsToDelete(records, { ok: false, error, timedOut: true }, true)).toEqual([]);
    expect(recordsToDelete(records, { ok: false, error, timedOut: false }, false)).toEqual([]);
  });

  it('deletes nothing when a reported failure names no record of the batch, as Lambda does', () => {
    const outcome = { ok: true as const, result: { batchItemFailures: [{ itemIdentifier: 'other' }] } };
    expect(recordsToDelete(records, outcome, true)).toEqual([]);
    expect(recordsToDelete(records, { ok: true, result: { batchItemFailures: [{}] } }, true)).toEqual([]);
  });

  it('ignores batchItemFailures when the mapping does not report item failures', () => {
    const outcome = { ok: true as const, result: { batchItemFailures: [{ itemIdentifier: 'm2' }] } };
    expect(ids(recordsToDelete(records, outcome, false))).toHaveLength(3);
  });
});
