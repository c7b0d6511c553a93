/**
 * The dashboard's numbers (docs: DASHBOARD-API, `GET /_local/dashboard/api/overview`): per tier the queue's
 * messages, its produce and consume rates and its lag; per agent type what runs, what finished, how long it took
 * and the limit in use; and a 15-minute series of depth and rates, sampled into a ring buffer.
 *
 * Rates count what the SQS emulator did, as CloudWatch's NumberOfMessagesSent and NumberOfMessagesDeleted do:
 * every message sent to a tier queue, every message deleted from it (`recordSent`, `recordDeleted`), in
 * one-second buckets. The rest is read when asked: queue state from the emulator, agent figures from the task
 * table (started_at, finished_at, status) and the limits table (live holders of `agent#<type>`).
 */
import type { AgentTarget, AgentTargets } from '../../lambda/contract';
import { agentCounterKey, type CounterState, liveHolders } from '../../lambda/core/limits';
import type { TaskProgress } from '../../lambda/core/task';
import type { TaskQueueLayout } from './layout';

/** How long the series reaches back, and how long a finished task counts toward the latency percentiles. */
export const SERIES_SECONDS = 15 * 60;
/** The window of the rates and of succeeded/failed per minute. */
export const RATE_WINDOW_SECONDS = 60;
/** @default interval of the series */
export const DEFAULT_SAMPLE_SECONDS = 5;

/** One queue as the emulator holds it now. */
export interface QueueState {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** When the oldest message was sent (epoch ms); absent when the queue is empty. */
  readonly oldestSentMs?: number;
}

/** The fields of a task record the agent figures need. */
export interface TaskRow {
  readonly task_id: string;
  readonly type: string;
  readonly status: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly agent_mode?: string;
  readonly progress?: TaskProgress;
  readonly heartbeat_at?: string;
  readonly lease_until?: number;
}

export interface CollectorSources {
  readonly stackName: string;
  readonly layouts: readonly TaskQueueLayout[];
  readonly now: () => number;
  readonly queueState: (queueName: string) => QueueState;
  /** The task table of one TaskQueue (a Scan locally). */
  readonly tasks: (layout: TaskQueueLayout) => Promise<readonly TaskRow[]>;
  /** The limiter's counters of one TaskQueue, by key; empty without a limits table. */
  readonly counters: (layout: TaskQueueLayout) => Promise<ReadonlyMap<string, CounterState>>;
}

export interface TierFigures {
  readonly tier: string;
  readonly queue: string;
  readonly visible: number;
  readonly in_flight: number;
  readonly delayed: number;
  readonly produced_per_second: number;
  readonly consumed_per_second: number;
  /** Messages sent and deleted over the last 60 s (the rates times 60, as counts). */
  readonly produced_last_minute: number;
  readonly consumed_last_minute: number;
  readonly oldest_age_seconds: number;
  readonly dlq_depth: number;
  readonly dlq_oldest_age_seconds: number;
}

export interface AgentFigures {
  readonly type: string;
  readonly queue: string;
  readonly mode: 'sync' | 'async';
  readonly running: number;
  readonly succeeded_per_minute: number;
  readonly failed_per_minute: number;
  /** How many finished tasks the percentiles are taken over (last 15 minutes). */
  readonly latency_ms: { readonly p50: number | null; readonly p95: number | null; readonly samples: number };
  readonly limit?: {
    readonly max_concurrency?: number;
    readonly in_use: number;
    readonly rate_limit?: { readonly requests: number; readonly per_seconds: number; readonly used: number };
  };
  readonly async_running?: ReadonlyArray<{
    readonly task_id: string;
    readonly progress: TaskProgress;
    readonly heartbeat_at?: string;
    readonly deadline?: string;
  }>;
}

export interface SeriesPoint {
  readonly t: string;
  readonly tiers: Readonly<
    Record<
      string,
      {
        readonly depth: number;
        readonly in_flight: number;
        /** Messages per second over the point's interval. */
        readonly produced: number;
        readonly consumed: number;
        readonly dlq_depth: number;
      }
    >
  >;
}

export interface Overview {
  readonly generated_at: string;
  readonly stack: string;
  readonly tiers: readonly TierFigures[];
  readonly agents: readonly AgentFigures[];
  readonly series: { readonly interval_seconds: number; readonly points: readonly SeriesPoint[] };
}

/** Counts per second for the last `capacity` seconds; older seconds are overwritten. */
export class SecondBuckets {
  private readonly counts: Float64Array;
  private readonly seconds: Float64Array;

