import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SnsEventTopic } from '../../../lambda/adapters/sns-event-topic';
import { SqsUnpublishedEvents } from '../../../lambda/adapters/sqs-unpublished-events';
import { TaskStatus } from '../../../lambda/core/task';
import { DEFAULT_EVENT_TRANSITIONS, type TaskEvent, taskEvent } from '../../../lambda/core/task-events';

const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:events';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/unpublished';

/** The event of task `n` failing. */
function event(n: number): TaskEvent {
  return taskEvent(
    undefined,
    {
      task_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      type: 'echo',
      priority: 'high',
      status: TaskStatus.FAILED,
      attempts: 2,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:01.000Z',
      error: { code: 'AgentError', message: `failure ${n}` },
    },
    DEFAULT_EVENT_TRANSITIONS,
  )!;
}
const events = (count: number) => Array.from({ length: count }, (_, i) => event(i));

afterEach(() => {
  sns.reset();
  sqs.reset();
});

describe('Class: SnsEventTopic', () => {
  const topic = new SnsEventTopic(new SNSClient({ region: 'eu-west-1' }), TOPIC_ARN);

  it('publishes 10 events per PublishBatch call, each with its body and String attributes', async () => {
    // Prepare
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
    }));
    const all = events(23);

    // Act
    const refused = await topic.publish(all);

    // Assess
    expect(refused).toEqual([]);
    const calls = sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.PublishBatchRequestEntries!.length)).toEqual([10, 10, 3]);
    expect(calls.every((c) => c.TopicArn === TOPIC_ARN)).toBe(true);
    const first = calls[0]!.PublishBatchRequestEntries![0]!;
    expect(JSON.parse(first.Message!)).toEqual(all[0]!.body);
    expect(first.MessageAttributes).toEqual({
      type: { DataType: 'String', StringValue: 'echo' },
      priority: { DataType: 'String', StringValue: 'high' },
      status: { DataType: 'String', StringValue: 'FAILED' },
      event: { DataType: 'String', StringValue: 'task.failed' },
    });
  });

  it("reports the entries SNS failed, with SNS's code, and only those", async () => {
    // Prepare
    sns.on(PublishBatchCommand).resolves({
      Successful: [{ Id: '0' }, { Id: '2' }],
      Failed: [{ Id: '1', Code: 'KMSThrottling', SenderFault: false }],
    });
    const all = events(3);

    // Act
    const refused = await topic.publish(all);

    // Assess
    expect(refused).toEqual([{ event: all[1], reason: 'KMSThrottling' }]);
  });

  it('reports an entry that is in neither list as refused, so it is kept rather than assumed sent', async () => {
    // Prepare
    sns.on(PublishBatchCommand).resolves({ Successful: [{ Id: '0' }] });
    const all = events(2);

    // Act
    const refused = await topic.publish(all);

    // Assess
    expect(refused).toEqual([{ event: all[1], reason: 'NotConfirmed' }]);
  });

  it('reports every event of a call that threw, and still publishes the other calls', async () => {
    // Prepare: the first call of two fails
    const failure = Object.assign(new Error('throttled'), { name: 'ThrottledException' });
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(failure)
      .callsFake((input: PublishBatchCommandInput) => ({
        Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id })),
      }));
    const all = events(12);

    // Act
    const refused = await topic.publish(all);

    // Assess
    expect(sns.commandCalls(PublishBatchCommand)).toHaveLength(2);
    expect(refused).toHaveLength(10);
    expect(new Set(refused.map((r) => r.reason))).toEqual(new Set(['ThrottledException']));
  });
});

describe('Class: SqsUnpublishedEvents', () => {
  const queue = new SqsUnpublishedEvents(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL);

  it('keeps each event whole: the text that would have been published, and its attributes', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    const all = events(12).map((e) => ({ event: e, reason: 'KMSThrottling' }));

    // Act
    const lost = await queue.keep(all);

    // Assess
    expect(lost).toEqual([]);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries!.length)).toEqual([10, 2]);
    const entry = calls[0]!.Entries![3]!;
    expect(calls[0]!.QueueUrl).toBe(QUEUE_URL);
    expect(JSON.parse(entry.MessageBody!)).toEqual(all[3]!.event.body);
    expect(entry.MessageAttributes?.event).toEqual({ DataType: 'String', StringValue: 'task.failed' });
  });

  it('reports the entries SQS failed and every entry of a call that threw', async () => {
    // Prepare: the first batch has one failed entry, the second call throws
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: Array.from({ length: 9 }, (_, i) => ({
          Id: String(i + 1),
          MessageId: 'm',
          MD5OfMessageBody: 'x',
        })),
        Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
      })
      .rejectsOnce(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    const all = events(11).map((e) => ({ event: e, reason: 'KMSThrottling' }));

    // Act
    const lost = await queue.keep(all);

    // Assess
    expect(lost).toEqual([
      { event: all[0]!.event, reason: 'InternalError' },
      { event: all[10]!.event, reason: 'ServiceUnavailable' },
    ]);
  });
});
