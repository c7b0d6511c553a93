/**
 * `taskq dlq list|redrive|purge` against real emulators: fauxqs for SQS and DynamoDB Local for the task
 * table, found through a stand-in for the local runtime's `GET /_local/stack`.
 *
 * fauxqs is ESM-only, which jest's CommonJS runtime cannot import, so it runs as a child process (its own
 * CLI). It has no SQS message move tasks (StartMessageMoveTask answers InvalidAction), so `redrive` here
 * takes the CLI's fallback: receive from the DLQ, send to the source queue, delete.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { runCli } from '../../cli/program';
import { lineProgress, lineProgressBar } from '../../cli/progress';
import type { CliDeps } from '../../cli/session';
import type { TaskEnvelope, TaskRecord } from '../../lambda/core/task';
import { type DynamoEmulator, startDynamoEmulator } from '../../local/emulators';
import { type FakeLocalStack, startFakeLocalStack } from '../unit/cli/fake-local-stack';
import { freePort } from './support/local-runtime';

// The JVM of DynamoDB Local takes seconds to start on a busy machine.
jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..', '..');
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Resolves once fauxqs answers an SQS call; rejects if its process exits first. */
async function fauxqsReady(child: ChildProcess, client: SQSClient, deadlineMs = 60_000): Promise<void> {
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`fauxqs exited (${child.exitCode}) before it answered:\n${output}`);
    try {
      await client.send(new ListQueuesCommand({}));
      return;
    } catch (error) {
      if (Date.now() - started > deadlineMs) throw new Error(`fauxqs did not answer: ${error}\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let fauxqs: ChildProcess | undefined;
let dynamo: DynamoEmulator | undefined;
let sqs: SQSClient;
let ddb: DynamoDBClient;
let endpoints: { sqs: string; dynamodb: string };

beforeAll(async () => {
  const sqsPort = await freePort();
  fauxqs = spawn(process.execPath, [path.join(ROOT, 'node_modules/fauxqs/dist/cli.js')], {
    cwd: ROOT,
    env: { ...process.env, FAUXQS_PORT: String(sqsPort), FAUXQS_LOGGER: 'false', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dynamo = await startDynamoEmulator({ port: await freePort() });
  endpoints = { sqs: `http://127.0.0.1:${sqsPort}`, dynamodb: dynamo.endpoint };
  sqs = new SQSClient({ region: REGION, endpoint: endpoints.sqs, credentials: CREDENTIALS });
  ddb = new DynamoDBClient({ region: REGION, endpoint: endpoints.dynamodb, credentials: CREDENTIALS });
  await fauxqsReady(fauxqs, sqs);
});

afterAll(async () => {
  sqs?.destroy();
  ddb?.destroy();
  await dynamo?.stop();
  await new Promise<void>((resolve) => {
    if (!fauxqs || fauxqs.exitCode !== null || fauxqs.signalCode !== null) return resolve();
    fauxqs.once('exit', () => resolve());
    fauxqs.kill('SIGTERM');
  });
});

/** One deployment's worth of queues and table, with unique names, and the stand-in that describes it. */
interface Deployment {
  readonly queues: { high: string; low: string; highDlq: string; lowDlq: string };
  readonly tableName: string;
  readonly stack: FakeLocalStack;
}

async function createQueue(name: string, dlqUrl?: string): Promise<string> {
  let attributes: Record<string, string> | undefined;
  if (dlqUrl) {
    const arn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    attributes = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 1 }) };
  }
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
}

async function deploy(): Promise<Deployment> {
  const prefix = `dlqcli-${randomUUID().slice(0, 8)}`;
  const highDlq = await createQueue(`${prefix}-high-dlq`);
  const lowDlq = await createQueue(`${prefix}-low-dlq`);
  const queues = {
    high: await createQueue(`${prefix}-high`, highDlq),
    low: await createQueue(`${prefix}-low`, lowDlq),
    highDlq,
    lowDlq,
  };
  const tableName = `${prefix}-tasks`;
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const stack = await startFakeLocalStack({
    outputs: {
      HighQueueUrl: queues.high,
      LowQueueUrl: queues.low,
      HighDeadLetterQueueUrl: queues.highDlq,
      LowDeadLetterQueueUrl: queues.lowDlq,
      TaskTableName: tableName,
    },
    endpoints,
    region: REGION,
  });
  return { queues, tableName, stack };
}