  public constructor(private readonly capacity: number) {
    this.counts = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity).fill(-1);
  }

  public add(atMs: number, n = 1): void {
    const second = Math.floor(atMs / 1000);
    const i = second % this.capacity;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }

  /** The count of the seconds from `fromSecond` (included) to `toSecond` (excluded), as far back as kept. */
  public sum(fromSecond: number, toSecond: number): number {
    let total = 0;
    for (let s = Math.max(fromSecond, toSecond - this.capacity); s < toSecond; s++) {
      const i = s % this.capacity;
      if (this.seconds[i] === s) total += this.counts[i]!;
    }
    return total;
  }
}

/** The nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1]!;
}

const time = (iso: string | undefined) => (iso === undefined ? Number.NaN : Date.parse(iso));

/** One agent type's figures from its tasks' rows and its counter. */
export function agentFigures(
  type: string,
  target: AgentTarget,
  queue: string,
  rows: readonly TaskRow[],
  counter: CounterState | undefined,
  nowMs: number,
): AgentFigures {
  const mine = rows.filter((r) => r.type === type);
  const running = mine.filter((r) => r.status === 'RUNNING');
  const minuteAgo = nowMs - RATE_WINDOW_SECONDS * 1000;
  const seriesStart = nowMs - SERIES_SECONDS * 1000;
  const finishedSince = (since: number, status: string) =>
    mine.filter((r) => r.status === status && time(r.finished_at) > since).length;
  const latencies = mine
    .filter(
      (r) =>
        (r.status === 'SUCCEEDED' || r.status === 'FAILED') &&
        time(r.finished_at) > seriesStart &&
        Number.isFinite(time(r.started_at)),
    )
    .map((r) => time(r.finished_at) - time(r.started_at))
    .filter((ms) => ms >= 0)
    .sort((a, b) => a - b);
  const limited = target.maxConcurrency !== undefined || target.rateLimit !== undefined;
  const rate = target.rateLimit;
  return {
    type,
    queue,
    mode: target.mode ?? 'sync',
    running: running.length,
    succeeded_per_minute: finishedSince(minuteAgo, 'SUCCEEDED'),
    failed_per_minute: finishedSince(minuteAgo, 'FAILED'),
    latency_ms: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      samples: latencies.length,
    },
    ...(limited && {
      limit: {
        ...(target.maxConcurrency !== undefined && { max_concurrency: target.maxConcurrency }),
        in_use: counter ? Object.keys(liveHolders(counter, nowMs)).length : 0,
        ...(rate && {
          rate_limit: {
            requests: rate.requests,
            per_seconds: rate.per,
            used: (counter?.starts ?? []).filter((start) => start > nowMs - rate.per * 1000).length,
          },
        }),
      },
    }),
    ...(target.mode === 'async' && {
      async_running: running
        .filter((r) => r.agent_mode === 'async')
        .map((r) => ({
          task_id: r.task_id,
          progress: r.progress ?? {},
          ...(r.heartbeat_at !== undefined && { heartbeat_at: r.heartbeat_at }),
          ...(r.lease_until !== undefined && { deadline: new Date(r.lease_until).toISOString() }),
        })),
    }),
  };
}

/** Agent figures are read from tables: at most once per this many ms, however many pages poll. */
const AGENT_CACHE_MS = 900;

export class DashboardCollector {
  private readonly sent = new Map<string, SecondBuckets>();
  private readonly deleted = new Map<string, SecondBuckets>();
  private readonly points: SeriesPoint[] = [];
  private readonly maxPoints: number;
  private lastSampleSecond: number;
  private timer: NodeJS.Timeout | undefined;
  private agentCache: { at: number; figures: Promise<AgentFigures[]> } | undefined;

  public constructor(
    private readonly sources: CollectorSources,
    public readonly intervalSeconds = DEFAULT_SAMPLE_SECONDS,
  ) {
    this.maxPoints = Math.ceil(SERIES_SECONDS / intervalSeconds);
    this.lastSampleSecond = Math.floor(sources.now() / 1000);
    for (const layout of sources.layouts)
      for (const t of layout.tiers) {
        this.sent.set(t.queueName, new SecondBuckets(SERIES_SECONDS + 60));
        this.deleted.set(t.queueName, new SecondBuckets(SERIES_SECONDS + 60));
      }
  }

  /** A message was sent to a queue; queues that are no tier's are ignored. */
  public recordSent(queueName: string, atMs: number): void {
    this.sent.get(queueName)?.add(atMs);
  }

