/**
 * The local SQS (fauxqs, patched by local/fauxqs-patches.ts) is at least as strict as SQS, so that what
 * passes locally works on AWS: the character rule on bodies and String attributes, batch limits, receipt
 * handles; and the local event source keeps within them. AWS's answers are in /work/shared/aws-behaviour.md.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { SqsEventSource } from '../../local/event-source';
import { eventually, type RunningAwsEmulator, startAwsEmulatorProcess } from './support/local-runtime';

jest.setTimeout(60_000);

let emulator: RunningAwsEmulator;
let sqs: SQSClient;

beforeAll(async () => {
  emulator = await startAwsEmulatorProcess();
  sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  sqs?.destroy();
  await emulator?.stop();
});

async function newQueue(attributes: Record<string, string> = {}) {
  const name = `strict-${randomUUID().slice(0, 8)}`;
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return { name, url: out.QueueUrl! };
}

/** The error name (code) SQS answers a call with. */
async function errorOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return (error as Error).name;
  }
}

async function depth(url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

describe('local SQS: the character rule', () => {
  it('accepts a body with characters outside the Basic Multilingual Plane, as SQS does', async () => {
    const { url } = await newQueue();
    const body = '{"text":"great 😀 𝄞 \u{10FFFF}"}';
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(out.Messages?.[0]?.Body).toBe(body);
  });

  it.each([
    ['U+FFFF', 'a\uFFFFb'],
    ['NUL', 'a\u0000b'],
    ['a lone surrogate', 'a\uD83Db'],
  ])('refuses a body with %s with InvalidMessageContents', async (_, body) => {
    const { url } = await newQueue();
    expect(await errorOf(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body })))).toBe(
      'InvalidMessageContents',
    );
  });

  it.each([
    ['ESC', '\u001b[31mred'],
    ['U+FFFF', 'x\uFFFF'],
    ['a lone surrogate', 'cut \uD83D'],
  ])('refuses a String attribute value with %s with InvalidParameterValue', async (_, value) => {
    const { url } = await newQueue();
    const send = sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{}',
        MessageAttributes: { error_message: { DataType: 'String', StringValue: value } },
      }),
    );
    expect(await errorOf(send)).toBe('InvalidParameterValue');
    expect(await depth(url)).toBe(0);
  });

  it('accepts a String attribute value with an emoji', async () => {
    const { url } = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{}',
        MessageAttributes: { note: { DataType: 'String', StringValue: 'ok 😀' } },
      }),
    );
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ['All'] }));
    expect(out.Messages?.[0]?.MessageAttributes?.note?.StringValue).toBe('ok 😀');
  });

  it('fails only the batch entry whose attribute SQS refuses', async () => {
    const { url } = await newQueue();
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'good', MessageBody: '{}' },
          {
            Id: 'bad',
            MessageBody: '{}',
            MessageAttributes: { e: { DataType: 'String', StringValue: '\u0000' } },
          },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['good']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue' })]);
  });
});

describe('local SQS: batch limits', () => {
  it('refuses DeleteMessageBatch with more than 10 entries (TooManyEntriesInBatchRequest)', async () => {
    const { url } = await newQueue();
    const entries = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: randomUUID() }));
    expect(await errorOf(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries })))).toBe(
      'TooManyEntriesInBatchRequest',
    );
  });

  it('deletes every message of a batch of 25 that the function handled', async () => {
    // Prepare
    const { url } = await newQueue();
    for (let i = 0; i < 25; i += 5) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 5 }, (_, j) => ({ Id: `m${j}`, MessageBody: `{"n":${i + j}}` })),
        }),
      );
    }
    const handled: number[] = [];
    const log: string[] = [];
    const source = new SqsEventSource(
      {
        logicalId: 'Batch25',
        queueUrl: url,
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:batch25',
        region: 'us-east-1',
        batchSize: 25,
        maxBatchingWindowSeconds: 2,
        maxConcurrency: 1,
        reportBatchItemFailures: true,
        enabled: true,
      },
      sqs,
      async (event) => {
        handled.push(event.Records.length);
        return { ok: true, result: { batchItemFailures: [] } };
      },
      (line) => log.push(line),
    );

    // Act
    source.start();
    try {
      await eventually(
        async () => (source.stats.succeeded >= 25 ? true : undefined),
        'deleting 25 messages',
        20_000,
      );
    } finally {
      await source.stop();
    }

    // Assess
    expect(handled.reduce((a, b) => a + b, 0)).toBe(25);
    expect(log.filter((line) => line.includes('delete failed'))).toEqual([]);
    expect(await depth(url)).toBe(0);
  });
});

