/**
 * Topics (publish/subscribe) through the real local runtime (fauxqs, DynamoDB Local, the consumers' fan-out with
 * SendMessageBatch). One boot for the whole file: the demo agents run in this process (`--agents-url`), so that the
 * test sees every request an agent received, by task id; the runtime gets two topics of its own (`--topics`) beside
 * the demo's `demo.fanout` (echo, sleep):
 * - `t.mixed`: `echo` and `flaky`. A payload `{"failures": 100}` makes every `flaky` attempt answer 503 (a transient
 *   failure, so it is retried) while `echo` ignores it;
 * - `t.pair`: `echo` and `sleep`, for the replay and the cancellation;
 * - `t.count`: `echo` and `sleep`, for the TasksAccepted count alone.
 * maxReceiveCount is 3 and the local backoff is 1 s to 5 s, so a delivery that keeps failing dead-letters in seconds.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULTS } from '../../lambda/contract';
import type { TaskView } from '../../lambda/core/task';
import { deliveryTaskId } from '../../lambda/core/topics';
import { isTerminal } from '../../lambda/core/transitions';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, type RunningRuntime, runTaskq } from './support/local-runtime';

jest.setTimeout(240_000);

const MAX_RECEIVE_COUNT = 3;
const TOPICS = {
  't.mixed': { subscribers: ['echo', 'flaky'] },
  't.pair': { subscribers: ['echo', 'sleep'] },
  // Only the TasksAccepted test publishes to it, so that its count is that test's alone.
  't.count': { subscribers: ['echo', 'sleep'] },
};

let agents: DemoAgents;
let runtime: RunningRuntime;
let sqs: SQSClient;
/** Task id → the agent requests it received (every attempt), in order. */
const received = new Map<string, number[]>();

const calls = (taskId: string) => received.get(taskId)?.length ?? 0;

interface Answer {
  readonly status: number;
  readonly body: TaskView & { error?: { code: string; message: string } };
}

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${runtime.apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined && { body }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const publish = (request: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call('POST', '/tasks', JSON.stringify(request), headers);
const getTask = async (id: string) => {
  const answer = await call('GET', `/tasks/${id}`);
  if (answer.status !== 200) throw new Error(`GET /tasks/${id} answered ${answer.status}`);
  return answer.body;
};

function finished(id: string, withinMs = 90_000): Promise<TaskView> {
  return eventually(
    async () => {
      const task = await getTask(id);
      return isTerminal(task.status) ? task : undefined;
    },
    `published task ${id} finishing`,
    withinMs,
  );
}

/** Every message of a queue, visible now, without consuming any. */
async function queueBodies(queueUrl: string): Promise<string[]> {
  const bodies = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    for (const m of out.Messages ?? []) bodies.set(m.MessageId!, m.Body ?? '');
  }
  return [...bodies.values()];
}

/** `taskq --endpoint <runtime> ...args`, in process; resolves with the exit code and what it printed. */
function taskq(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTaskq(runtime.apiUrl, ...args);
}

beforeAll(async () => {
  agents = await startDemoAgents({
    beforeAnswer: async (request) => {
      const id = String(request.task_id);
      received.set(id, [...(received.get(id) ?? []), Number(request.attempt)]);
    },
  });
  runtime = await bootRuntime({
    agentsUrl: agents.url,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    topics: TOPICS,
  });
  sqs = runtime.sqsClient();
});

afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
  await agents?.close();
});

