import { SendMessageCommand, type SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
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