describe('local SQS: receipt handles', () => {
  async function received(url: string, visibilityTimeout = 30) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        VisibilityTimeout: visibilityTimeout,
        WaitTimeSeconds: 2,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return out.Messages![0]!;
  }

  it('refuses ChangeMessageVisibility with the handle of an earlier receive (InvalidParameterValue)', async () => {
    const { url } = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{}' }));
    const first = await received(url, 1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await received(url);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    const change = sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first.ReceiptHandle,
        VisibilityTimeout: 60,
      }),
    );
    expect(await errorOf(change)).toBe('InvalidParameterValue');
  });

  it('refuses ChangeMessageVisibility for a deleted message (InvalidParameterValue)', async () => {
    const { url } = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{}' }));
    const message = await received(url);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    const change = sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect(await errorOf(change)).toBe('InvalidParameterValue');
  });

  it('refuses a malformed receipt handle (ReceiptHandleIsInvalid), and accepts a stale one on DeleteMessage', async () => {
    const { url } = await newQueue();
    expect(
      await errorOf(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' }))),
    ).toBe('ReceiptHandleIsInvalid');
    expect(
      await errorOf(
        sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: 'garbage',
            VisibilityTimeout: 1,
          }),
        ),
      ),
    ).toBe('ReceiptHandleIsInvalid');
    // A standard queue accepts DeleteMessage with a handle whose message is gone.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: randomUUID() }));
  });
});

describe('local SQS: duplicate deliveries', () => {
  it('gives a duplicate a new receipt handle and the receive count + 1; deleting one copy deletes the message', async () => {
    // Prepare
    const { name, url } = await newQueue({ VisibilityTimeout: '2' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"n":1}' }));
    const records: SQSRecord[] = [];
    let bothRunning: () => void = () => {};
    const running = new Promise<void>((resolve) => (bothRunning = resolve));
    let changed = 0;
    let bothChanged: () => void = () => {};
    const changedBoth = new Promise<void>((resolve) => (bothChanged = resolve));
    const source = new SqsEventSource(
      {
        logicalId: 'Duplicates',
        queueUrl: url,
        queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
        region: 'us-east-1',
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 2,
        reportBatchItemFailures: true,
        enabled: true,
      },
      sqs,
      async (event) => {
        records.push(...event.Records);
        if (records.length === 2) bothRunning();
        await running;
        // While both copies are in flight, each one's handle is valid.
        for (const record of event.Records) {
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: record.receiptHandle,
              VisibilityTimeout: 2,
            }),
          );
        }
        changed += 1;
        if (changed === 2) bothChanged();
        await changedBoth;
        return { ok: true, result: { batchItemFailures: [] } };
      },
      () => {},
      async (message) =>
        records.length === 0
          ? ((await emulator.duplicate(name, message.ReceiptHandle!)) ?? undefined)
          : undefined,
    );

    // Act
    source.start();
    try {
      await eventually(
        async () => (source.stats.succeeded >= 2 ? true : undefined),
        'handling both copies',
        20_000,
      );
    } finally {
      await source.stop();
    }

    // Assess
    expect(records).toHaveLength(2);
    const [first, copy] = records;
    expect(copy!.messageId).toBe(first!.messageId);
    expect(copy!.receiptHandle).not.toBe(first!.receiptHandle);
    expect(first!.attributes.ApproximateReceiveCount).toBe('1');
    expect(copy!.attributes.ApproximateReceiveCount).toBe('2');
    // The message does not come back after the visibility timeout of either copy.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await depth(url)).toBe(0);
  });
});
