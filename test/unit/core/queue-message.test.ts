import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSqsText } from '../../../lambda/core/json-text';
import {
  deadLetterMessage,
  envelopeMessage,
  MAX_ENVELOPE_BODY_BYTES,
  messageBytes,
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_MESSAGE_BYTES,
  sqsBatches,
} from '../../../lambda/core/queue-message';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('Function: messageBytes', () => {
  it('counts the body and the name, type and value of every attribute in UTF-8 bytes', () => {
    // Act
    const bytes = messageBytes({ body: 'é', attributes: { k: '😀' } });

    // Assess: 2 + (1 + 6 + 4)
    expect(bytes).toBe(13);
  });
});

describe('Function: envelopeMessage', () => {
  it('carries the task id as an attribute and a body that SQS accepts', () => {
    // Act
    const message = envelopeMessage({
      schema_version: 1,
      task_id: TASK_ID,
      enqueue_id: 'e',
      type: 'echo',
      priority: 'low',
      payload: { x: '\ufffe\uffff' },
      created_at: '2026-01-01T00:00:00.000Z',
      request_hash: 'h',
    });

    // Assess
    expect(message.attributes).toEqual({ task_id: TASK_ID });
    expect(isSqsText(message.body)).toBe(true);
  });
});

describe('Function: deadLetterMessage', () => {
  it('fits the DLQ copy of the largest accepted envelope in SQS, with some of the error code and message', () => {
    // Prepare
    const body = 'b'.repeat(MAX_ENVELOPE_BODY_BYTES);

    // Act
    const message = deadLetterMessage(body, { code: '😀'.repeat(500), message: '€'.repeat(5000) }, TASK_ID);

    // Assess
    expect(messageBytes(message)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(message.attributes.task_id).toBe(TASK_ID);
    expect(Buffer.byteLength(message.attributes.error_code!)).toBeGreaterThanOrEqual(60);
    expect(Buffer.byteLength(message.attributes.error_message!)).toBeGreaterThanOrEqual(60);
  });

  it('leaves out the attributes that cannot fit beside a body of 1 MiB, rather than fail', () => {
    // Act
    const body = 'b'.repeat(SQS_MAX_MESSAGE_BYTES - 30);
    const message = deadLetterMessage(body, { code: 'Code', message: 'message' }, TASK_ID);

    // Assess
    expect(message.body).toBe(body);
    expect(messageBytes(message)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(message.attributes.task_id).toBeUndefined();
  });

  it('cuts error_code to 128 and error_message to 1,024 code points when there is room', () => {
    // Act
    const message = deadLetterMessage('{}', { code: 'c'.repeat(500), message: 'm'.repeat(5000) }, TASK_ID);

    // Assess
    expect(message.attributes.error_code).toHaveLength(128);
    expect(message.attributes.error_message).toHaveLength(1024);
  });
});

describe('Function: sqsBatches', () => {
  const size = (n: number) => n;

  it('puts at most 10 messages in a batch', () => {
    // Act
    const batches = sqsBatches(
      Array.from({ length: 23 }, () => 1),
      size,
    );

    // Assess
    expect(batches.map((b) => b.length)).toEqual([SQS_MAX_BATCH_ENTRIES, SQS_MAX_BATCH_ENTRIES, 3]);
  });

  it('keeps each batch within 1 MiB in all, in order, never splitting a message', () => {
    // Prepare: three messages of 600 KB each; two together would be refused (BatchRequestTooLong)
    const items = [600_000, 600_000, 400_000, 48_576, 1];

    // Act
    const batches = sqsBatches(items, size);

    // Assess
    expect(batches).toEqual([[600_000], [600_000, 400_000, 48_576], [1]]);
    for (const batch of batches) {
      expect(batch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    }
  });

  it('gives no batch for no messages', () => {
    expect(sqsBatches([], size)).toEqual([]);
  });
});

describe('Constant: SQS_MAX_DELAY_SECONDS', () => {
  it("is the task schema's delay_seconds maximum", () => {
    // Prepare
    const schema = JSON.parse(readFileSync(join(__dirname, '../../../schema/task.schema.json'), 'utf8')) as {
      properties: { delay_seconds: { maximum: number } };
    };

    // Assess
    expect(schema.properties.delay_seconds.maximum).toBe(SQS_MAX_DELAY_SECONDS);
  });
});