describe('Topics on the local runtime', () => {
  it('lists the topics in the banner, the demo topic among them', () => {
    expect(runtime.output()).toContain('demo.fanout → echo, sleep');
    expect(runtime.output()).toContain('t.mixed → echo, flaky');
  });

  it('a failing subscriber retries and dead-letters alone; the other succeeds; the published task FAILED', async () => {
    // Act
    const answer = await publish({ type: 't.mixed', priority: 'low', payload: { failures: 100 } });
    expect(answer.status).toBe(202);
    const id = answer.body.task_id;
    const echoId = deliveryTaskId(id, 'echo');
    const flakyId = deliveryTaskId(id, 'flaky');
    const task = await finished(id);

    // Assess: each delivery on its own
    expect(task.status).toBe('FAILED');
    expect(task.deliveries?.echo).toMatchObject({ task_id: echoId, status: 'SUCCEEDED', attempts: 1 });
    expect(task.deliveries?.echo?.result).toEqual({ echo: { failures: 100 } });
    expect(task.deliveries?.flaky).toMatchObject({
      task_id: flakyId,
      status: 'FAILED',
      attempts: MAX_RECEIVE_COUNT,
    });
    expect(task.deliveries?.flaky?.error?.code).toBe('AgentHttp503');
    expect(task.attempts).toBe(1 + MAX_RECEIVE_COUNT);
    expect(received.get(flakyId)).toEqual([1, 2, 3]);
    expect(calls(echoId)).toBe(1);

    // Only the failing delivery's message reached the low DLQ: not the echo delivery, not the publish message.
    const dlq = runtime.outputs.LowDeadLetterQueueUrl!;
    const ours = await eventually(async () => {
      const bodies = (await queueBodies(dlq)).filter((b) => b.includes(id));
      return bodies.length > 0 ? bodies : undefined;
    }, 'the failing delivery reaching the DLQ');
    expect(ours.map((b) => (JSON.parse(b) as { task_id: string }).task_id)).toEqual([flakyId]);
    expect(await queueBodies(runtime.outputs.HighDeadLetterQueueUrl!)).toEqual([]);

    // taskq dlq list shows it as a delivery of the published task.
    const list = await taskq('--json', 'dlq', 'list', '--task', id);
    expect(list.code).toBe(0);
    const { dead_letters } = JSON.parse(list.stdout) as { dead_letters: Record<string, unknown>[] };
    expect(dead_letters).toEqual([
      expect.objectContaining({
        tier: 'low',
        task_id: flakyId,
        type: 'flaky',
        topic: 't.mixed',
        subscriber: 'flaky',
        published_task_id: id,
        status: 'FAILED',
        attempts: MAX_RECEIVE_COUNT,
      }),
    ]);

    // taskq status prints both deliveries.
    const status = await taskq('status', id);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/echo\s+SUCCEEDED\s+1 attempt\n/);
    expect(status.stdout).toMatch(new RegExp(`flaky\\s+FAILED\\s+${MAX_RECEIVE_COUNT} attempts`));

    // Redriving that one delivery runs it again (and it fails again), and leaves the echo delivery alone.
    const redrive = await taskq('--json', 'dlq', 'redrive', '--task', flakyId);
    expect(redrive.code).toBe(0);
    const { tiers } = JSON.parse(redrive.stdout) as { tiers: Array<{ tier: string; requeued: string[] }> };
    expect(tiers.find((t) => t.tier === 'low')?.requeued).toEqual([flakyId]);
    const again = await eventually(async () => {
      const view = await getTask(id);
      const flaky = view.deliveries?.flaky;
      return flaky?.status === 'FAILED' && calls(flakyId) >= 2 * MAX_RECEIVE_COUNT ? view : undefined;
    }, 'the redriven delivery failing again');
    expect(received.get(flakyId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(again.deliveries?.echo).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(calls(echoId)).toBe(1);
  });

  it('an idempotent replay answers 200 with the same task and makes no new deliveries', async () => {
    // Prepare
    const key = randomUUID();
    const request = { type: 't.pair', priority: 'low', payload: { ms: 10 } };
    const first = await publish(request, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const id = first.body.task_id;

    // Act: once while it runs, once after it ended
    const early = await publish(request, { 'idempotency-key': key });
    const done = await finished(id);
    const late = await publish(request, { 'idempotency-key': key });
    // Time for a delivery that a replay would have made to run.
    await new Promise((resolve) => setTimeout(resolve, 4000));

    // Assess
    expect(early.status).toBe(200);
    expect(early.body.task_id).toBe(id);
    expect(late.status).toBe(200);
    expect(late.body.task_id).toBe(id);
    expect(done.status).toBe('SUCCEEDED');
    expect(calls(deliveryTaskId(id, 'echo'))).toBe(1);
    expect(calls(deliveryTaskId(id, 'sleep'))).toBe(1);
    const after = await getTask(id);
    expect(after.attempts).toBe(2);
    expect(after.deliveries?.echo?.attempts).toBe(1);
    expect(after.deliveries?.sleep?.attempts).toBe(1);
    // And nothing of it waits in a queue.
    const queued = [
      ...(await queueBodies(runtime.outputs.LowQueueUrl!)),
      ...(await queueBodies(runtime.outputs.HighQueueUrl!)),
    ];
    expect(queued.filter((b) => b.includes(id))).toEqual([]);
  });

  it('counts a published task once in TasksAccepted, under its topic: not its deliveries, nor a replay', async () => {
    // Prepare
    const key = randomUUID();
    const request = { type: 't.count', priority: 'high', payload: { ms: 10 } };

    // Act: two published tasks, one of them replayed
    const first = await publish(request, { 'idempotency-key': key });
    const replay = await publish(request, { 'idempotency-key': key });
    const second = await publish(request);
    await Promise.all([finished(first.body.task_id), finished(second.body.task_id)]);

    // Assess: the accepted-tasks counter's EMF lines (one a stream batch) add up to the two tasks
    expect([first.status, replay.status, second.status]).toEqual([202, 200, 202]);
    const accepted = () =>
      runtime
        .output()
        .split('\n')
        .filter((line) => line.startsWith('[TaskQueueAcceptedTasksFunction'))
        .map((line) => JSON.parse(line.slice(line.indexOf('] ') + 2)) as Record<string, unknown>)
        .filter((doc) => doc.TaskType === 't.count');
    const counted = await eventually(async () => {
      const docs = accepted();
      const sum = docs.reduce((n, doc) => n + Number(doc.TasksAccepted), 0);
      return sum >= 2 ? docs : undefined;
    }, 'the TasksAccepted lines of t.count');
    // A late stream batch would add to it: give the counter one more window.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(accepted().reduce((n, doc) => n + Number(doc.TasksAccepted), 0)).toBe(2);
    expect(counted.every((doc) => doc.Tier === 'high')).toBe(true);
  });

  it('DELETE of a delayed publish cancels every delivery and no agent is called; a finished one is 409', async () => {
    // Prepare
    const answer = await publish({ type: 't.pair', priority: 'high', payload: { ms: 10 }, delay_seconds: 3 });
    expect(answer.status).toBe(202);
    const id = answer.body.task_id;

    // Act
    const cancelled = await call('DELETE', `/tasks/${id}`);
    // Past the delay: the publish message comes back, fans out, and its deliveries find themselves cancelled.
    await eventually(async () => {
      const queued = [
        ...(await queueBodies(runtime.outputs.HighQueueUrl!)),
        ...(await queueBodies(runtime.outputs.LowQueueUrl!)),
      ];
      return queued.some((b) => b.includes(id)) ? undefined : true;
    }, 'the cancelled publish leaving the queues');
    await new Promise((resolve) => setTimeout(resolve, 5000));

    // Assess
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    expect(cancelled.body.deliveries?.echo?.status).toBe('CANCELLED');
    expect(cancelled.body.deliveries?.sleep?.status).toBe('CANCELLED');
    const later = await getTask(id);
    expect(later.status).toBe('CANCELLED');
    expect(later.deliveries?.echo).toMatchObject({ status: 'CANCELLED', attempts: 0 });
    expect(later.deliveries?.sleep).toMatchObject({ status: 'CANCELLED', attempts: 0 });
    expect(calls(deliveryTaskId(id, 'echo'))).toBe(0);
    expect(calls(deliveryTaskId(id, 'sleep'))).toBe(0);

    // A published task that finished cannot be cancelled.
    const ended = await publish({ type: 't.pair', priority: 'low', payload: { ms: 1 } });
    await finished(ended.body.task_id);
    const refused = await call('DELETE', `/tasks/${ended.body.task_id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe('NotCancellable');
  });

  it("runs a published high task's deliveries from the high tier, and GET of a delivery names its topic", async () => {
    // Act
    const high = await publish({ type: 'demo.fanout', priority: 'high', payload: { ms: 10 } });
    const low = await publish({ type: 'demo.fanout', priority: 'low', payload: { ms: 10 } });
    expect([high.status, low.status]).toEqual([202, 202]);
    await Promise.all([finished(high.body.task_id), finished(low.body.task_id)]);

    // Assess
    for (const [published, priority] of [
      [high.body.task_id, 'high'],
      [low.body.task_id, 'low'],
    ] as const) {
      for (const subscriber of ['echo', 'sleep']) {
        const delivery = await getTask(deliveryTaskId(published, subscriber));
        expect(delivery).toMatchObject({
          task_id: deliveryTaskId(published, subscriber),
          type: subscriber,
          priority,
          status: 'SUCCEEDED',
          topic: 'demo.fanout',
          published_task_id: published,
        });
        expect(delivery.deliveries).toBeUndefined();
      }
    }
    // Each delivery was claimed and run by its tier's consumer, which reads that tier's queue only: its
    // `task succeeded` line (which carries the claim, README "Logs") is in that consumer's log. The runtime
    // prefixes every log line with the function's logical id.
    const claimers = (taskId: string) =>
      runtime
        .output()
        .split('\n')
        .filter((line) => line.includes(taskId) && line.includes('"message":"task succeeded"'))
        .map((line) => /^\[TaskQueue(High|Low)Consumer/.exec(line)?.[1]);
    for (const subscriber of ['echo', 'sleep']) {
      expect(claimers(deliveryTaskId(high.body.task_id, subscriber))).toEqual(['High']);
      expect(claimers(deliveryTaskId(low.body.task_id, subscriber))).toEqual(['Low']);
    }
  });

  it('a published task accepts a body of the largest size a queued task accepts', async () => {
    // Prepare: bodies of exactly maxBodyBytes bytes
    const sized = (type: string) => {
      const base = JSON.stringify({ type, priority: 'low', payload: { ms: 0, pad: '' } });
      const pad = 'x'.repeat(DEFAULTS.maxBodyBytes - Buffer.byteLength(base));
      const body = JSON.stringify({ type, priority: 'low', payload: { ms: 0, pad } });
      expect(Buffer.byteLength(body)).toBe(DEFAULTS.maxBodyBytes);
      return body;
    };

    // Act
    const queued = await call('POST', '/tasks', sized('sleep'));
    const published = await call('POST', '/tasks', sized('demo.fanout'));
    const tooBig = await call('POST', '/tasks', `${sized('demo.fanout').slice(0, -1)} }`);

    // Assess
    expect(queued.status).toBe(202);
    expect(published.status).toBe(202);
    expect(tooBig.status).toBe(413);
    // Its deliveries carry the whole payload through SQS: sleep runs it.
    const task = await finished(published.body.task_id);
    expect(task.deliveries?.sleep).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(isTerminal(task.deliveries!.echo!.status)).toBe(true);
    expect((await finished(queued.body.task_id)).status).toBe('SUCCEEDED');
  });
});
