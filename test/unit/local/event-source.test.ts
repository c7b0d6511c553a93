import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { recordsToDelete, SqsEventSource, sqsEventSources } from '../../../local/event-source';
import { localContext } from './local-context';

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

describe('Function: sqsEventSources', () => {
  const queueArn = { 'Fn::GetAtt': ['WorkQueue', 'Arn'] };
  const ctx = localContext({
    WorkQueue: { Type: 'AWS::SQS::Queue' },
    Consumer: { Type: 'AWS::Lambda::Function' },
    FromQueue: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: queueArn,
        FunctionName: { Ref: 'Consumer' },
        BatchSize: 5,
        MaximumBatchingWindowInSeconds: 2,
        ScalingConfig: { MaximumConcurrency: 50 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
    FromStream: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s', FunctionName: 'x' },
    },
  });

  it("reads each SQS mapping's settings, capped at the function's environments, and reports the rest", () => {
    // Act
    const named: string[] = [];
    const { sources, notEmulated } = sqsEventSources(ctx, {
      sqs: new SQSClient({ region: 'us-east-1' }),
      functions: (name, where) => {
        named.push(`${where} → ${name}`);
        return { invoke: async () => ({ ok: true, result: null }) };
      },
      maxWorkers: 4,
      log: () => {},
    });

    // Assess
    expect(sources.map((s) => s.settings)).toEqual([
      {
        logicalId: 'FromQueue',
        queueUrl: 'http://127.0.0.1:4566/000000000000/Local-WorkQueue',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:Local-WorkQueue',
        region: 'us-east-1',
        batchSize: 5,
        maxBatchingWindowSeconds: 2,
        maxConcurrency: 4,
        reportBatchItemFailures: true,
        enabled: true,
      },
    ]);
    expect(named).toEqual(['FromQueue → Local-Consumer']);
    expect(notEmulated).toEqual([
      'FromStream (event source arn:aws:kinesis:us-east-1:000000000000:stream/s)',
    ]);
  });

  it('runs an SQS mapping with FilterCriteria unfiltered, and lists its filter as not emulated', () => {
    // Arrange
    const filtered = localContext({
      WorkQueue: { Type: 'AWS::SQS::Queue' },
      Consumer: { Type: 'AWS::Lambda::Function' },
      Filtered: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: queueArn,
          FunctionName: { Ref: 'Consumer' },
          FilterCriteria: { Filters: [{ Pattern: '{"body":{"kind":["a"]}}' }] },
        },
      },
    });

    // Act
    const { sources, notEmulated } = sqsEventSources(filtered, {
      sqs: new SQSClient({ region: 'us-east-1' }),
      functions: () => ({ invoke: async () => ({ ok: true, result: null }) }),
      maxWorkers: 4,
      log: () => {},
    });

    // Assess
    expect(sources.map((s) => s.settings.logicalId)).toEqual(['Filtered']);
    expect(notEmulated).toEqual([
      'Filtered (FilterCriteria of an SQS event source: not applied, every message reaches the function)',
    ]);
  });
});

