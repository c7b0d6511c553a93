/**
 * Task lifecycle events through the real local runtime: the demo configuration publishes SUCCEEDED, FAILED and
 * CANCELLED (local/local-config.ts), the publisher reads DynamoDB Local's table stream, and fauxqs's SNS delivers
 * to SQS queues this test subscribes at run time (raw delivery, filter policies), as any subscriber would.
 *
 * Two boots, one after the other: one runtime without faults for the events themselves, and one whose every SNS
 * publish fails (`--faults snsPublishFailure=1`), for the unpublished-events queue and `taskq events replay`. The
 * runtime cannot switch a fault on or off once started, and a fault on from the start would hide the events the
 * first part checks. The demo agents run in this process (`--agents-url`), so that the test counts every call.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { ListSubscriptionsByTopicCommand, SNSClient, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { subscribeQueue } from '../../cli/events/tail';
import type { TaskView } from '../../lambda/core/task';
import type { TaskEventBody } from '../../lambda/core/task-events';
import { deliveryTaskId } from '../../lambda/core/topics';
import { isTerminal } from '../../lambda/core/transitions';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, type RunningRuntime, runTaskq } from './support/local-runtime';

jest.setTimeout(240_000);

const ROOT = path.join(__dirname, '..', '..');
const MAX_RECEIVE_COUNT = 2;

/** One event as a subscriber queue received it: the raw body and its message attributes. */
interface Received {
  readonly body: TaskEventBody;
  readonly attributes: Record<string, string>;
}

/** What `GET /_local/stack` tells about SNS. */
interface LocalStack {
  readonly outputs: Record<string, string>;
  readonly endpoints: { readonly sns: string; readonly sqs: string };
}

/** A runtime with the demo agents of this process, and what the test needs to talk to it. */
class Harness {
  public runtime!: RunningRuntime;
  public sqs!: SQSClient;
  public sns!: SNSClient;
  public topicArn = '';
  /** Task id → the attempts its agent received, in order. */
  public readonly calls = new Map<string, number[]>();
  private agents!: DemoAgents;
  private readonly queues: Array<{ url: string; subscription: string }> = [];

  public async start(faults?: string): Promise<void> {
    this.agents = await startDemoAgents({
      beforeAnswer: async (request) => {
        const id = String(request.task_id);
        this.calls.set(id, [...(this.calls.get(id) ?? []), Number(request.attempt)]);
      },
    });
    this.runtime = await bootRuntime({
      agentsUrl: this.agents.url,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      ...(faults !== undefined && { faults }),
    });
    const stack = (await (await fetch(`${this.runtime.apiUrl}/_local/stack`)).json()) as LocalStack;
    this.topicArn = stack.outputs.TaskEventsTopicArn!;
    this.sqs = this.runtime.sqsClient();
    this.sns = new SNSClient({
      region: 'us-east-1',
      endpoint: stack.endpoints.sns,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  public async stop(): Promise<void> {
    for (const { url, subscription } of this.queues) {
      await this.sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription })).catch(() => {});
      await this.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
    }
    this.sqs?.destroy();
    this.sns?.destroy();
    await this.runtime?.stop();
    await this.agents?.close();
  }

  /** A new queue subscribed to the events topic with raw delivery, and a filter policy when given. */
  public async subscribe(filterPolicy?: Record<string, string[]>): Promise<Inbox> {
    const { QueueUrl } = await this.sqs.send(
      new CreateQueueCommand({ QueueName: `events-test-${randomUUID().slice(0, 8)}` }),
    );
    const { subscriptionArn } = await subscribeQueue({
      sns: this.sns,
      sqs: this.sqs,
      topicArn: this.topicArn,
      queueUrl: QueueUrl!,
      ...(filterPolicy && { filterPolicy }),
    });
    this.queues.push({ url: QueueUrl!, subscription: subscriptionArn });
    return new Inbox(this.sqs, QueueUrl!);
  }

