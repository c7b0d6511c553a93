import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { peekDeadLetters } from '../../../lambda/adapters/sqs-queues';
import type { DeadLetter } from '../../../lambda/core/sweep';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'eu-west-1' });
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/high-dlq';

const message = (n: number): Message => ({
  MessageId: `m${n}`,
  ReceiptHandle: `r${n}`,
  Body: JSON.stringify({ task_id: `t${n}` }),
});
const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => message(from + i));

/** A DLQ of `total` messages that hands out up to `MaxNumberOfMessages` of them per receive. */
function dlqOf(total: number): void {
  let next = 0;
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: String(total) } });
  sqs.on(ReceiveMessageCommand).callsFake((input: ReceiveMessageCommandInput) => {
    const count = Math.min(input.MaxNumberOfMessages ?? 1, total - next);
    const out = batch(next, count);
    next += count;
    return { Messages: out };
  });
}

async function peek(opts: { maxMessages?: number; deadlineMs?: number; now?: () => number } = {}) {
  const letters: DeadLetter[] = [];
  for await (const letterBatch of peekDeadLetters(client, QUEUE_URL, {
    maxMessages: opts.maxMessages ?? 10_000,
    deadlineMs: opts.deadlineMs ?? Date.now() + 60_000,
    waitSeconds: 5,
    ...(opts.now && { now: opts.now }),
  })) {
    letters.push(...letterBatch);
  }
  return letters;
}

const receives = () => sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input);

describe('Function: peekDeadLetters', () => {
  afterEach(() => {
    sqs.reset();
  });

  it('reads a DLQ of more than 1,000 messages whole', async () => {
    // Prepare
    dlqOf(1_500);

    // Act
    const letters = await peek();

    // Assess
    expect(letters).toHaveLength(1_500);
    expect(new Set(letters.map((l) => l.body)).size).toBe(1_500);
  });

  it('long-polls, so that an empty answer means the DLQ has nothing visible', async () => {
    // Prepare
    dlqOf(25);

    // Act
    await peek();

    // Assess
    expect(receives().length).toBeGreaterThan(0);
    for (const input of receives()) expect(input.WaitTimeSeconds).toBeGreaterThan(0);
  });

  it('keeps receiving after an answer of fewer than 10 messages', async () => {
    // Prepare: SQS may answer a receive with fewer messages than asked for while more are there
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '12' } });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: batch(0, 3) })
      .resolvesOnce({ Messages: batch(3, 9) })
      .resolves({});

    // Act
    const letters = await peek();

    // Assess
    expect(letters).toHaveLength(12);
  });

  it('stops once it has seen ApproximateNumberOfMessages messages, without a last empty wait', async () => {
    // Prepare
    dlqOf(20);

    // Act
    await peek();

    // Assess
    expect(receives()).toHaveLength(2);
  });

  it('does not receive from a DLQ that reports no messages', async () => {
    // Prepare
    dlqOf(0);

    // Act
    const letters = await peek();

    // Assess
    expect(letters).toEqual([]);
    expect(receives()).toHaveLength(0);
  });

  it('stops at an empty long poll when the count was too high', async () => {
    // Prepare: the count is approximate
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '50' } });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: batch(0, 10) })
      .resolves({});

    // Act
    const letters = await peek();

    // Assess
    expect(letters).toHaveLength(10);
    expect(receives()).toHaveLength(2);
  });

  it('counts a message it receives twice once', async () => {
    // Prepare
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '11' } });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: batch(0, 10) })
      .resolvesOnce({ Messages: batch(9, 2) })
      .resolves({});

    // Act
    const letters = await peek();

    // Assess
    expect(letters.map((l) => JSON.parse(l.body).task_id)).toEqual(batch(0, 11).map((_, i) => `t${i}`));
  });

  it('stops at maxMessages', async () => {
    // Prepare
    dlqOf(100);

    // Act
    const letters = await peek({ maxMessages: 25 });

    // Assess
    expect(letters).toHaveLength(25);
    expect(receives().map((input) => input.MaxNumberOfMessages)).toEqual([10, 10, 5]);
  });

  it('starts no receive after its deadline, and hides what it reads until then', async () => {
    // Prepare: each receive takes 20 s of a 45 s budget
    dlqOf(100);
    let clock = 1_000_000;
    sqs.on(ReceiveMessageCommand).callsFake((input: ReceiveMessageCommandInput) => {
      clock += 20_000;
      return { Messages: batch(clock, input.MaxNumberOfMessages ?? 1) };
    });

    // Act
    const letters = await peek({ deadlineMs: 1_045_000, now: () => clock });

    // Assess: receives at 0 s and 20 s; at 40 s only 5 s are left, which one more receive may still use
    expect(receives().map((input) => input.VisibilityTimeout)).toEqual([46, 26, 6]);
    expect(receives().map((input) => input.WaitTimeSeconds)).toEqual([5, 5, 5]);
    expect(letters).toHaveLength(30);
  });

  it('makes every message it hid visible again when the pass ends, 10 at a time', async () => {
    // Prepare
    dlqOf(25);

    // Act
    await peek();

    // Assess
    const releases = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
    expect(releases.map((input) => input.Entries!.length)).toEqual([10, 10, 5]);
    expect(releases.flatMap((input) => input.Entries!.map((e) => e.ReceiptHandle))).toEqual(
      batch(0, 25).map((m) => m.ReceiptHandle),
    );
    for (const entry of releases.flatMap((input) => input.Entries!)) expect(entry.VisibilityTimeout).toBe(0);
  });

  it('releases what it hid when the caller stops early', async () => {
    // Prepare
    dlqOf(25);

    // Act
    for await (const _ of peekDeadLetters(client, QUEUE_URL, {
      maxMessages: 100,
      deadlineMs: Date.now() + 60_000,
      waitSeconds: 5,
    })) {
      break;
    }

    // Assess
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(1);
  });

  it('keeps the error a consumer attached to a message it dead-lettered', async () => {
    // Prepare
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        {
          ...message(1),
          MessageAttributes: {
            error_code: { DataType: 'String', StringValue: 'ResultTooLarge' },
            error_message: { DataType: 'String', StringValue: 'too big' },
          },
        },
      ],
    });

    // Act
    const letters = await peek();

    // Assess
    expect(letters).toEqual([
      { body: message(1).Body, error: { code: 'ResultTooLarge', message: 'too big' } },
    ]);
  });
});
