import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../../cli/program';
import { lineProgress, lineProgressBar } from '../../../cli/progress';
import type { CliDeps } from '../../../cli/session';
import type { LocalStackDocument } from '../../../cli/stack-resources';
import { conditionOf, statusPlaceholder } from '../../../lambda/adapters/dynamodb-condition';
import { type TaskEnvelope, type TaskRecord, TaskStatus } from '../../../lambda/core/task';
import { deliveryEnvelope, deliveryTaskId } from '../../../lambda/core/topics';
import { redriveGraceEnd, TRANSITIONS } from '../../../lambda/core/transitions';
import { type FakeLocalStack, startFakeLocalStack } from './fake-local-stack';

const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBClient);
const cfn = mockClient(CloudFormationClient);

const NOW = new Date('2026-03-01T12:00:00.000Z');
const HIGH_DLQ = 'http://127.0.0.1:4566/000000000000/high-dlq';
const LOW_DLQ = 'http://127.0.0.1:4566/000000000000/low-dlq';
const HIGH_QUEUE = 'http://127.0.0.1:4566/000000000000/high';
const LOW_QUEUE = 'http://127.0.0.1:4566/000000000000/low';
const HIGH_DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:high-dlq';
const TABLE = 'tasks';
const TASK_A = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TASK_B = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

const OUTPUTS = {
  HighQueueUrl: HIGH_QUEUE,
  LowQueueUrl: LOW_QUEUE,
  HighDeadLetterQueueUrl: HIGH_DLQ,
  LowDeadLetterQueueUrl: LOW_DLQ,
  TaskTableName: TABLE,
  ApiUrl: 'http://127.0.0.1:3000',
};

const LOCAL_STACK: LocalStackDocument = {
  outputs: OUTPUTS,
  endpoints: { sqs: 'http://127.0.0.1:4566', dynamodb: 'http://127.0.0.1:8000' },
  region: 'us-east-1',
};

function envelope(taskId: string, type = 'echo'): string {
  return JSON.stringify({
    schema_version: 1,
    task_id: taskId,
    enqueue_id: 'e1',
    type,
    priority: 'high',
    payload: {},
    created_at: '2026-03-01T11:00:00.000Z',
    request_hash: 'h',
  });
}

function message(n: number, body: string, extra: Partial<Message> = {}): Message {
  return {
    MessageId: `m${n}`,
    ReceiptHandle: `rh${n}`,
    Body: body,
    // Sent 90 minutes before NOW.
    Attributes: { ApproximateReceiveCount: '4', SentTimestamp: String(NOW.getTime() - 90 * 60_000) },
    ...extra,
  };
}

const failedRecord: TaskRecord = {
  task_id: TASK_A,
  type: 'echo',
  priority: 'high',
  status: 'FAILED',
  attempts: 3,
  created_at: '2026-03-01T11:00:00.000Z',
  updated_at: '2026-03-01T11:30:00.000Z',
  finished_at: '2026-03-01T11:30:00.000Z',
  expires_at: 1_800_000_000,
  error: { code: 'AgentError', message: 'the agent answered 500' },
};

/** The DLQ holds `messages` for one receive, then nothing. */
function dlqHolds(url: string, messages: Message[]): void {
  sqs.on(ReceiveMessageCommand, { QueueUrl: url }).resolvesOnce({ Messages: messages }).resolves({});
}