  public async request(method: string, route: string, body?: unknown) {
    const response = await fetch(`${this.runtime.apiUrl}${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as TaskView };
  }

  public async submit(body: Record<string, unknown>): Promise<string> {
    const answer = await this.request('POST', '/tasks', body);
    expect(answer.status).toBe(202);
    return answer.body.task_id;
  }

  public finished(id: string): Promise<TaskView> {
    return eventually(
      async () => {
        const { status, body } = await this.request('GET', `/tasks/${id}`);
        return status === 200 && isTerminal(body.status) ? body : undefined;
      },
      `task ${id} finishing`,
      90_000,
    );
  }

  /** `taskq --endpoint <runtime> ...args` in this process; its exit code and output. */
  public taskq(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return runTaskq(this.runtime.apiUrl, ...args);
  }
}

/** A subscriber queue, read to the end each time: every event it received so far, by arrival. */
class Inbox {
  public readonly events: Received[] = [];

  public constructor(
    private readonly sqs: SQSClient,
    public readonly queueUrl: string,
  ) {}

  /** Reads (and deletes) what the queue holds now. */
  public async drain(): Promise<Received[]> {
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return this.events;
      for (const m of Messages) {
        this.events.push({
          body: JSON.parse(m.Body!) as TaskEventBody,
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
          ),
        });
      }
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }

  /** The events of these tasks received so far. */
  public of(ids: readonly string[]): Received[] {
    return this.events.filter((e) => ids.includes(e.body.task_id));
  }

  /**
   * Waits until `count` events of these tasks arrived, then a little longer, so that an extra one (a duplicate, an
   * event of a transition outside the set) would show too.
   */
  public async await(ids: readonly string[], count: number, settleMs = 1500): Promise<Received[]> {
    await eventually(
      async () => {
        await this.drain();
        return this.of(ids).length >= count ? true : undefined;
      },
      `${count} events of ${ids.length} tasks on ${this.queueUrl}`,
      90_000,
    );
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    await this.drain();
    return this.of(ids);
  }
}

const byTask = (events: readonly Received[]) => Object.fromEntries(events.map((e) => [e.body.task_id, e]));

/** The event a terminal task must have made: its body from GET, its attributes from its body. */
function expectedEvent(task: TaskView, extra: Partial<TaskEventBody> = {}): Received {
  const status = task.status;
  const body = {
    schema_version: 1,
    event: `task.${status.toLowerCase()}`,
    event_id: `${task.task_id}:${status}:${task.attempts}:0`,
    task_id: task.task_id,
    type: task.type,
    priority: task.priority,
    ...(task.tenant_id !== undefined && { tenant_id: task.tenant_id }),
    status,
    attempts: task.attempts,
    occurred_at: task.updated_at,
    ...(task.error !== undefined && { error: { code: task.error.code, message: task.error.message } }),
    ...extra,
  } as TaskEventBody;
  return {
    body,
    attributes: { type: body.type, priority: body.priority, status: body.status, event: body.event },
  };
}

describe('Task events on the local runtime', () => {
  const h = new Harness();
  let all: Inbox;
  let failedOnly: Inbox;

  beforeAll(async () => {
    await h.start();
    all = await h.subscribe();
    failedOnly = await h.subscribe({ status: ['FAILED'] });
  });

  afterAll(() => h.stop());

  it('names the events topic in the banner and in GET /_local/stack', async () => {
    expect(h.topicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:\S*EventsTopic\S*$/);
    expect(h.runtime.outputs.TaskEventsTopicArn).toBe(h.topicArn);
    expect(h.runtime.output()).toContain(`Events       ${h.topicArn}  (SUCCEEDED, FAILED, CANCELLED)`);
  });

  it('publishes exactly one event per terminal transition: succeeded, failed (retries run out, poison), cancelled', async () => {
    // Act
    const echo = await h.submit({ type: 'echo', priority: 'high', payload: { i: 1 }, tenant_id: 'acme' });
    const retried = await h.submit({ type: 'flaky', priority: 'low', payload: { failures: 1 } });
    const exhausted = await h.submit({ type: 'flaky', priority: 'low', payload: { failures: 100 } });
    const poison = await h.submit({ type: 'poison', priority: 'high', payload: {} });
    const cancelled = await h.submit({ type: 'echo', priority: 'low', payload: {}, delay_seconds: 10 });
    const cancel = await h.request('DELETE', `/tasks/${cancelled}`);
    const ids = [echo, retried, exhausted, poison, cancelled];
    const tasks = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, await h.finished(id)] as const)),
    );
    const events = await all.await(ids, ids.length);

    // Assess: the tasks ended as planned
    expect(cancel.status).toBe(200);
    expect(ids.map((id) => [tasks[id]!.status, tasks[id]!.attempts])).toEqual([
      ['SUCCEEDED', 1],
      ['SUCCEEDED', 2],
      ['FAILED', MAX_RECEIVE_COUNT],
      ['FAILED', 1],
      ['CANCELLED', 0],
    ]);
    expect(tasks[exhausted]!.error?.code).toBe('AgentHttp503');
    expect(tasks[poison]!.error?.code).toBe('AgentHttp422');
    // One event each (the retry's RETRYING and RUNNING are not in the set), each the task as GET shows it
    expect(events).toHaveLength(ids.length);
    const received = byTask(events);
    for (const id of ids) expect(received[id]).toEqual(expectedEvent(tasks[id]!));
    expect(received[echo]!.body.tenant_id).toBe('acme');
    expect(received[exhausted]!.body.error).toEqual({
      code: 'AgentHttp503',
      message: expect.any(String),
    });
    expect(received[cancelled]!.body.event).toBe('task.cancelled');
  });

  it('a queue whose filter policy is status=FAILED receives only the failed ones', async () => {
    // Act
    const ids = [
      await h.submit({ type: 'echo', priority: 'low', payload: {} }),
      await h.submit({ type: 'poison', priority: 'low', payload: {} }),
      await h.submit({ type: 'flaky', priority: 'high', payload: { failures: 100 } }),
    ];
    await all.await(ids, ids.length);
    await failedOnly.drain();

    // Assess
    expect(
      failedOnly
        .of(ids)
        .map((e) => e.body.task_id)
        .sort(),
    ).toEqual([ids[1], ids[2]].sort());
    // Nothing but FAILED ever reached it, from this test or the others.
    expect(new Set(failedOnly.events.map((e) => `${e.body.status} ${e.attributes.status}`))).toEqual(
      new Set(['FAILED FAILED']),
    );
  });

  it('a task published to demo.fanout makes one event per delivery, naming the topic and the subscriber', async () => {
    // Act
    const id = await h.submit({ type: 'demo.fanout', priority: 'low', payload: { ms: 10 } });
    const task = await h.finished(id);
    const events = await all.await([id], 2);

    // Assess
    expect(task.status).toBe('SUCCEEDED');
    const bySubscriber = Object.fromEntries(events.map((e) => [e.body.subscriber, e]));
    expect(Object.keys(bySubscriber).sort()).toEqual(['echo', 'sleep']);
    for (const subscriber of ['echo', 'sleep']) {
      const delivery = task.deliveries![subscriber]!;
      expect(bySubscriber[subscriber]).toEqual({
        body: {
          schema_version: 1,
          event: 'task.succeeded',
          event_id: `${deliveryTaskId(id, subscriber)}:SUCCEEDED:1:0`,
          task_id: id,
          type: 'demo.fanout',
          topic: 'demo.fanout',
          subscriber,
          priority: 'low',
          status: 'SUCCEEDED',
          attempts: delivery.attempts,
          occurred_at: expect.any(String),
        },
        attributes: {
          type: 'demo.fanout',
          priority: 'low',
          status: 'SUCCEEDED',
          event: 'task.succeeded',
          topic: 'demo.fanout',
          subscriber,
        },
      });
    }
  });

  it('taskq events tail --limit 1 prints an event, then removes its queue and subscription', async () => {
    // Prepare
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/taskq.ts',
        '--endpoint',
        h.runtime.apiUrl,
        '--json',
        'events',
        'tail',
        '--type',
        'echo',
        '--limit',
        '1',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const queueUrl = await eventually(
        async () => / through (\S+)[ ;]/.exec(stderr)?.[1],
        'the tail subscribing its queue',
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; the tail printed:\n${stdout}${stderr}`);
      });

      // Act
      const id = await h.submit({ type: 'echo', priority: 'low', payload: { tail: true } });
      const code = await exited;

      // Assess: one event, ours, printed as one JSON line
      expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('1 event(s)') });
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'task.succeeded', task_id: id, type: 'echo' });
      // The queue and its subscription are gone
      const queueName = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
      await expect(h.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).rejects.toThrow();
      const { Subscriptions = [] } = await h.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: h.topicArn }),
      );
      expect(Subscriptions.filter((s) => s.Endpoint?.endsWith(`:${queueName}`))).toEqual([]);
      expect(Subscriptions).toHaveLength(2); // this file's two queues
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
  });
});

