import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsTaskSender, SqsTierQueue } from '../../../lambda/adapters/sqs-queues';
import { isSqsText, parseExactJson } from '../../../lambda/core/json-text';
import { envelopeMessage, messageBytes, SQS_MAX_MESSAGE_BYTES } from '../../../lambda/core/queue-message';
import type { TaskEnvelope } from '../../../lambda/core/task';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'eu-west-1' });
const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

const envelope = (payload: Record<string, unknown>): TaskEnvelope => ({
  schema_version: 1,
  task_id: TASK_ID,
  enqueue_id: 'e1',
  type: 'echo',
  priority: 'low',
  payload,
  created_at: '2026-01-01T00:00:00.000Z',
  request_hash: 'hash',
});

/** The input of the only SendMessage call. */
function sent(): SendMessageCommandInput {
  const calls = sqs.commandCalls(SendMessageCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input;
}

/** Every String attribute value of a SendMessage input. */
const attributeValues = (input: SendMessageCommandInput) =>
  Object.values(input.MessageAttributes ?? {}).map((a) => a.StringValue ?? '');

/** The size SQS checks, computed from what was sent. */
const sentBytes = (input: SendMessageCommandInput) =>
  messageBytes({
    body: input.MessageBody ?? '',
    attributes: Object.fromEntries(
      Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
    ),
  });

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
});

describe('Class: SqsTaskSender', () => {
  it('sends a body SQS accepts, with U+FFFF escaped and every number literal as sent', async () => {
    // Prepare
    const payload = parseExactJson('{"x":"\uffff","text":"great 😀","n":9007199254740993,"big":1e400}');
    const sender = new SqsTaskSender(client, { high: 'high-url', low: 'low-url' });

    // Act
    await sender.send('low', envelopeMessage(envelope(payload as Record<string, unknown>)), 0);

    // Assess
    const input = sent();
    expect(input.QueueUrl).toBe('low-url');
    expect(isSqsText(input.MessageBody!)).toBe(true);
    expect(input.MessageBody).toContain('"x":"\\uffff"');
    expect(input.MessageBody).toContain('"n":9007199254740993,"big":1e400');
    expect(input.MessageAttributes).toEqual({ task_id: { DataType: 'String', StringValue: TASK_ID } });
    expect(input).not.toHaveProperty('MessageGroupId');
  });

  it('sends a task with a tenant_id with the tenant as its MessageGroupId, for SQS fair queues', async () => {
    // Prepare
    const sender = new SqsTaskSender(client, { high: 'high-url', low: 'low-url' });

    // Act
    await sender.send('high', envelopeMessage({ ...envelope({}), tenant_id: 'acme:eu-1' }), 5);

    // Assess
    const input = sent();
    expect(input).toMatchObject({ QueueUrl: 'high-url', DelaySeconds: 5, MessageGroupId: 'acme:eu-1' });
    expect(parseExactJson(input.MessageBody!)).toMatchObject({ tenant_id: 'acme:eu-1' });
  });
});