async function tearDown(deployment: Deployment | undefined): Promise<void> {
  if (!deployment) return;
  await deployment.stack.close();
  for (const url of Object.values(deployment.queues))
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  await ddb.send(new DeleteTableCommand({ TableName: deployment.tableName }));
}

function envelopeFor(record: TaskRecord): TaskEnvelope {
  return {
    schema_version: 1,
    task_id: record.task_id,
    enqueue_id: 'e1',
    type: record.type,
    priority: record.priority,
    payload: { q: 'hi' },
    created_at: record.created_at,
    request_hash: 'h',
  };
}

function failedTask(fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: randomUUID(),
    type: 'flaky',
    priority: 'high',
    status: 'FAILED',
    attempts: 3,
    created_at: '2026-03-01T11:00:00.000Z',
    updated_at: '2026-03-01T11:30:00.000Z',
    started_at: '2026-03-01T11:00:01.000Z',
    finished_at: '2026-03-01T11:30:00.000Z',
    expires_at: 1_900_000_000,
    enqueue_id: 'e1',
    error: { code: 'AgentError', message: 'the agent answered 503 three times' },
    ...fields,
  };
}

/**
 * A task whose retries ran out: its record FAILED, and its message moved to the DLQ by the source queue's
 * redrive policy (maxReceiveCount 1), as SQS does it.
 */
async function deadLetterThroughRedrivePolicy(d: Deployment, record: TaskRecord): Promise<void> {
  await ddb.send(
    new PutItemCommand({ TableName: d.tableName, Item: marshall(record, { removeUndefinedValues: true }) }),
  );
  await sqs.send(
    new SendMessageCommand({ QueueUrl: d.queues.high, MessageBody: JSON.stringify(envelopeFor(record)) }),
  );
  const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: d.queues.high, WaitTimeSeconds: 1 }));
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: d.queues.high,
      ReceiptHandle: first.Messages![0]!.ReceiptHandle!,
      VisibilityTimeout: 0,
    }),
  );
  // The second receive exceeds maxReceiveCount: the message goes to the DLQ instead.
  const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl: d.queues.high, WaitTimeSeconds: 1 }));
  expect(second.Messages ?? []).toHaveLength(0);
}

/** A poison message: the consumer failed the task and put its message on the DLQ with the error attached. */
async function deadLetterByConsumer(d: Deployment, record: TaskRecord): Promise<void> {
  await ddb.send(
    new PutItemCommand({ TableName: d.tableName, Item: marshall(record, { removeUndefinedValues: true }) }),
  );
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: d.queues.highDlq,
      MessageBody: JSON.stringify(envelopeFor(record)),
      MessageAttributes: {
        error_code: { DataType: 'String', StringValue: record.error!.code },
        error_message: { DataType: 'String', StringValue: record.error!.message },
        task_id: { DataType: 'String', StringValue: record.task_id },
      },
    }),
  );
}

async function visibleMessages(queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(out.Attributes!.ApproximateNumberOfMessages);
}

/** Receives everything in the queue (and leaves it hidden), to see what was moved there. */
async function drain(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (!out.Messages?.length) return bodies;
    bodies.push(...out.Messages.map((m) => m.Body!));
  }
}

async function record(d: Deployment, taskId: string): Promise<TaskRecord> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: d.tableName, Key: marshall({ task_id: taskId }), ConsistentRead: true }),
  );
  return unmarshall(out.Item!) as TaskRecord;
}