describe('Task events when SNS refuses every publish', () => {
  const h = new Harness();
  let inbox: Inbox;

  beforeAll(async () => {
    await h.start('snsPublishFailure=1');
    inbox = await h.subscribe();
  });

  afterAll(() => h.stop());

  /** The events the UnpublishedEvents queue holds now, without taking them. */
  async function unpublished(): Promise<Received[]> {
    const seen = new Map<string, Received>();
    for (let i = 0; i < 6; i++) {
      const { Messages = [] } = await h.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: h.runtime.outputs.UnpublishedEventsQueueUrl!,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      for (const m of Messages)
        seen.set(m.MessageId!, {
          body: JSON.parse(m.Body!) as TaskEventBody,
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
          ),
        });
    }
    return [...seen.values()];
  }

  it('keeps every terminal transition in UnpublishedEvents, and taskq events replay publishes them all', async () => {
    // Prepare: tasks that end every way, while every publish fails
    const ids = [
      await h.submit({ type: 'echo', priority: 'high', payload: { i: 1 } }),
      await h.submit({ type: 'echo', priority: 'low', payload: { i: 2 } }),
      await h.submit({ type: 'flaky', priority: 'low', payload: { failures: 100 } }),
      await h.submit({ type: 'poison', priority: 'low', payload: {} }),
      await h.submit({ type: 'echo', priority: 'low', payload: {}, delay_seconds: 10 }),
    ];
    expect((await h.request('DELETE', `/tasks/${ids[4]}`)).status).toBe(200);
    const fanout = await h.submit({ type: 'demo.fanout', priority: 'low', payload: { ms: 10 } });
    const before = await Promise.all([...ids, fanout].map((id) => h.finished(id)));
    const transitions = before.length - 1 + 2; // the fan-out's two deliveries, each with its event
    const kept = await eventually(async () => {
      const events = (await unpublished()).filter((e) => [...ids, fanout].includes(e.body.task_id));
      return events.length >= transitions ? events : undefined;
    }, `${transitions} events kept in UnpublishedEvents`);
    const callsBefore = structuredClone(Object.fromEntries(h.calls));

    // Assess: kept whole, with their attributes; nothing reached the subscriber; the tasks ended as they would
    expect(kept).toHaveLength(transitions);
    for (const task of before.slice(0, ids.length))
      expect(kept.find((e) => e.body.task_id === task.task_id)).toEqual(expectedEvent(task));
    expect(
      kept
        .filter((e) => e.body.task_id === fanout)
        .map((e) => e.body.subscriber)
        .sort(),
    ).toEqual(['echo', 'sleep']);
    await inbox.drain();
    expect(inbox.events).toEqual([]);
    expect(before.map((t) => t.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'FAILED',
      'FAILED',
      'CANCELLED',
      'SUCCEEDED',
    ]);
    expect(before.map((t) => t.attempts)).toEqual([1, 1, MAX_RECEIVE_COUNT, 1, 0, 2]);

    // Act
    const replay = await h.taskq('--json', 'events', 'replay');

    // Assess: every kept event published, the queue empty, every transition on the subscriber queue once
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ published: transitions, kept: 0 });
    expect(await unpublished()).toEqual([]);
    const events = await inbox.await([...ids, fanout], transitions);
    expect(events.map((e) => e.body.event_id).sort()).toEqual(kept.map((e) => e.body.event_id).sort());
    expect(events).toEqual(expect.arrayContaining(kept));
    // No task was failed or run again by it
    const after = await Promise.all([...ids, fanout].map((id) => h.finished(id)));
    expect(after).toEqual(before);
    expect(Object.fromEntries(h.calls)).toEqual(callsBefore);
  });
});