describe('Class: SqsEventSource', () => {
  it("hands the function each message's attributes as Lambda does (a waiting task's `waits` count)", async () => {
    // Prepare: a queue that returns one message, then nothing until the source stops
    let received = false;
    const sqs = {
      send: (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        if (!(command instanceof ReceiveMessageCommand))
          return Promise.resolve({ Successful: [{ Id: '0' }] });
        if (!received) {
          received = true;
          return Promise.resolve({
            Messages: [
              {
                MessageId: 'm1',
                ReceiptHandle: 'rh-1',
                Body: '{}',
                Attributes: { ApproximateReceiveCount: '1' },
                MessageAttributes: {
                  task_id: { DataType: 'String', StringValue: 't-1' },
                  waits: { DataType: 'String', StringValue: '3' },
                },
              },
            ],
          });
        }
        return new Promise((_, reject) =>
          options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    } as unknown as SQSClient;
    const events: Array<{ Records: SQSRecord[] }> = [];
    let invoked: () => void = () => {};
    const done = new Promise<void>((resolve) => (invoked = resolve));
    const source = new SqsEventSource(
      {
        logicalId: 'FromQueue',
        queueUrl: 'http://127.0.0.1:1/000000000000/work',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:work',
        region: 'us-east-1',
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 1,
        reportBatchItemFailures: true,
        enabled: true,
      },
      sqs,
      async (event) => {
        events.push(event);
        invoked();
        return { ok: true, result: { batchItemFailures: [] } };
      },
      () => {},
    );

    // Act
    source.start();
    await done;
    await source.stop();

    // Assess
    expect(events[0]?.Records[0]?.messageAttributes).toEqual({
      task_id: { dataType: 'String', stringValue: 't-1', stringListValues: [], binaryListValues: [] },
      waits: { dataType: 'String', stringValue: '3', stringListValues: [], binaryListValues: [] },
    });
  });

  it('counts its ReceiveMessage calls, the empty ones among them, and its DeleteMessageBatch calls', async () => {
    // Prepare: a queue that holds two messages, then none
    let receives = 0;
    let deleted = 0;
    const sqs = {
      send: async (command: unknown) => {
        if (command instanceof ReceiveMessageCommand) {
          receives++;
          if (receives === 1) {
            return {
              Messages: ['a', 'b'].map((id) => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: '{}' })),
            };
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
          return {};
        }
        if (command instanceof DeleteMessageBatchCommand) {
          deleted += command.input.Entries?.length ?? 0;
          return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) ?? [] };
        }
        throw new Error('unexpected command');
      },
    } as unknown as SQSClient;
    const source = new SqsEventSource(
      {
        logicalId: 'FromQueue',
        queueUrl: 'http://127.0.0.1:4566/000000000000/q',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
        region: 'us-east-1',
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 1,
        reportBatchItemFailures: true,
        enabled: true,
      },
      sqs,
      async () => ({ ok: true, result: { batchItemFailures: [] } }),
      () => {},
    );

    // Act
    source.start();
    while (deleted < 2 || receives < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await source.stop();

    // Assess
    expect(source.stats).toEqual(
      expect.objectContaining({
        succeeded: 2,
        receiveCalls: receives,
        emptyReceiveCalls: receives - 1,
        deleteBatchCalls: 1,
      }),
    );
  });

  it('gathers the messages that arrive within a 1 s batching window into one batch, though ReceiveMessage waits whole seconds', async () => {
    // Prepare: a queue whose three messages arrive 0, 100 and 300 ms after the first receive, then no more. A
    // receive answers at once with what has arrived, or waits up to its WaitTimeSeconds for a message, as SQS does.
    const arrivalsMs = [0, 100, 300];
    let firstReceiveAt: number | undefined;
    let taken = 0;
    const arrived = () => arrivalsMs.filter((ms) => Date.now() - firstReceiveAt! >= ms).length;
    const sqs = {
      send: async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        if (command instanceof DeleteMessageBatchCommand) {
          return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) ?? [] };
        }
        if (!(command instanceof ReceiveMessageCommand)) throw new Error('unexpected command');
        firstReceiveAt ??= Date.now();
        const waitUntil = Date.now() + (command.input.WaitTimeSeconds ?? 0) * 1000;
        while (arrived() === taken && Date.now() < waitUntil) {
          if (options?.abortSignal?.aborted) throw new Error('aborted');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const from = taken;
        taken = arrived();
        return {
          Messages: arrivalsMs.slice(from, taken).map((_, i) => ({
            MessageId: `m${from + i}`,
            ReceiptHandle: `rh-${from + i}`,
            Body: '{}',
          })),
        };
      },
    } as unknown as SQSClient;
    const batches: number[] = [];
    const source = new SqsEventSource(
      {
        logicalId: 'FromQueue',
        queueUrl: 'http://127.0.0.1:4566/000000000000/q',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
        region: 'us-east-1',
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 1,
        reportBatchItemFailures: true,
        enabled: true,
      },
      sqs,
      async (event) => {
        batches.push(event.Records.length);
        return { ok: true, result: { batchItemFailures: [] } };
      },
      () => {},
    );

    // Act
    source.start();
    while (source.stats.succeeded < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await source.stop();

    // Assess: one invocation with all three
    expect(batches).toEqual([3]);
  });
});
