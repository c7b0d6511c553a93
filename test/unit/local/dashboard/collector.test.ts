import type { AgentTarget } from '../../../../lambda/contract';
import type { CounterState } from '../../../../lambda/core/limits';
import {
  agentFigures,
  type CollectorSources,
  DashboardCollector,
  percentile,
  type QueueState,
  SecondBuckets,
  type TaskRow,
} from '../../../../local/dashboard/collector';
import type { TaskQueueLayout } from '../../../../local/dashboard/layout';

const T0 = Date.parse('2026-12-02T15:00:00.000Z');

const layout: TaskQueueLayout = {
  queue: 'TaskQueue',
  tableName: 'tasks',
  limitsTableName: 'limits',
  tiers: [
    {
      tier: 'high',
      queueUrl: 'u/high',
      queueName: 'high',
      deadLetterQueueUrl: 'u/high-dlq',
      deadLetterQueueName: 'high-dlq',
    },
    {
      tier: 'low',
      queueUrl: 'u/low',
      queueName: 'low',
      deadLetterQueueUrl: 'u/low-dlq',
      deadLetterQueueName: 'low-dlq',
    },
  ],
  agents: {
    echo: { kind: 'http', url: 'http://a/echo', timeoutSeconds: 10 },
    limited: {
      kind: 'http',
      url: 'http://a/l',
      timeoutSeconds: 10,
      maxConcurrency: 2,
      rateLimit: { requests: 10, per: 1 },
    },
    'async-echo': {
      kind: 'http',
      url: 'http://a/ae',
      timeoutSeconds: 10,
      mode: 'async',
      heartbeatTimeoutSeconds: 10,
    },
  },
};

function collector(opts: {
  now: { ms: number };
  queues?: Record<string, QueueState>;
  rows?: TaskRow[];
  counters?: Map<string, CounterState>;
}) {
  let scans = 0;
  const sources: CollectorSources = {
    stackName: 'Stack',
    layouts: [layout],
    now: () => opts.now.ms,
    queueState: (name) => opts.queues?.[name] ?? { visible: 0, inFlight: 0, delayed: 0 },
    tasks: async () => {
      scans += 1;
      return opts.rows ?? [];
    },
    counters: async () => opts.counters ?? new Map(),
  };
  return { c: new DashboardCollector(sources, 5), scans: () => scans };
}

describe('SecondBuckets', () => {
  it('sums the seconds of a range, and forgets seconds older than its capacity', () => {
    const b = new SecondBuckets(10);
    b.add(1_000);
    b.add(1_999);
    b.add(2_000);
    b.add(5_500, 3);
    expect(b.sum(1, 2)).toBe(2);
    expect(b.sum(1, 6)).toBe(6);
    b.add(12_000); // second 12 overwrites second 2's slot
    expect(b.sum(0, 13)).toBe(4);
  });
});

describe('percentile', () => {
  it('takes the nearest rank; null without values', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([10], 0.95)).toBe(10);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.95)).toBe(95);
  });
});

describe('DashboardCollector tiers', () => {
  it('reports visible, in flight, delayed, lag and DLQ depth from the queues', async () => {
    const now = { ms: T0 };
    const { c } = collector({
      now,
      queues: {
        high: { visible: 3, inFlight: 2, delayed: 1, oldestSentMs: T0 - 42_500 },
        'high-dlq': { visible: 4, inFlight: 1, delayed: 0, oldestSentMs: T0 - 5_000 },
      },
    });
    const [high, low] = c.tierFigures();
    expect(high).toMatchObject({
      tier: 'high',
      queue: 'TaskQueue',
      visible: 3,
      in_flight: 2,
      delayed: 1,
      oldest_age_seconds: 42,
      dlq_depth: 5,
      dlq_oldest_age_seconds: 5,
    });
    expect(low).toMatchObject({ tier: 'low', visible: 0, oldest_age_seconds: 0, dlq_depth: 0 });
  });

  it('rates count sends and deletes of the last 60 seconds only, per tier queue', () => {
    const now = { ms: T0 };
    const { c } = collector({ now });
    for (let i = 0; i < 30; i++) c.recordSent('high', T0 - 70_000 + i); // over a minute ago
    for (let i = 0; i < 12; i++) c.recordSent('high', T0 - 30_000 + i);
    for (let i = 0; i < 6; i++) c.recordDeleted('high', T0 - 1_000 + i);
    c.recordSent('low', T0);
    c.recordSent('high-dlq', T0); // not a tier queue
    const [high, low] = c.tierFigures();
    expect(high!.produced_last_minute).toBe(12);
    expect(high!.produced_per_second).toBeCloseTo(12 / 60);
    expect(high!.consumed_last_minute).toBe(6);
    expect(high!.consumed_per_second).toBeCloseTo(0.1);
    expect(low!.produced_last_minute).toBe(1);
    now.ms = T0 + 61_000;
    expect(c.tierFigures()[0]!.produced_last_minute).toBe(0);
  });

  it('samples depth and the rates since the previous point, each event in exactly one point', () => {
    const now = { ms: T0 };
    const queues: Record<string, QueueState> = { high: { visible: 7, inFlight: 1, delayed: 0 } };
    const { c } = collector({ now, queues });
    for (let i = 0; i < 10; i++) c.recordSent('high', T0 + 500 + i * 400); // 10 sends over 4 s
    now.ms = T0 + 5_000;
    const first = c.sample();
    expect(first.tiers.high).toEqual({ depth: 8, in_flight: 1, produced: 2, consumed: 0, dlq_depth: 0 });
    c.recordDeleted('high', T0 + 5_200);
    now.ms = T0 + 10_000;
    const second = c.sample();
    expect(second.tiers.high!.produced).toBe(0);
    expect(second.tiers.high!.consumed).toBeCloseTo(0.2);
  });

  it('keeps 15 minutes of points, oldest first', async () => {
    const now = { ms: T0 };
    const { c } = collector({ now });
    for (let i = 1; i <= 200; i++) {
      now.ms = T0 + i * 5_000;
      c.sample();
    }
    const { series } = await c.overview();
    expect(series.interval_seconds).toBe(5);
    expect(series.points).toHaveLength(180);
    expect(series.points[0]!.t).toBe(new Date(T0 + 21 * 5_000).toISOString());
    expect(series.points.at(-1)!.t).toBe(new Date(T0 + 200 * 5_000).toISOString());
  });
});

