import {
  EVENT_OVERHEAD_BYTES,
  isPayloadObjectKey,
  LAMBDA_SYNC_REQUEST_BYTES,
  LARGEST_MAX_BODY_BYTES,
  MAX_INLINE_MESSAGE_BYTES,
  payloadGoesToObject,
  payloadObjectKey,
} from '../../../lambda/core/payload-storage';

const TASK = '00000000-0000-4000-8000-000000000001';
const ENQUEUE = '00000000-0000-4000-8000-000000000002';

describe('Rule: where a payload travels', () => {
  it('keeps a payload in its message up to 7 SQS billing chunks, and puts it in the bucket from the 8th on', () => {
    expect(MAX_INLINE_MESSAGE_BYTES).toBe(7 * 65_536);
    expect(payloadGoesToObject(MAX_INLINE_MESSAGE_BYTES)).toBe(false);
    expect(payloadGoesToObject(MAX_INLINE_MESSAGE_BYTES + 1)).toBe(true);
    expect(payloadGoesToObject(1024)).toBe(false);
  });

  it('prices the break-even: from 8 chunks, a send and a receive of the message cost more than the object', () => {
    // US$ per million: SQS $0.40 a 64 KiB chunk, sent and received once; S3 PUT $5, GET $0.40
    const inline = (chunks: number) => 2 * chunks * 0.4;
    const object = inline(1) + 5 + 0.4;
    expect(inline(7)).toBeLessThan(object);
    expect(inline(8)).toBeGreaterThan(object);
  });

  it('takes a body of LARGEST_MAX_BODY_BYTES that is all escapes inside a Lambda request, with the event around it', () => {
    // Prepare: the worst JSON body for the event: every character a quote, escaped to two bytes
    const body = '"'.repeat(LARGEST_MAX_BODY_BYTES);

    // Act
    const event = JSON.stringify({ body });

    // Assess
    expect(Buffer.byteLength(event)).toBeLessThanOrEqual(
      LAMBDA_SYNC_REQUEST_BYTES - EVENT_OVERHEAD_BYTES + 16,
    );
    expect(LARGEST_MAX_BODY_BYTES).toBe(3_112_960);
  });

  it('names a payload object by task and enqueue id, and knows its keys from any other', () => {
    const key = payloadObjectKey(TASK, ENQUEUE);
    expect(key).toBe(`payloads/${TASK}/${ENQUEUE}.json`);
    expect(isPayloadObjectKey(key)).toBe(true);
    for (const other of ['results/x.json', `payloads/${TASK}/../secret.json`, 42, '', `payloads/${TASK}`]) {
      expect(isPayloadObjectKey(other)).toBe(false);
    }
  });
});
