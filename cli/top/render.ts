/**
 * The frame of `taskq top`: a pure function of the overview and the terminal's width. Every line is exactly
 * `width` characters (padded, or cut), ASCII only, so that a line's length is its width on screen and a redraw
 * overwrites the previous frame completely. Figures a source does not know (`null`) are shown as `-`.
 */
import type { AgentLimitOverview, AgentOverview, Overview, TierOverview } from './overview';

export interface FrameContext {
  /** Columns of the terminal. */
  readonly width: number;
  /** Where the figures come from (the source's description). */
  readonly source: string;
  /** The last read failed: shown under the figures, which are then the last good ones. @default - none */
  readonly error?: string;
  /** The bottom line, e.g. how to quit. @default - none */
  readonly hint?: string;
}

const UNKNOWN = '-';

/** A count: 1234, 12.3k, 123k, 1.2M. */
export function formatCount(n: number | null): string {
  if (n === null) return UNKNOWN;
  const abs = Math.abs(n);
  if (abs < 10_000) return String(Math.round(n));
  if (abs < 100_000) return `${(n / 1000).toFixed(1)}k`;
  if (abs < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A rate: 0, 0.05, 1.20, 12.5, 340, 12.3k. */
export function formatRate(r: number | null): string {
  if (r === null) return UNKNOWN;
  if (r === 0) return '0';
  const abs = Math.abs(r);
  if (abs < 10) return r.toFixed(2);
  if (abs < 100) return r.toFixed(1);
  return formatCount(r);
}

/** A per-minute figure: a count when whole, else a rate. */
const formatPerMinute = (n: number): string => (Number.isInteger(n) ? formatCount(n) : formatRate(n));

/** A duration in whole seconds: 0s, 42s, 3m05s, 2h14m, 3d02h. */
export function formatSeconds(s: number | null): string {
  if (s === null) return UNKNOWN;
  const total = Math.max(0, Math.floor(s));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m${pad(total % 60)}s`;
  if (total < 86_400) return `${Math.floor(total / 3600)}h${pad(Math.floor((total % 3600) / 60))}m`;
  return `${Math.floor(total / 86_400)}d${pad(Math.floor((total % 86_400) / 3600))}h`;
}

/** A latency: 12ms, 1.4s, 12s, then as formatSeconds. */
export function formatMilliseconds(ms: number | null): string {
  if (ms === null) return UNKNOWN;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  return formatSeconds(ms / 1000);
}

/** An agent's limits: `slots 1/2`, `rate 10/1s`, both, or `-`. */
export function formatLimit(limit: AgentLimitOverview | undefined): string {
  if (!limit) return UNKNOWN;
  const parts: string[] = [];
  if (limit.max_concurrency !== undefined)
    parts.push(`slots ${formatCount(limit.in_use)}/${formatCount(limit.max_concurrency)}`);
  else if (limit.in_use !== null) parts.push(`slots ${formatCount(limit.in_use)}`);
  if (limit.rate_limit)
    parts.push(
      `rate ${formatCount(limit.rate_limit.requests)}/${formatCount(limit.rate_limit.per_seconds)}s`,
    );
  return parts.length > 0 ? parts.join('  ') : UNKNOWN;
}

interface Column<Row> {
  readonly title: string;
  readonly width: number;
  readonly align: 'left' | 'right';
  readonly cell: (row: Row) => string;
}

function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string[] {
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => {
        const { width, align } = columns[i]!;
        // The last column is not padded: it may be as long as the line allows.
        if (i === columns.length - 1 && align === 'left') return text;
        const cut = text.length > width ? text.slice(0, width) : text;
        return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
      })
      .join('  ');
  return [line(columns.map((c) => c.title)), ...rows.map((row) => line(columns.map((c) => c.cell(row))))];
}

/** A text column as wide as its longest value (and its title), within bounds. */
const textWidth = (title: string, values: readonly string[], max: number) =>
  Math.min(max, Math.max(title.length, ...values.map((v) => v.length)));

function tierLines(tiers: readonly TierOverview[]): string[] {
  if (tiers.length === 0) return ['(no tiers)'];
  const queues = new Set(tiers.map((t) => t.queue));
  const columns: Column<TierOverview>[] = [
    // One TaskQueue (the usual stack) is named in the section title instead.
    ...(queues.size > 1
      ? [
          {
            title: 'QUEUE',
            width: textWidth(
              'QUEUE',
              tiers.map((t) => t.queue),
              24,
            ),
            align: 'left' as const,
            cell: (t: TierOverview) => t.queue,
          },
        ]
      : []),
    { title: 'TIER', width: 4, align: 'left', cell: (t) => t.tier },
    { title: 'VISIBLE', width: 7, align: 'right', cell: (t) => formatCount(t.visible) },
    { title: 'IN FLIGHT', width: 9, align: 'right', cell: (t) => formatCount(t.in_flight) },
    { title: 'DELAYED', width: 7, align: 'right', cell: (t) => formatCount(t.delayed) },
    { title: 'PRODUCE/S', width: 9, align: 'right', cell: (t) => formatRate(t.produced_per_second) },
    { title: 'CONSUME/S', width: 9, align: 'right', cell: (t) => formatRate(t.consumed_per_second) },
    { title: 'LAG', width: 6, align: 'right', cell: (t) => formatSeconds(t.oldest_age_seconds) },
    { title: 'DLQ', width: 6, align: 'right', cell: (t) => formatCount(t.dlq_depth) },
  ];
  return table(columns, tiers);
}

function agentLines(agents: readonly AgentOverview[]): string[] {
  if (agents.length === 0) return ['(no agent types)'];
  const columns: Column<AgentOverview>[] = [
    {
      title: 'TYPE',
      width: textWidth(
        'TYPE',
        agents.map((a) => a.type),
        20,
      ),
      align: 'left',
      cell: (a) => a.type,
    },
    { title: 'RUNNING', width: 7, align: 'right', cell: (a) => formatCount(a.running) },
    { title: 'OK/MIN', width: 7, align: 'right', cell: (a) => formatPerMinute(a.succeeded_per_minute) },
    { title: 'FAIL/MIN', width: 8, align: 'right', cell: (a) => formatPerMinute(a.failed_per_minute) },
    { title: 'P50', width: 6, align: 'right', cell: (a) => formatMilliseconds(a.latency_ms.p50) },
    { title: 'P95', width: 6, align: 'right', cell: (a) => formatMilliseconds(a.latency_ms.p95) },
    { title: 'LIMIT', width: 0, align: 'left', cell: (a) => formatLimit(a.limit) },
  ];
  return table(columns, agents);
}

/** Pads or cuts a line to exactly `width` characters. */
const fitWidth = (line: string, width: number) =>
  line.length > width ? line.slice(0, width) : line.padEnd(width);

/** `HH:MM:SS` of an ISO timestamp, in UTC as the API gives it; the text itself when it is not one. */
function clock(iso: string): string {
  const time = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return time ? `${time[1]} UTC` : iso;
}

/** The frame's lines; `overview` undefined while the first read is under way. */
export function renderFrame(overview: Overview | undefined, context: FrameContext): string[] {
  const width = Math.max(1, context.width);
  const lines: string[] = [];
  if (overview) {
    const queues = [...new Set(overview.tiers.map((t) => t.queue))];
    const title = `taskq top - ${overview.stack} - ${context.source}`;
    const time = clock(overview.generated_at);
    const gap = width - title.length - time.length;
    lines.push(gap >= 2 ? `${title}${' '.repeat(gap)}${time}` : title);
    lines.push('');
    lines.push(queues.length === 1 ? `TIERS (${queues[0]})` : 'TIERS');
    lines.push(...tierLines(overview.tiers));
    lines.push('');
    lines.push('AGENTS');
    lines.push(...agentLines(overview.agents));
  } else {
    lines.push(`taskq top - ${context.source}`, '', 'reading the first figures...');
  }
  if (context.error !== undefined) lines.push('', `last refresh failed: ${context.error}`);
  if (context.hint !== undefined) lines.push('', context.hint);
  return lines.map((line) => fitWidth(line, width));
}