describe('taskq dlq against fauxqs and DynamoDB Local', () => {
  let d: Deployment | undefined;
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
    cwd: ROOT,
    progress: lineProgress((text) => {
      stderr += text;
    }),
    progressBar: lineProgressBar((text) => {
      stderr += text;
    }),
  });
  const taskq = (...args: string[]) => runCli(['--endpoint', d!.stack.url, ...args], deps());

  beforeEach(async () => {
    stdout = '';
    stderr = '';
    d = await deploy();
  });

  afterEach(async () => {
    await tearDown(d);
    d = undefined;
  });

  it('lists the dead letters with their tasks and leaves them in the queue', async () => {
    // Prepare
    const exhausted = failedTask();
    const poison = failedTask({
      type: 'echo',
      attempts: 1,
      error: { code: 'PoisonMessage', message: 'payload.q must be a string' },
    });
    await deadLetterThroughRedrivePolicy(d!, exhausted);
    await deadLetterByConsumer(d!, poison);

    // Act
    const code = await taskq('--json', 'dlq', 'list');

    // Assess
    expect(code).toBe(0);
    const { dead_letters } = JSON.parse(stdout) as { dead_letters: Array<Record<string, unknown>> };
    const byTask = new Map(dead_letters.map((row) => [row.task_id, row]));
    expect(byTask.get(exhausted.task_id)).toEqual(
      expect.objectContaining({
        tier: 'high',
        type: 'flaky',
        status: 'FAILED',
        attempts: 3,
        error: exhausted.error,
      }),
    );
    expect(byTask.get(poison.task_id)).toEqual(
      expect.objectContaining({
        tier: 'high',
        type: 'echo',
        status: 'FAILED',
        attempts: 1,
        error: poison.error,
      }),
    );
    expect(dead_letters).toHaveLength(2);
    // Nothing consumed, nothing left hidden.
    expect(await visibleMessages(d!.queues.highDlq)).toBe(2);
  });

  it('prints a table that names the task', async () => {
    // Prepare
    const exhausted = failedTask();
    await deadLetterThroughRedrivePolicy(d!, exhausted);

    // Act
    const code = await taskq('dlq', 'list', '--tier', 'high');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`high\\s+${exhausted.task_id}\\s+flaky\\s+FAILED\\s+3\\s+`));
    expect(stdout).toContain('AgentError: the agent answered 503 three times');
  });

  it('redrives: records back to QUEUED with their history, messages back in the source queue', async () => {
    // Prepare
    const exhausted = failedTask();
    const poison = failedTask({ attempts: 1, error: { code: 'PoisonMessage', message: 'bad payload' } });
    await deadLetterThroughRedrivePolicy(d!, exhausted);
    await deadLetterByConsumer(d!, poison);

    // Act
    const code = await taskq('dlq', 'redrive', '--tier', 'high');

    // Assess
    expect(code).toBe(0);
    for (const task of [exhausted, poison]) {
      const after = await record(d!, task.task_id);
      expect(after).toEqual(
        expect.objectContaining({
          status: 'QUEUED',
          attempts: task.attempts,
          error: task.error,
          redrive_count: 1,
          redriven_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        }),
      );
      expect(after.finished_at).toBeUndefined();
      expect(after.expires_at).toBeUndefined();
    }
    expect(await visibleMessages(d!.queues.highDlq)).toBe(0);
    const moved = (await drain(d!.queues.high)).map((body) => (JSON.parse(body) as TaskEnvelope).task_id);
    expect(moved.sort()).toEqual([exhausted.task_id, poison.task_id].sort());
    // fauxqs has no message move tasks: the CLI says it copied the messages instead.
    expect(stderr).toContain('the endpoint has no SQS message move tasks');
  });

  it('purges only with --yes', async () => {
    // Prepare
    await deadLetterByConsumer(d!, failedTask());

    // Act
    const refused = await taskq('dlq', 'purge', '--tier', 'high');
    const remainingAfterRefusal = await visibleMessages(d!.queues.highDlq);
    const purged = await taskq('dlq', 'purge', '--tier', 'high', '--yes');

    // Assess
    expect(refused).toBe(2);
    expect(remainingAfterRefusal).toBe(1);
    expect(purged).toBe(0);
    expect(await visibleMessages(d!.queues.highDlq)).toBe(0);
    expect(await drain(d!.queues.highDlq)).toEqual([]);
  });

  it('fails a stranded task before purging its message', async () => {
    // Prepare: its consumer died on the last delivery; the sweep has not run yet.
    const stranded = failedTask({ status: 'RETRYING', finished_at: undefined, expires_at: undefined });
    await deadLetterThroughRedrivePolicy(d!, stranded);

    // Act
    const code = await taskq('dlq', 'purge', '--yes');

    // Assess
    expect(code).toBe(0);
    expect(await record(d!, stranded.task_id)).toEqual(
      expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code: 'DeadLettered' }) }),
    );
    expect(await visibleMessages(d!.queues.highDlq)).toBe(0);
  });
});