describe('Class: SqsTierQueue', () => {
  const queue = new SqsTierQueue(client, 'queue-url', 'dlq-url');

  it("sends a dead letter with the task's tenant as its MessageGroupId, and one without a tenant with none", async () => {
    // Act
    await queue.deadLetter('{}', { code: 'AgentRejected', message: 'm' }, TASK_ID, 'acme');
    await queue.deadLetter('{}', { code: 'AgentRejected', message: 'm' }, TASK_ID);

    // Assess
    const inputs = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(inputs.map((input) => input.QueueUrl)).toEqual(['dlq-url', 'dlq-url']);
    expect(inputs[0]!.MessageGroupId).toBe('acme');
    expect(inputs[1]).not.toHaveProperty('MessageGroupId');
  });

  it.each([
    ['NUL', 'agent said \u0000'],
    ['ESC colour codes', '\u001b[31mfailed\u001b[0m'],
    ['U+FFFF', 'bad \uffff'],
    ['a surrogate half left by cutting', `${'x'.repeat(10)}\ud83d`],
  ])('writes an error_message holding %s as valid SQS text', async (_name, message) => {
    // Act
    await queue.deadLetter('{}', { code: 'AgentRejected', message }, TASK_ID);

    // Assess
    const input = sent();
    expect(input.QueueUrl).toBe('dlq-url');
    for (const value of attributeValues(input)) expect(isSqsText(value)).toBe(true);
  });

  it('cuts error_message to 1,024 code points without splitting a surrogate pair', async () => {
    // Act
    await queue.deadLetter('{}', { code: 'AgentRejected', message: `x${'😀'.repeat(2000)}` }, TASK_ID);

    // Assess
    const value = sent().MessageAttributes!.error_message!.StringValue!;
    expect([...value]).toHaveLength(1024);
    expect(isSqsText(value)).toBe(true);
  });

  it('writes error_code and task_id as valid SQS text too', async () => {
    // Act
    await queue.deadLetter('{}', { code: 'Bad\u0000Code\uffff', message: 'm' }, TASK_ID);

    // Assess
    const input = sent();
    expect(input.MessageAttributes!.task_id!.StringValue).toBe(TASK_ID);
    for (const value of attributeValues(input)) expect(isSqsText(value)).toBe(true);
  });

  it('keeps the DLQ copy of a body near 1 MiB within the SQS limit by cutting error_message', async () => {
    // Prepare
    const body = JSON.stringify({ x: 'y'.repeat(SQS_MAX_MESSAGE_BYTES - 1000) });

    // Act
    await queue.deadLetter(body, { code: 'AgentRejected', message: '€'.repeat(1024) }, TASK_ID);

    // Assess
    const input = sent();
    expect(input.MessageBody).toBe(body);
    expect(sentBytes(input)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(input.MessageAttributes!.error_message!.StringValue).toMatch(/^€+$/);
  });
});

describe('Class: SqsTierQueue, sendAll', () => {
  const queue = new SqsTierQueue(client, 'queue-url', 'dlq-url');

  /** `n` messages of about `bytes` each, every one its own task, the odd ones with a tenant. */
  const messages = (n: number, bytes = 10) =>
    Array.from({ length: n }, (_, i) =>
      envelopeMessage({
        ...envelope({ n: i, pad: 'x'.repeat(bytes) }),
        task_id: `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`,
        ...(i % 2 === 1 && { tenant_id: 'acme' }),
      }),
    );
  const batchInputs = () => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);

  beforeEach(() => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  it('sends every message to the tier queue in batches of at most 10, each with its body, attributes and group', async () => {
    // Prepare
    const all = messages(23);

    // Act
    await queue.sendAll(all);

    // Assess
    const inputs = batchInputs();
    expect(inputs.map((i) => i.Entries?.length)).toEqual([10, 10, 3]);
    for (const input of inputs) {
      expect(input.QueueUrl).toBe('queue-url');
      const ids = input.Entries!.map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const entries = inputs.flatMap((i) => i.Entries!);
    expect(entries.map((e) => e.MessageBody)).toEqual(all.map((m) => m.body));
    expect(entries.map((e) => e.MessageAttributes?.task_id?.StringValue)).toEqual(
      all.map((m) => m.attributes.task_id),
    );
    expect(entries.map((e) => e.MessageGroupId)).toEqual(all.map((m) => m.groupId));
    expect(entries[0]).not.toHaveProperty('MessageGroupId');
    expect(entries.some((e) => 'DelaySeconds' in e)).toBe(false);
  });

  it('keeps each batch within the 1 MiB SQS checks', async () => {
    // Prepare: each message is a little over a third of the limit, so two fit in a batch and three do not.
    const all = messages(5, Math.ceil(SQS_MAX_MESSAGE_BYTES / 3));

    // Act
    await queue.sendAll(all);

    // Assess
    const inputs = batchInputs();
    expect(inputs.map((i) => i.Entries?.length)).toEqual([2, 2, 1]);
    for (const input of inputs) {
      const bytes = input.Entries!.reduce(
        (sum, e) =>
          sum +
          messageBytes({
            body: e.MessageBody ?? '',
            attributes: Object.fromEntries(
              Object.entries(e.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
            ),
          }),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    }
  });

  it('sends nothing for no messages', async () => {
    // Act
    await queue.sendAll([]);

    // Assess
    expect(batchInputs()).toEqual([]);
  });

  it('sends the entries SQS refused once more, and only those', async () => {
    // Prepare
    const all = messages(3);
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Failed: [] });

    // Act
    await queue.sendAll(all);

    // Assess
    const inputs = batchInputs();
    expect(inputs).toHaveLength(2);
    expect(inputs[1]!.Entries!.map((e) => e.MessageBody)).toEqual([all[1]!.body]);
  });

  it('throws, naming what SQS said, when an entry is refused twice', async () => {
    // Prepare
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'InternalError', Message: 'try again', SenderFault: false }] });

    // Act / Assess
    await expect(queue.sendAll(messages(2))).rejects.toThrow(
      /SQS refused 1 of 1 messages: InternalError try again/,
    );
    expect(batchInputs()).toHaveLength(2);
  });

  it('throws when a batch call itself fails', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));

    // Act / Assess
    await expect(queue.sendAll(messages(2))).rejects.toThrow('network');
  });
});

describe('Class: SqsTierQueue, resendAll', () => {
  const queue = new SqsTierQueue(client, 'queue-url', 'dlq-url');
  const resends = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      message: envelopeMessage({
        ...envelope({ n: i }),
        task_id: `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`,
      }),
      delaySeconds: i + 1,
    }));
  const batchInputs = () => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);

  it('sends the messages in batches of at most 10, each entry with its own delay', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const all = resends(12);

    // Act
    const answers = await queue.resendAll(all);

    // Assess
    expect(answers).toEqual(all.map(() => undefined));
    const inputs = batchInputs();
    expect(inputs.map((i) => [i.QueueUrl, i.Entries?.length])).toEqual([
      ['queue-url', 10],
      ['queue-url', 2],
    ]);
    const entries = inputs.flatMap((i) => i.Entries!);
    expect(entries.map((e) => [e.MessageBody, e.DelaySeconds])).toEqual(
      all.map((r) => [r.message.body, r.delaySeconds]),
    );
  });

  it('answers, in order, the error of each entry SQS refused twice, and nothing for the others', async () => {
    // Prepare
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Failed: [{ Id: '0', Code: 'InternalError', Message: 'again', SenderFault: false }] });

    // Act
    const answers = await queue.resendAll(resends(3));

    // Assess
    expect(answers.map((a) => a?.message)).toEqual([
      undefined,
      'SQS refused 1 of 1 messages: InternalError again',
      undefined,
    ]);
    expect(batchInputs()[1]!.Entries!.map((e) => e.DelaySeconds)).toEqual([2]);
  });

  it('answers the call’s error for every entry of a batch call that failed, without throwing', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));

    // Act
    const answers = await queue.resendAll(resends(2));

    // Assess
    expect(answers.map((a) => a?.message)).toEqual(['network', 'network']);
  });
});