  /** A message was deleted from a queue (acknowledged). */
  public recordDeleted(queueName: string, atMs: number): void {
    this.deleted.get(queueName)?.add(atMs);
  }

  /** Samples every `intervalSeconds` until `stop`. */
  public start(): void {
    this.timer ??= setInterval(() => this.sample(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  public stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private seriesKey(queue: string, tier: string): string {
    return this.sources.layouts.length > 1 ? `${queue}/${tier}` : tier;
  }

  /** Adds a point: depth now, and the rates over the whole seconds since the last point. */
  public sample(): SeriesPoint {
    const nowMs = this.sources.now();
    const second = Math.floor(nowMs / 1000);
    const from = this.lastSampleSecond;
    const span = Math.max(1, second - from);
    const tiers: Record<string, SeriesPoint['tiers'][string]> = {};
    for (const layout of this.sources.layouts)
      for (const t of layout.tiers) {
        const state = this.sources.queueState(t.queueName);
        const dlq = this.sources.queueState(t.deadLetterQueueName);
        tiers[this.seriesKey(layout.queue, t.tier)] = {
          depth: state.visible + state.inFlight + state.delayed,
          in_flight: state.inFlight,
          produced: this.sent.get(t.queueName)!.sum(from, second) / span,
          consumed: this.deleted.get(t.queueName)!.sum(from, second) / span,
          dlq_depth: dlq.visible + dlq.inFlight + dlq.delayed,
        };
      }
    this.lastSampleSecond = second;
    const point = { t: new Date(nowMs).toISOString(), tiers };
    this.points.push(point);
    if (this.points.length > this.maxPoints) this.points.splice(0, this.points.length - this.maxPoints);
    return point;
  }

  public tierFigures(): TierFigures[] {
    const nowMs = this.sources.now();
    const second = Math.floor(nowMs / 1000);
    const age = (state: QueueState) =>
      state.oldestSentMs === undefined ? 0 : Math.max(0, Math.floor((nowMs - state.oldestSentMs) / 1000));
    return this.sources.layouts.flatMap((layout) =>
      layout.tiers.map((t) => {
        const state = this.sources.queueState(t.queueName);
        const dlq = this.sources.queueState(t.deadLetterQueueName);
        // The last 60 seconds, the current one included.
        const produced = this.sent.get(t.queueName)!.sum(second - RATE_WINDOW_SECONDS + 1, second + 1);
        const consumed = this.deleted.get(t.queueName)!.sum(second - RATE_WINDOW_SECONDS + 1, second + 1);
        return {
          tier: t.tier,
          queue: layout.queue,
          visible: state.visible,
          in_flight: state.inFlight,
          delayed: state.delayed,
          produced_per_second: produced / RATE_WINDOW_SECONDS,
          consumed_per_second: consumed / RATE_WINDOW_SECONDS,
          produced_last_minute: produced,
          consumed_last_minute: consumed,
          oldest_age_seconds: age(state),
          dlq_depth: dlq.visible + dlq.inFlight + dlq.delayed,
          dlq_oldest_age_seconds: age(dlq),
        };
      }),
    );
  }

  private async readAgentFigures(): Promise<AgentFigures[]> {
    const figures: AgentFigures[] = [];
    for (const layout of this.sources.layouts) {
      const [rows, counters] = await Promise.all([this.sources.tasks(layout), this.sources.counters(layout)]);
      const nowMs = this.sources.now();
      const agents: AgentTargets = layout.agents;
      for (const [type, target] of Object.entries(agents))
        figures.push(
          agentFigures(type, target, layout.queue, rows, counters.get(agentCounterKey(type)), nowMs),
        );
    }
    return figures;
  }

  /** Agent figures, read at most once per AGENT_CACHE_MS whoever asks. */
  public agentFigures(): Promise<AgentFigures[]> {
    const nowMs = this.sources.now();
    if (!this.agentCache || nowMs - this.agentCache.at >= AGENT_CACHE_MS) {
      const figures = this.readAgentFigures();
      this.agentCache = { at: nowMs, figures };
      figures.catch(() => {
        if (this.agentCache?.figures === figures) this.agentCache = undefined;
      });
    }
    return this.agentCache.figures;
  }

  public async overview(): Promise<Overview> {
    const agents = await this.agentFigures();
    return {
      generated_at: new Date(this.sources.now()).toISOString(),
      stack: this.sources.stackName,
      tiers: this.tierFigures(),
      agents,
      series: { interval_seconds: this.intervalSeconds, points: [...this.points] },
    };
  }
}