describe('agent figures', () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const done = (type: string, status: string, startedMs: number, tookMs: number): TaskRow => ({
    task_id: `${type}-${startedMs}`,
    type,
    status,
    started_at: iso(startedMs),
    finished_at: iso(startedMs + tookMs),
  });

  it('counts running, succeeded and failed in the last minute, and latency percentiles over 15 minutes', () => {
    const rows: TaskRow[] = [
      { task_id: 'r1', type: 'echo', status: 'RUNNING', started_at: iso(T0 - 1000) },
      done('echo', 'SUCCEEDED', T0 - 10_000, 100),
      done('echo', 'SUCCEEDED', T0 - 20_000, 300),
      done('echo', 'FAILED', T0 - 30_000, 200),
      done('echo', 'SUCCEEDED', T0 - 5 * 60_000, 1000), // outside the minute, inside 15 minutes
      done('echo', 'SUCCEEDED', T0 - 20 * 60_000, 9000), // outside both
      done('echo', 'CANCELLED', T0 - 10_000, 5),
      done('other', 'SUCCEEDED', T0 - 10_000, 7),
      { task_id: 'q', type: 'echo', status: 'QUEUED' },
    ];
    const echo = agentFigures('echo', layout.agents.echo!, 'TaskQueue', rows, undefined, T0);
    expect(echo).toEqual({
      type: 'echo',
      queue: 'TaskQueue',
      mode: 'sync',
      running: 1,
      succeeded_per_minute: 2,
      failed_per_minute: 1,
      latency_ms: { p50: 200, p95: 1000, samples: 4 },
    });
  });

  it('reads the limit in use from the live holders of the agent counter, and the rate from its starts', () => {
    const counter: CounterState = {
      holders: { 'a/1': T0 + 60_000, 'b/1': T0 + 1_000, 'c/1': T0 - 1 },
      starts: [T0 - 200, T0 - 900, T0 - 5_000],
      version: 3,
    };
    const limited = agentFigures('limited', layout.agents.limited!, 'TaskQueue', [], counter, T0);
    expect(limited.limit).toEqual({
      max_concurrency: 2,
      in_use: 2,
      rate_limit: { requests: 10, per_seconds: 1, used: 2 },
    });
    expect(agentFigures('echo', layout.agents.echo!, 'TaskQueue', [], undefined, T0).limit).toBeUndefined();
  });

  it('lists running async tasks with their progress; sync agents have no such list', () => {
    const rows: TaskRow[] = [
      {
        task_id: 'a1',
        type: 'async-echo',
        status: 'RUNNING',
        agent_mode: 'async',
        progress: { percent: 40, message: 'step 2' },
        heartbeat_at: iso(T0 - 500),
        lease_until: T0 + 9_500,
      },
      { task_id: 'a2', type: 'async-echo', status: 'SUCCEEDED' },
    ];
    const target: AgentTarget = layout.agents['async-echo']!;
    const figures = agentFigures('async-echo', target, 'TaskQueue', rows, undefined, T0);
    expect(figures.mode).toBe('async');
    expect(figures.async_running).toEqual([
      {
        task_id: 'a1',
        progress: { percent: 40, message: 'step 2' },
        heartbeat_at: iso(T0 - 500),
        deadline: iso(T0 + 9_500),
      },
    ]);
    expect(
      agentFigures('echo', layout.agents.echo!, 'TaskQueue', rows, undefined, T0).async_running,
    ).toBeUndefined();
  });

  it('reads the tables at most once a second however often the overview is asked for', async () => {
    const now = { ms: T0 };
    const { c, scans } = collector({ now, rows: [] });
    await Promise.all([c.overview(), c.overview(), c.overview()]);
    now.ms += 500;
    await c.overview();
    expect(scans()).toBe(1);
    now.ms += 1_000;
    const overview = await c.overview();
    expect(scans()).toBe(2);
    expect(overview.agents.map((a) => a.type)).toEqual(['echo', 'limited', 'async-echo']);
    expect(overview.stack).toBe('Stack');
  });
});
