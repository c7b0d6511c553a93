/**
 * The baselines: the same SQS and DynamoDB calls the handlers make, sent straight to the same emulators with the
 * SDK, with no HTTP API, no worker threads and no event-source emulation. The calls go through the project's own
 * adapters (lambda/adapters), which are thin wrappers over one SDK command each, so the requests are identical.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ConfiguredAgents } from '../lambda/adapters/agents';
import { DynamoTaskStore } from '../lambda/adapters/dynamodb-task-store';
import { SqsTaskSender } from '../lambda/adapters/sqs-queues';
import { answerByteLimit } from '../lambda/core/agent-outcome';
import { newTaskId, requestHash } from '../lambda/core/idempotency';
import { parseEnvelope } from '../lambda/core/process-delivery';
import { envelopeMessage } from '../lambda/core/queue-message';
import {
  ENVELOPE_SCHEMA_VERSION,
  type Priority,
  type TaskEnvelope,
  type TaskRecord,
  TaskStatus,
} from '../lambda/core/task';
import { runConcurrent } from './load';

const CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };

export interface RawEndpoints {
  readonly aws: string;
  readonly dynamodb: string;
  readonly tableName: string;
  readonly agentsUrl: string;
}

export interface RawTask {
  readonly taskId: string;
  readonly createdMs: number;
}

export class RawPath {
  public readonly sqs: SQSClient;
  public readonly dynamodb: DynamoDBClient;
  private readonly store: DynamoTaskStore;

  public constructor(private readonly endpoints: RawEndpoints) {
    this.sqs = new SQSClient({ ...CLIENT, endpoint: endpoints.aws });
    this.dynamodb = new DynamoDBClient({ ...CLIENT, endpoint: endpoints.dynamodb });
    this.store = new DynamoTaskStore(this.dynamodb, endpoints.tableName);
  }

  /** A queue of its own, so that the runtime's consumers never take the baseline's messages. */
  public async createQueue(name: string, visibilityTimeoutSeconds: number): Promise<string> {
    const out = await this.sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
      }),
    );
    return out.QueueUrl!;
  }

  /** What the producer does for a request without an idempotency key: SendMessage, then a conditional PutItem. */
  public async enqueue(
    queueUrl: string,
    task: { type: string; payload: Record<string, unknown>; priority: Priority; delaySeconds: number },
  ): Promise<RawTask> {
    const sender = new SqsTaskSender(this.sqs, { high: queueUrl, low: queueUrl });
    const now = new Date();
    const taskId = newTaskId();
    const hash = requestHash({ ...task });
    const envelope: TaskEnvelope = {
      schema_version: ENVELOPE_SCHEMA_VERSION,
      task_id: taskId,
      enqueue_id: newTaskId(),
      type: task.type,
      priority: task.priority,
      payload: task.payload,
      created_at: now.toISOString(),
      request_hash: hash,
    };
    await sender.send(task.priority, envelopeMessage(envelope), task.delaySeconds);
    const created = await this.store.create({
      task_id: taskId,
      type: task.type,
      priority: task.priority,
      status: TaskStatus.QUEUED,
      attempts: 0,
      created_at: envelope.created_at,
      updated_at: envelope.created_at,
      request_hash: hash,
      enqueue_id: envelope.enqueue_id,
    });
    // The consumer may claim the task (creating its record from the message) before this write: that is our own
    // task, not a duplicate.
    if (!created.created && created.existing.enqueue_id !== envelope.enqueue_id) {
      throw new Error(`task ${taskId} already existed`);
    }
    return { taskId, createdMs: now.getTime() };
  }

  /**
   * Puts `count` tasks on a tier queue faster than the HTTP API could: the records the producer would write
   * (BatchWriteItem, 25 at a time, written first so that no claim can race them), then the same envelopes and
   * message attributes (SendMessageBatch, 10 at a time). Used to build a backlog for the isolation figure.
   */
  public async injectBacklog(
    queueUrl: string,
    count: number,
    task: { type: string; payload: Record<string, unknown>; priority: Priority },
  ): Promise<void> {
    const hash = requestHash({ ...task, delaySeconds: 0 });
    const tasks = Array.from({ length: count }, () => {
      const created_at = new Date().toISOString();
      const envelope: TaskEnvelope = {
        schema_version: ENVELOPE_SCHEMA_VERSION,
        task_id: newTaskId(),
        enqueue_id: newTaskId(),
        type: task.type,
        priority: task.priority,
        payload: task.payload,
        created_at,
        request_hash: hash,
      };
      const record: TaskRecord = {
        task_id: envelope.task_id,
        type: task.type,
        priority: task.priority,
        status: TaskStatus.QUEUED,
        attempts: 0,
        created_at,
        updated_at: created_at,
        request_hash: hash,
        enqueue_id: envelope.enqueue_id,
      };
      return { envelope, record };
    });
    const chunks = <T>(xs: T[], n: number) =>
      Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
    const writes = chunks(tasks, 25);
    const put = await runConcurrent(writes.length, 8, async (i) => {
      let items = writes[i]!.map((t) => ({
        PutRequest: { Item: marshall(t.record, { removeUndefinedValues: true }) },
      }));
      while (items.length > 0) {
        const out = await this.dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.endpoints.tableName]: items } }),
        );
        items = (out.UnprocessedItems?.[this.endpoints.tableName] as typeof items | undefined) ?? [];
      }
    });
    if (put.errors > 0) throw new Error(`writing the backlog's records failed: ${put.firstError}`);
    const sends = chunks(tasks, 10);
    const sent = await runConcurrent(sends.length, 8, async (i) => {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: sends[i]!.map((t, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(t.envelope),
            MessageAttributes: { task_id: { DataType: 'String', StringValue: t.envelope.task_id } },
          })),
        }),
      );
      if ((out.Failed ?? []).length > 0)
        throw new Error(`SendMessageBatch failed: ${out.Failed![0]!.Message}`);
    });
    if (sent.errors > 0) throw new Error(`sending the backlog failed: ${sent.firstError}`);
  }

  /**
   * The consumer loop without Lambda: `loops` pollers, each receiving up to 10 messages, running claim → agent →
   * succeed for all of them at once (as the consumer handler does for a batch), then deleting the batch.
   * Resolves when `count` tasks have succeeded; returns each task's finish time and each batch's duration.
   */
  public async consume(
    queueUrl: string,
    count: number,
    loops: number,
  ): Promise<{ finishedMs: Map<string, number>; batchMs: number[]; batchSizes: number[] }> {
    const agents = new ConfiguredAgents({
      echo: { kind: 'http', url: `${this.endpoints.agentsUrl}/echo`, timeoutSeconds: 10 },
      sleep: { kind: 'http', url: `${this.endpoints.agentsUrl}/sleep`, timeoutSeconds: 65 },
    });
    const finishedMs = new Map<string, number>();
    const batchMs: number[] = [];
    const batchSizes: number[] = [];
    const handle = async (message: Message): Promise<boolean> => {
      const envelope = parseEnvelope(message.Body ?? '') as TaskEnvelope;
      const claim = await this.store.claim(envelope, new Date(), 150);
      if (!claim.claimed) return true;
      const outcome = await agents.invoke(
        {
          task_id: envelope.task_id,
          type: envelope.type,
          payload: envelope.payload,
          attempt: claim.attempt,
          deadline: new Date(Date.now() + agents.timeoutSeconds(envelope.type) * 1000).toISOString(),
        },
        { maxAnswerBytes: answerByteLimit(262_144) },
      );
      if (outcome.kind !== 'success') return false;
      const now = new Date();
      const settled = await this.store.succeed(
        envelope.task_id,
        claim.attempt,
        outcome.result,
        now,
        Math.floor(now.getTime() / 1000) + 30 * 86_400,
      );
      if (settled) finishedMs.set(envelope.task_id, now.getTime());
      return settled;
    };
    const loop = async () => {
      while (finishedMs.size < count) {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        const t0 = performance.now();
        const ok = await Promise.all(messages.map((m) => handle(m).catch(() => false)));
        batchMs.push(performance.now() - t0);
        batchSizes.push(messages.length);
        const done = messages.filter((_, i) => ok[i]);
        if (done.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: loops }, loop));
    return { finishedMs, batchMs, batchSizes };
  }

  public destroy(): void {
    this.sqs.destroy();
    this.dynamodb.destroy();
  }
}

export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
