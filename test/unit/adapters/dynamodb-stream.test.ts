import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { streamWrite } from '../../../lambda/adapters/dynamodb-stream';
import { TASK_ID } from '../../support/fixtures';

const item = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'low',
  status: 'SUCCEEDED',
  attempts: 2,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  callback_tokens: new Set(['a', 'b']),
  result: '{"n":9007199254740993}',
};
const image = (value: Record<string, unknown>) => marshall(value) as never;

describe('Function: streamWrite', () => {
  it('reads both images of a MODIFY as task records, numbers and sets included', () => {
    // Prepare
    const record: DynamoDBRecord = {
      eventName: 'MODIFY',
      dynamodb: {
        SequenceNumber: '42',
        OldImage: image({ ...item, status: 'RUNNING' }),
        NewImage: image(item),
      },
    };

    // Act
    const write = streamWrite(record);

    // Assess
    expect(write.sequenceNumber).toBe('42');
    expect(write.oldRecord?.status).toBe('RUNNING');
    expect(write.newRecord).toMatchObject({ attempts: 2, status: 'SUCCEEDED' });
    expect(write.newRecord?.callback_tokens).toEqual(new Set(['a', 'b']));
  });

  it('has no old record for an INSERT', () => {
    // Act
    const write = streamWrite({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: '1', NewImage: image(item) },
    });

    // Assess
    expect(write.oldRecord).toBeUndefined();
    expect(write.newRecord?.task_id).toBe(TASK_ID);
  });

  it('has no new record for a REMOVE (a TTL expiry)', () => {
    // Act
    const write = streamWrite({
      eventName: 'REMOVE',
      dynamodb: { SequenceNumber: '2', OldImage: image(item) },
    });

    // Assess
    expect(write.newRecord).toBeUndefined();
    expect(write.oldRecord?.status).toBe('SUCCEEDED');
  });

  it('throws on a record without a sequence number, which no batch item failure could name', () => {
    // Assess
    expect(() => streamWrite({ eventName: 'MODIFY', dynamodb: { NewImage: image(item) } })).toThrow(
      'sequence number',
    );
  });
});
