import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { TaskRecord } from '../../../lambda/core/task';
import { context, streamRecord } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler.
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:events';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/unpublished';
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'SILENT';
process.env.EVENTS_TOPIC_ARN = TOPIC_ARN;
process.env.UNPUBLISHED_EVENTS_QUEUE_URL = QUEUE_URL;
process.env.EVENT_TRANSITIONS = 'SUCCEEDED,FAILED,CANCELLED';
const { handler } =
  require('../../../lambda/handlers/event-publisher') as typeof import('../../../lambda/handlers/event-publisher');

const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

const taskId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function task(n: number, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: taskId(n),
    type: 'echo',
    priority: 'low',
    status: 'RUNNING',
    attempts: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:01.000Z',
    ...overrides,
  };
}

const finished = (n: number, sequence = `seq-${n}`) =>
  streamRecord(sequence, 'MODIFY', task(n), task(n, { status: 'SUCCEEDED', result: '{"ok":true}' }));

const invoke = (records: DynamoDBRecord[]) => handler({ Records: records } as DynamoDBStreamEvent, context);

/** SNS takes every entry but those of the given tasks. */
function snsRefuses(...refused: number[]) {
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    const entries = input.PublishBatchRequestEntries!;
    const isRefused = (m: string) => refused.map(taskId).includes(JSON.parse(m).task_id);
    return {
      Successful: entries.filter((e) => !isRefused(e.Message!)).map((e) => ({ Id: e.Id })),
      Failed: entries
        .filter((e) => isRefused(e.Message!))
        .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    };
  });
}

const published = () =>
  sns
    .commandCalls(PublishBatchCommand)
    .flatMap((c) => c.args[0].input.PublishBatchRequestEntries!.map((e) => JSON.parse(e.Message!)));
const kept = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));

describe('Handler: event-publisher', () => {
  let stdout: jest.SpyInstance;
  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    sns.reset();
    sqs.reset();
    stdout.mockRestore();
  });

  /** The EMF documents written so far. */
  const emf = () =>
    stdout.mock.calls
      .map((c) => String(c[0]))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('publishes one event per transition of the set, and none for other writes', async () => {
    // Prepare
    snsRefuses();
    const records = [
      finished(1),
      // a heartbeat
      streamRecord('seq-2', 'MODIFY', task(2), task(2, { heartbeat_at: '2026-01-01T00:00:02.000Z' })),
      // a claim: RUNNING is not in the set
      streamRecord('seq-3', 'MODIFY', task(3, { status: 'QUEUED', attempts: 0 }), task(3)),
      // the TTL removing a finished task
      streamRecord('seq-4', 'REMOVE', task(4, { status: 'SUCCEEDED' }), undefined),
      // a cancelled task, as an INSERT
      streamRecord('seq-5', 'INSERT', undefined, task(5, { status: 'CANCELLED', attempts: 0 })),
    ];

    // Act
    const response = await invoke(records);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published().map((e) => [e.task_id, e.event])).toEqual([
      [taskId(1), 'task.succeeded'],
      [taskId(5), 'task.cancelled'],
    ]);
    expect(published()[0]).not.toHaveProperty('result');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('keeps an event SNS refused in the unpublished queue, and reports no failure to the stream', async () => {
    // Prepare
    snsRefuses(2);
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));

    // Act
    const response = await invoke([finished(1), finished(2), finished(3)]);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kept().map((e) => e.task_id)).toEqual([taskId(2)]);
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.QueueUrl).toBe(QUEUE_URL);
  });

  it('hands a record back to the stream only when its event was neither published nor kept', async () => {
    // Prepare: SNS is down, and the queue refuses the second event
    sns.on(PublishBatchCommand).rejects(Object.assign(new Error('down'), { name: 'InternalErrorException' }));
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input
        .Entries!.filter((e) => e.Id !== '1')
        .map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
    }));

    // Act
    const response = await invoke([finished(1, '100'), finished(2, '200'), finished(3, '300')]);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
  });

  it('does not throw when both SNS and the queue are down: every record goes back to the stream', async () => {
    // Prepare
    sns.on(PublishBatchCommand).rejects(new Error('down'));
    sqs.on(SendMessageBatchCommand).rejects(new Error('down too'));

    // Act
    const response = await invoke([finished(1, '100'), finished(2, '200')]);

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['100', '200']);
  });

  it('counts published and unpublished events by event name (EMF)', async () => {
    // Prepare
    snsRefuses(2);
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));

    // Act
    await invoke([finished(1), finished(2), finished(3)]);

    // Assess
    const docs = emf();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ Event: 'task.succeeded', EventsPublished: 2, EventsUnpublished: 1 });
  });
});