describe('Command: taskq dlq', () => {
  let stack: FakeLocalStack;
  let stdout: string;
  let stderr: string;

  const deps = (): CliDeps => ({
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    cwd: process.cwd(),
    poll: { intervalMs: 1, maxIntervalMs: 5 },
    progress: lineProgress((text) => {
      stderr += text;
    }),
    progressBar: lineProgressBar((text) => {
      stderr += text;
    }),
    now: () => NOW,
  });
  /** `taskq --endpoint <fake local runtime> dlq ...args` */
  const taskq = (...args: string[]) => runCli(['--endpoint', stack.url, 'dlq', ...args], deps());

  beforeEach(async () => {
    stack = await startFakeLocalStack(LOCAL_STACK);
    stdout = '';
    stderr = '';
    sqs.on(ReceiveMessageCommand).resolves({});
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
    ddb.on(GetItemCommand).resolves({});
  });

  afterEach(async () => {
    await stack.close();
    sqs.reset();
    ddb.reset();
    cfn.reset();
  });

  describe('list', () => {
    it('peeks with a short hiding and makes everything it read visible again', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A)), message(2, envelope(TASK_B))]);

      // Act
      const code = await taskq('list', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({
        QueueUrl: HIGH_DLQ,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        MessageAttributeNames: ['All'],
      });
      const restores = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
      expect(restores).toEqual([
        {
          QueueUrl: HIGH_DLQ,
          Entries: [
            { Id: '0', ReceiptHandle: 'rh1', VisibilityTimeout: 0 },
            { Id: '1', ReceiptHandle: 'rh2', VisibilityTimeout: 0 },
          ],
        },
      ]);
      // --tier high leaves the low DLQ alone.
      expect(sqs.commandCalls(ReceiveMessageCommand, { QueueUrl: LOW_DLQ })).toHaveLength(0);
      expect(stack.requests).toEqual(['GET /_local/stack']);
    });

    it('makes what it read visible again when a later receive fails', async () => {
      // Prepare
      sqs
        .on(ReceiveMessageCommand, { QueueUrl: HIGH_DLQ })
        .resolvesOnce({ Messages: [message(1, envelope(TASK_A))] })
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      // Act
      const code = await taskq('list', '--tier', 'high');

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('ThrottlingException: SQS ReceiveMessage on');
      expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toEqual([
        { Id: '0', ReceiptHandle: 'rh1', VisibilityTimeout: 0 },
      ]);
    });

    it('takes attempts and the last error from the record, else from the message', async () => {
      // Prepare
      ddb
        .on(GetItemCommand, { Key: marshall({ task_id: TASK_A }) })
        .resolves({ Item: marshall(failedRecord) });
      const attributes = {
        error_code: { DataType: 'String', StringValue: 'PoisonMessage' },
        error_message: { DataType: 'String', StringValue: 'payload is not valid' },
        task_id: { DataType: 'String', StringValue: TASK_B },
      };
      dlqHolds(HIGH_DLQ, [
        message(1, envelope(TASK_A)),
        message(2, envelope(TASK_B, 'summarize'), { MessageAttributes: attributes }),
      ]);

      // Act
      const code = await taskq('--json', 'list', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      const { dead_letters } = JSON.parse(stdout) as { dead_letters: unknown[] };
      expect(dead_letters).toEqual([
        {
          tier: 'high',
          message_id: 'm1',
          task_id: TASK_A,
          type: 'echo',
          topic: null,
          subscriber: null,
          published_task_id: null,
          status: 'FAILED',
          attempts: 3,
          receive_count: 4,
          error: { code: 'AgentError', message: 'the agent answered 500' },
          sent_at: '2026-03-01T10:30:00.000Z',
          age_seconds: 5400,
        },
        {
          tier: 'high',
          message_id: 'm2',
          task_id: TASK_B,
          type: 'summarize',
          topic: null,
          subscriber: null,
          published_task_id: null,
          status: null,
          attempts: 4,
          receive_count: 4,
          error: { code: 'PoisonMessage', message: 'payload is not valid' },
          sent_at: '2026-03-01T10:30:00.000Z',
          age_seconds: 5400,
        },
      ]);
    });

    it('prints a table with task id, type, attempts, age and last error', async () => {
      // Prepare
      ddb
        .on(GetItemCommand, { Key: marshall({ task_id: TASK_A }) })
        .resolves({ Item: marshall(failedRecord) });
      dlqHolds(LOW_DLQ, [message(1, envelope(TASK_A))]);

      // Act
      const code = await taskq('list');

      // Assess
      expect(code).toBe(0);
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(/^TIER\s+TASK ID\s+TYPE\s+STATUS\s+ATTEMPTS\s+AGE\s+LAST ERROR$/);
      expect(lines[1]).toMatch(
        new RegExp(`^low\\s+${TASK_A}\\s+echo\\s+FAILED\\s+3\\s+1h\\s+AgentError: the agent answered 500$`),
      );
      expect(stdout).toContain('high: 0 dead letters');
      expect(stdout).toContain('low: 1 dead letter\n');
    });

    it('stops at --limit and says how many more there are', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A)), message(2, envelope(TASK_B))]);
      sqs.on(GetQueueAttributesCommand, { QueueUrl: HIGH_DLQ }).resolves({
        Attributes: { ApproximateNumberOfMessages: '40', ApproximateNumberOfMessagesNotVisible: '2' },
      });

      // Act
      const code = await taskq('list', '--tier', 'high', '--limit', '2');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input.MaxNumberOfMessages).toBe(2);
      expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
      expect(stdout).toContain('high: showing 2 of about 42 dead letters');
    });
  });

  describe('redrive', () => {
    const requeuedAttributes = marshall({
      ...failedRecord,
      status: 'QUEUED',
      redriven_at: NOW.toISOString(),
      redrive_count: 1,
    });

    beforeEach(() => {
      sqs
        .on(GetQueueAttributesCommand, { QueueUrl: HIGH_DLQ })
        .resolves({ Attributes: { QueueArn: HIGH_DLQ_ARN } });
      sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
      sqs
        .on(ListMessageMoveTasksCommand)
        .resolvesOnce({
          Results: [
            {
              TaskHandle: 'handle-1',
              Status: 'RUNNING',
              ApproximateNumberOfMessagesMoved: 1,
              ApproximateNumberOfMessagesToMove: 2,
            },
          ],
        })
        .resolves({
          Results: [
            {
              TaskHandle: 'handle-1',
              Status: 'COMPLETED',
              ApproximateNumberOfMessagesMoved: 2,
              ApproximateNumberOfMessagesToMove: 2,
            },
          ],
        });
      ddb.on(UpdateItemCommand).resolves({ Attributes: requeuedAttributes });
    });

    it('requeues each task in the table with one conditional write', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A))]);

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess: which statuses a requeue leaves from and what it keeps is the store's rule, tested with it
      expect(code).toBe(0);
      const updates = ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
      expect(updates).toEqual([
        expect.objectContaining({
          TableName: TABLE,
          Key: marshall({ task_id: TASK_A }),
          ConditionExpression: expect.any(String),
        }),
      ]);
    });

    it('starts a message move task from the DLQ ARN at --rate, after the table writes, with no destination', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A)), message(2, envelope(TASK_A))]);

      // Act
      const code = await taskq('redrive', '--tier', 'high', '--rate', '7');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(GetQueueAttributesCommand, { AttributeNames: ['QueueArn'] })).toHaveLength(1);
      const starts = sqs.commandCalls(StartMessageMoveTaskCommand);
      expect(starts.map((c) => c.args[0].input)).toEqual([
        { SourceArn: HIGH_DLQ_ARN, MaxNumberOfMessagesPerSecond: 7 },
      ]);
      // One write per task, even with two copies of its message; the write comes before the move.
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
      expect(ddb.commandCalls(UpdateItemCommand)[0]!.calledBefore(starts[0]!)).toBe(true);
      // The peek made the messages visible again before the move, which only moves visible messages.
      expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.calledBefore(starts[0]!)).toBe(true);
    });

    it('follows ListMessageMoveTasks with a progress bar until the move completes', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A)), message(2, envelope(TASK_B))]);

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(ListMessageMoveTasksCommand).map((c) => c.args[0].input)).toEqual([
        { SourceArn: HIGH_DLQ_ARN, MaxResults: 10 },
        { SourceArn: HIGH_DLQ_ARN, MaxResults: 10 },
      ]);
      expect(stderr).toContain('high: moving: 0/2\nhigh: moving: 1/2\nhigh: moving: 2/2\n');
      expect(stderr).toContain('high: move task COMPLETED, 2 message(s) moved back');
      expect(stdout).toContain('high: 2 message(s); 2 task(s) set back to QUEUED, 0 left as they were');
    });

    it('reports tasks it cannot requeue and still moves their messages', async () => {
      // Prepare
      ddb.on(UpdateItemCommand, { Key: marshall({ task_id: TASK_B }) }).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({ ...failedRecord, task_id: TASK_B, status: 'SUCCEEDED' }),
        }),
      );
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A)), message(2, envelope(TASK_B))]);

      // Act
      const code = await taskq('--json', 'redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      const { tiers } = JSON.parse(stdout) as { tiers: Array<Record<string, unknown>> };
      expect(tiers[0]).toEqual(
        expect.objectContaining({
          messages: 2,
          requeued: [TASK_A],
          skipped: [{ task_id: TASK_B, status: 'SUCCEEDED' }],
          move: expect.objectContaining({ method: 'message-move-task', status: 'COMPLETED', moved: 2 }),
        }),
      );
      expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(1);
    });

    it('exits 1 when the move task fails', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A))]);
      sqs.on(ListMessageMoveTasksCommand).resolves({
        Results: [
          {
            TaskHandle: 'handle-1',
            Status: 'FAILED',
            ApproximateNumberOfMessagesMoved: 0,
            ApproximateNumberOfMessagesToMove: 1,
            FailureReason: 'AWS.SimpleQueueService.NonExistentQueue',
          },
        ],
      });

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain(
        'move task FAILED, 0 message(s) moved back (AWS.SimpleQueueService.NonExistentQueue)',
      );
    });

    it('neither writes nor moves anything when the DLQ is empty', async () => {
      // Act
      const code = await taskq('redrive');

      // Assess
      expect(code).toBe(0);
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
      expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
      expect(stdout).toContain('high: the dead-letter queue is empty; nothing to redrive');
    });

    it('copies the messages back itself when the endpoint has no message move tasks', async () => {
      // Prepare
      const messages = [message(1, envelope(TASK_A)), message(2, envelope(TASK_B))];
      sqs
        .on(ReceiveMessageCommand, { QueueUrl: HIGH_DLQ })
        .resolvesOnce({ Messages: messages }) // the peek
        .resolvesOnce({}) // the peek's end
        .resolvesOnce({ Messages: messages }) // the copy
        .resolves({});
      sqs
        .on(StartMessageMoveTaskCommand)
        .rejects(Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }));
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: ['0', '1'].map((Id) => ({ Id, MessageId: `copy-${Id}`, MD5OfMessageBody: 'md5' })),
        Failed: [],
      });
      sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input).toEqual({
        QueueUrl: HIGH_QUEUE,
        Entries: [
          { Id: '0', MessageBody: envelope(TASK_A) },
          { Id: '1', MessageBody: envelope(TASK_B) },
        ],
      });
      expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input).toEqual({
        QueueUrl: HIGH_DLQ,
        Entries: [
          { Id: '0', ReceiptHandle: 'rh1' },
          { Id: '1', ReceiptHandle: 'rh2' },
        ],
      });
      expect(stderr).toContain(
        'the endpoint has no SQS message move tasks; copying the messages back instead',
      );
      expect(stdout).toContain('moved 2 message(s) back to');
    });

    it("keeps a copied message's MessageGroupId (its tenant), and asks the receive for it", async () => {
      // Prepare
      const tenanted = { ...message(1, envelope(TASK_A)), Attributes: { MessageGroupId: 'acme' } };
      const plain = message(2, envelope(TASK_B));
      sqs
        .on(ReceiveMessageCommand, { QueueUrl: HIGH_DLQ })
        .resolvesOnce({ Messages: [tenanted, plain] }) // the peek
        .resolvesOnce({}) // the peek's end
        .resolvesOnce({ Messages: [tenanted, plain] }) // the copy
        .resolves({});
      sqs
        .on(StartMessageMoveTaskCommand)
        .rejects(Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }));
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: ['0', '1'].map((Id) => ({ Id, MessageId: `copy-${Id}`, MD5OfMessageBody: 'md5' })),
        Failed: [],
      });
      sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries).toEqual([
        { Id: '0', MessageBody: envelope(TASK_A), MessageGroupId: 'acme' },
        { Id: '1', MessageBody: envelope(TASK_B) },
      ]);
      // The copy's receives come after the peek's.
      const copyReceive = sqs.commandCalls(ReceiveMessageCommand).at(-1)!.args[0].input;
      expect(copyReceive.MessageSystemAttributeNames).toEqual(['MessageGroupId']);
    });

    it('copies large messages back in batches that SQS takes (at most 1 MiB per SendMessageBatch)', async () => {
      // Prepare: two dead letters of 600 KB each, which one batch call could not carry
      const big = (taskId: string) =>
        envelope(taskId).replace('"payload":{}', `"payload":{"x":"${'x'.repeat(600_000)}"}`);
      const messages = [{ ...message(1, big(TASK_A)) }, { ...message(2, big(TASK_B)) }];
      sqs
        .on(ReceiveMessageCommand, { QueueUrl: HIGH_DLQ })
        .resolvesOnce({ Messages: messages }) // the peek
        .resolvesOnce({}) // the peek's end
        .resolvesOnce({ Messages: messages }) // the copy
        .resolves({});
      sqs
        .on(StartMessageMoveTaskCommand)
        .rejects(Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }));
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: '0', MessageId: 'copy', MD5OfMessageBody: 'md5' }],
        Failed: [],
      });
      sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });

      // Act
      const code = await taskq('redrive', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      const sends = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!);
      expect(sends.map((entries) => entries.length)).toEqual([1, 1]);
      expect(sends.flat().map((e) => e.MessageBody)).toEqual([big(TASK_A), big(TASK_B)]);
      expect(stdout).toContain('moved 2 message(s) back to');
    });

    it('refuses a --rate outside 1-500 with exit code 2', async () => {
      // Act
      const code = await taskq('redrive', '--rate', '0');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('it must be a whole number from 1 to 500');
      expect(sqs.calls()).toHaveLength(0);
    });
  });

  describe('published tasks (topics)', () => {
    const PUBLISHED = '3b241101-e2bb-4255-8caf-4136c566a962';
    const publish: TaskEnvelope = {
      ...(JSON.parse(envelope(PUBLISHED, 'document.uploaded')) as TaskEnvelope),
      subscribers: ['summarize', 'index'],
    };
    const toSummarize = JSON.stringify(deliveryEnvelope(publish, 'summarize'));
    const toIndex = JSON.stringify(deliveryEnvelope(publish, 'index'));
    const SUMMARIZE = deliveryTaskId(PUBLISHED, 'summarize');
    const INDEX = deliveryTaskId(PUBLISHED, 'index');

    it("lists a delivery's topic, subscriber and published task from its envelope, and a publish message's topic", async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [
        message(1, toSummarize),
        message(2, JSON.stringify(publish)),
        message(3, envelope(TASK_A)),
      ]);

      // Act
      const code = await taskq('--json', 'list', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      const { dead_letters } = JSON.parse(stdout) as { dead_letters: Record<string, unknown>[] };
      expect(
        dead_letters.map(({ task_id, type, topic, subscriber, published_task_id }) => ({
          task_id,
          type,
          topic,
          subscriber,
          published_task_id,
        })),
      ).toEqual([
        {
          task_id: SUMMARIZE,
          type: 'summarize',
          topic: 'document.uploaded',
          subscriber: 'summarize',
          published_task_id: PUBLISHED,
        },
        {
          task_id: PUBLISHED,
          type: 'document.uploaded',
          topic: 'document.uploaded',
          subscriber: null,
          published_task_id: null,
        },
        { task_id: TASK_A, type: 'echo', topic: null, subscriber: null, published_task_id: null },
      ]);
    });

    it('adds the topic columns to the table when a dead letter is part of a published task', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, toSummarize), message(2, envelope(TASK_A))]);

      // Act
      const code = await taskq('list', '--tier', 'high');

      // Assess
      expect(code).toBe(0);
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(
        /^TIER\s+TASK ID\s+TYPE\s+TOPIC\s+SUBSCRIBER\s+PUBLISHED TASK\s+STATUS\s+ATTEMPTS\s+AGE\s+LAST ERROR$/,
      );
      expect(lines[1]).toMatch(
        new RegExp(
          `^high\\s+${SUMMARIZE}\\s+summarize\\s+document\\.uploaded\\s+summarize\\s+${PUBLISHED}\\s`,
        ),
      );
      expect(lines[2]).toMatch(new RegExp(`^high\\s+${TASK_A}\\s+echo\\s+-\\s+-\\s+-\\s`));
    });

    it("list --task keeps one task's dead letters: a published task's id takes all its deliveries", async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, toSummarize), message(2, envelope(TASK_A)), message(3, toIndex)]);

      // Act
      const code = await taskq('--json', 'list', '--tier', 'high', '--task', PUBLISHED);

      // Assess
      expect(code).toBe(0);
      const { dead_letters, queues } = JSON.parse(stdout) as {
        dead_letters: { task_id: string }[];
        queues: { approximate_messages: number }[];
      };
      expect(dead_letters.map((d) => d.task_id)).toEqual([SUMMARIZE, INDEX]);
      expect(queues[0]!.approximate_messages).toBe(2);
    });

    it("redrive --task <delivery id> requeues that delivery's record and copies back its message alone", async () => {
      // Prepare
      const messages = [message(1, toSummarize), message(2, toIndex), message(3, envelope(TASK_A))];
      sqs
        .on(ReceiveMessageCommand, { QueueUrl: HIGH_DLQ })
        .resolvesOnce({ Messages: messages }) // the peek
        .resolvesOnce({}) // the peek's end
        .resolvesOnce({ Messages: messages }) // the copy
        .resolves({});
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: '0', MessageId: 'copy-0', MD5OfMessageBody: 'md5' }],
        Failed: [],
      });
      sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
      ddb.on(UpdateItemCommand).resolves({
        Attributes: marshall({
          ...failedRecord,
          task_id: SUMMARIZE,
          type: 'summarize',
          topic: 'document.uploaded',
          published_task_id: PUBLISHED,
          status: 'QUEUED',
          redriven_at: NOW.toISOString(),
          redrive_count: 1,
        }),
      });

      // Act
      const code = await taskq('--json', 'redrive', '--tier', 'high', '--task', SUMMARIZE);

      // Assess
      expect(code).toBe(0);
      const updates = ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
      expect(updates.map((u) => unmarshall(u.Key!))).toEqual([{ task_id: SUMMARIZE }]);
      // A move task would move the whole queue: the one message is copied instead.
      expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
      expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input)).toEqual([
        { QueueUrl: HIGH_QUEUE, Entries: [{ Id: '0', MessageBody: toSummarize }] },
      ]);
      expect(sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input)).toEqual([
        { QueueUrl: HIGH_DLQ, Entries: [{ Id: '0', ReceiptHandle: 'rh1' }] },
      ]);
      const { tiers } = JSON.parse(stdout) as { tiers: Record<string, unknown>[] };
      expect(tiers[0]).toMatchObject({
        task_id: SUMMARIZE,
        messages: 1,
        requeued: [SUMMARIZE],
        move: { method: 'copy', status: 'COMPLETED', moved: 1 },
      });
    });

    it('redrive --task says so when the task has no dead letter, and moves nothing', async () => {
      // Prepare
      dlqHolds(HIGH_DLQ, [message(1, envelope(TASK_A))]);

      // Act
      const code = await taskq('redrive', '--tier', 'high', '--task', INDEX);

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain(`high: no dead letter of task ${INDEX}; nothing to redrive`);
      expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
      expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
      expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    });

    it('refuses a --task that is not a task id', async () => {
      const code = await taskq('list', '--task', 'not-a-uuid');
      expect(code).toBe(2);
      expect(stderr).toContain('it must be a task id');
    });
  });

  describe('purge', () => {
    it('refuses without --yes, with exit code 2 and without touching a queue', async () => {
      // Act
      const code = await taskq('purge', '--tier', 'low');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('purge deletes every message in the low dead-letter queue(s) for good');
      expect(stderr).toContain('--yes');
      expect(sqs.calls()).toHaveLength(0);
    });

    it('purges both DLQs with --yes', async () => {
      // Act
      const code = await taskq('purge', '--yes');

      // Assess
      expect(code).toBe(0);
      expect(sqs.commandCalls(PurgeQueueCommand).map((c) => c.args[0].input)).toEqual([
        { QueueUrl: HIGH_DLQ },
        { QueueUrl: LOW_DLQ },
      ]);
    });

    it('fails the unfinished tasks among the messages before it purges them', async () => {
      // Prepare
      dlqHolds(LOW_DLQ, [message(1, envelope(TASK_A))]);
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      const code = await taskq('purge', '--tier', 'low', '--yes');

      // Assess
      expect(code).toBe(0);
      const [update] = ddb.commandCalls(UpdateItemCommand);
      const input = update!.args[0].input;
      expect(input.Key).toEqual(marshall({ task_id: TASK_A }));
      // The abandon transition of the state machine, for this message's enqueue id and with no redrive grace:
      // a redriven task whose message is purged will never run.
      const abandon = conditionOf(TRANSITIONS.abandon, {
        nowMs: NOW.getTime(),
        enqueueId: 'e1',
        redriveGraceEnd: redriveGraceEnd(NOW, 0),
      });
      expect(input.ConditionExpression).toBe(abandon.ConditionExpression);
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject(abandon.ExpressionAttributeValues);
      expect(unmarshall(input.ExpressionAttributeValues!)).toEqual(
        expect.objectContaining({ [statusPlaceholder(TRANSITIONS.abandon.to)]: TaskStatus.FAILED }),
      );
      expect(update!.calledBefore(sqs.commandCalls(PurgeQueueCommand)[0]!)).toBe(true);
      expect(stdout).toContain('1 task(s) that were not finished are now FAILED');
    });
  });

  describe('where the resources come from', () => {
    it('reads the outputs of --stack with DescribeStacks and works in the stack region', async () => {
      // Prepare
      const prodDlq = 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-high-dlq';
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 'prod',
            StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/prod/abc',
            CreationTime: NOW,
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: Object.entries({ ...OUTPUTS, HighDeadLetterQueueUrl: prodDlq }).map(([k, v]) => ({
              OutputKey: k,
              OutputValue: v,
            })),
          },
        ],
      });
      dlqHolds(prodDlq, [message(1, envelope(TASK_A))]);

      // Act
      const code = await runCli(['dlq', '--stack', 'prod', 'list', '--tier', 'high'], deps());

      // Assess
      expect(code).toBe(0);
      expect(cfn.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: 'prod' });
      expect(await sqs.call(0).thisValue.config.region()).toBe('eu-west-1');
      expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input.QueueUrl).toBe(prodDlq);
      expect(stack.requests).toEqual([]);
    });

    it('names the outputs a stack lacks', async () => {
      // Prepare
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 'other',
            CreationTime: NOW,
            StackStatus: 'CREATE_COMPLETE',
            Outputs: [{ OutputKey: 'HighQueueUrl', OutputValue: HIGH_QUEUE }],
          },
        ],
      });

      // Act
      const code = await runCli(['dlq', 'list', '--stack', 'other'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain(
        'MissingStackOutput: stack other has no output LowQueueUrl, HighDeadLetterQueueUrl, LowDeadLetterQueueUrl, TaskTableName',
      );
    });

    it('says when the stack does not exist', async () => {
      // Prepare
      cfn
        .on(DescribeStacksCommand)
        .rejects(Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' }));

      // Act
      const code = await runCli(['dlq', 'list', '--stack', 'nope'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('StackNotFound: stack nope does not exist');
    });

    it('refuses --stack together with --endpoint', async () => {
      // Act
      const code = await taskq('list', '--stack', 'prod');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('give either --stack');
      expect(cfn.calls()).toHaveLength(0);
    });

    it('says so when the endpoint does not serve /_local/stack', async () => {
      // Prepare
      await stack.close();
      stack = await startFakeLocalStack({ status: 404 });

      // Act
      const code = await taskq('list');

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain(`NotLocalRuntime: GET ${stack.url}/_local/stack answered 404`);
      expect(sqs.calls()).toHaveLength(0);
    });

    it('sends the local runtime its emulator endpoints', async () => {
      // Act
      await taskq('list', '--tier', 'high');

      // Assess
      const endpoint = await sqs.call(0).thisValue.config.endpoint!();
      expect(endpoint.hostname).toBe('127.0.0.1');
      expect(endpoint.port).toBe(4566);
    });
  });
});
