/**
 * `taskq top --endpoint` against the real local runtime, in a pseudo-terminal: tasks are submitted (echo tasks
 * that succeed, a poison task that ends in the DLQ, slow tasks that hold the `limited` type's two slots and keep
 * messages in flight), then one frame is checked against the dashboard API read just before and just after it
 * (each figure must be the one of either read: the figures move while tasks age out of the last minute), and its
 * depths against the queues themselves (SQS GetQueueAttributes on the emulator).
 */
import * as path from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { OVERVIEW_PATH } from '../../cli/top/local-source';
import type { AgentOverview, Overview, TierOverview } from '../../cli/top/overview';
import {
  formatCount,
  formatLimit,
  formatMilliseconds,
  formatRate,
  formatSeconds,
} from '../../cli/top/render';
import { Ansi } from '../../cli/top/screen';
import { bootRuntime, eventually, type RunningRuntime } from './support/local-runtime';
import { frames, type PtyRun, row, runUnderPty } from './support/pty';

jest.setTimeout(240_000);

const ROOT = path.join(__dirname, '..', '..');
const TASKQ = path.join(ROOT, 'bin', 'taskq');

const perMinute = (n: number) => (Number.isInteger(n) ? formatCount(n) : formatRate(n));
const tierCells = (t: TierOverview) => [
  t.tier,
  formatCount(t.visible),
  formatCount(t.in_flight),
  formatCount(t.delayed),
  formatRate(t.produced_per_second),
  formatRate(t.consumed_per_second),
  formatSeconds(t.oldest_age_seconds),
  formatCount(t.dlq_depth),
];
const agentCells = (a: AgentOverview) => [
  a.type,
  formatCount(a.running),
  perMinute(a.succeeded_per_minute),
  perMinute(a.failed_per_minute),
  formatMilliseconds(a.latency_ms.p50),
  formatMilliseconds(a.latency_ms.p95),
  ...formatLimit(a.limit).split(/ {2,}/),
];

/** Each cell of `shown` is the one of `before` or of `after`. */
function expectCellsFrom(shown: readonly string[] | undefined, before: string[], after: string[]): void {
  expect(shown).toHaveLength(before.length);
  shown!.forEach((cell, i) => {
    expect([before[i], after[i]]).toContain(cell);
  });
}

describe('taskq top against the local runtime, under a pseudo-terminal', () => {
  let runtime: RunningRuntime;
  let sqs: SQSClient;
  let pty: PtyRun | undefined;

  const overview = async (): Promise<Overview> => {
    const response = await fetch(`${runtime.apiUrl}${OVERVIEW_PATH}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Overview;
  };
  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const response = await fetch(`${runtime.apiUrl}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { task_id: string }).task_id;
  };
  const status = async (id: string) =>
    ((await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).json()) as { status: string }).status;
  const depth = async (queueUrl: string) => {
    const { Attributes: a = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(a.ApproximateNumberOfMessages),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
    };
  };

  beforeAll(async () => {
    runtime = await bootRuntime({});
    sqs = runtime.sqsClient();
  });

  afterAll(async () => {
    pty?.kill();
    sqs?.destroy();
    await runtime?.stop();
  });

  it('draws the figures the dashboard API and the queues give, and exits 0 on q with the terminal restored', async () => {
    // Prepare: finished echo tasks, a dead letter, and slow tasks holding slots and messages in flight
    const echoes = await Promise.all(
      [1, 2, 3, 4].map((i) => submit({ type: 'echo', payload: { i }, priority: 'high' })),
    );
    const poison = await submit({ type: 'poison', payload: {}, priority: 'high' });
    await Promise.all(
      [1, 2].map(() => submit({ type: 'limited', payload: { ms: 50_000 }, priority: 'low' })),
    );
    await eventually(async () => {
      const done = await Promise.all([...echoes, poison].map(status));
      return done.every((s) => s === 'SUCCEEDED' || s === 'FAILED') ? true : undefined;
    }, 'the echo and poison tasks ending');
    await eventually(async () => {
      const now = await overview();
      const high = now.tiers.find((t) => t.tier === 'high');
      const limited = now.agents.find((a) => a.type === 'limited');
      return high?.dlq_depth === 1 && limited?.running === 2 ? true : undefined;
    }, 'the dead letter and the two limited tasks showing');

    pty = runUnderPty([process.execPath, TASKQ, '--endpoint', runtime.apiUrl, 'top'], {
      columns: 120,
      rows: 40,
      cwd: ROOT,
    });
    await pty.waitFor((out) => frames(out).length > 0, 'the first frame', 60_000);

    // Act: a frame whose read began after `before` and was drawn before `after`
    const before = await overview();
    const seen = frames(pty.output()).length;
    await pty.waitFor((out) => frames(out).length >= seen + 2, 'two more frames');
    const after = await overview();
    const frame = frames(pty.output())[seen + 1]!;
    const queues = {
      high: await depth(runtime.outputs.HighQueueUrl!),
      low: await depth(runtime.outputs.LowQueueUrl!),
      highDlq: await depth(runtime.outputs.HighDeadLetterQueueUrl!),
    };
    pty.type('q');
    const { code, stty } = await pty.finished();

    // Assess: the frame against the API
    for (const tier of ['high', 'low'] as const) {
      const pick = (o: Overview) => o.tiers.find((t) => t.tier === tier)!;
      expectCellsFrom(row(frame, tier), tierCells(pick(before)), tierCells(pick(after)));
    }
    for (const type of ['echo', 'poison', 'limited']) {
      const pick = (o: Overview) => o.agents.find((a) => a.type === type)!;
      expectCellsFrom(row(frame, type), agentCells(pick(before)), agentCells(pick(after)));
    }
    // ... and against the queues: nothing waits in high, the two slow tasks are in flight in low, one dead letter
    expect(row(frame, 'high')?.[1]).toBe(String(queues.high.visible));
    expect(row(frame, 'low')?.[2]).toBe(String(queues.low.inFlight));
    expect(queues.low.inFlight).toBe(2);
    expect(row(frame, 'high')?.[7]).toBe(String(queues.highDlq.visible));
    expect(row(frame, 'echo')?.[2]).toBe('4');
    expect(row(frame, 'limited')?.slice(-2)).toEqual(['slots 2/2', 'rate 10/1s']);

    // ... and the terminal given back
    expect(code).toBe(0);
    const all = pty.output();
    expect(all.lastIndexOf(Ansi.leaveAlternateScreen)).toBeGreaterThan(all.lastIndexOf(Ansi.home));
    expect(all.lastIndexOf(Ansi.showCursor)).toBeGreaterThan(all.lastIndexOf(Ansi.hideCursor));
    expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
    expect(stty).toMatch(/(^|\s)echo(\s|$)/);
  });
});
