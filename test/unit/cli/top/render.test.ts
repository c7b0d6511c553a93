import type { Overview } from '../../../../cli/top/overview';
import {
  formatCount,
  formatLimit,
  formatMilliseconds,
  formatRate,
  formatSeconds,
  renderFrame,
} from '../../../../cli/top/render';

const overview = (patch: Partial<Overview> = {}): Overview => ({
  generated_at: '2026-12-02T15:04:05.123Z',
  stack: 'AgentTaskQueue',
  tiers: [
    {
      tier: 'high',
      queue: 'TaskQueue',
      visible: 12,
      in_flight: 3,
      delayed: 1,
      produced_per_second: 1.2,
      consumed_per_second: 0.95,
      oldest_age_seconds: 185,
      dlq_depth: 4,
    },
    {
      tier: 'low',
      queue: 'TaskQueue',
      visible: 25_400,
      in_flight: 0,
      delayed: 0,
      produced_per_second: 0,
      consumed_per_second: 0,
      oldest_age_seconds: 0,
      dlq_depth: 0,
    },
  ],
  agents: [
    {
      type: 'echo',
      running: 1,
      succeeded_per_minute: 30,
      failed_per_minute: 2,
      latency_ms: { p50: 12.4, p95: 1430 },
      limit: { max_concurrency: 2, in_use: 1, rate_limit: { requests: 10, per_seconds: 1 } },
    },
    {
      type: 'flaky',
      running: 0,
      succeeded_per_minute: 0,
      failed_per_minute: 0,
      latency_ms: { p50: null, p95: null },
    },
  ],
  ...patch,
});

/** The cells of the table row whose first cell is `first`, split on runs of two or more spaces. */
function row(lines: readonly string[], first: string): string[] {
  const line = lines.find((l) => l.trimStart().startsWith(`${first} `));
  if (!line) throw new Error(`no row ${first} in:\n${lines.join('\n')}`);
  return line.trim().split(/ {2,}/);
}

describe('Function: renderFrame', () => {
  it('makes every line exactly as wide as the terminal', () => {
    for (const width of [40, 80, 132]) {
      // Act
      const lines = renderFrame(overview(), {
        width,
        source: 'the local runtime',
        hint: 'q: quit',
        error: 'x',
      });

      // Assess
      expect(lines.map((l) => l.length)).toEqual(lines.map(() => width));
    }
  });

  it("shows each tier's figures formatted, in the order of the headings", () => {
    // Act
    const lines = renderFrame(overview(), { width: 100, source: 'the local runtime' });

    // Assess
    expect(row(lines, 'TIER')).toEqual([
      'TIER',
      'VISIBLE',
      'IN FLIGHT',
      'DELAYED',
      'PRODUCE/S',
      'CONSUME/S',
      'LAG',
      'DLQ',
    ]);
    expect(row(lines, 'high')).toEqual(['high', '12', '3', '1', '1.20', '0.95', '3m05s', '4']);
    expect(row(lines, 'low')).toEqual(['low', '25.4k', '0', '0', '0', '0', '0s', '0']);
    expect(lines).toContainEqual(expect.stringMatching(/^TIERS \(TaskQueue\) *$/));
  });

  it('aligns the figures of every row under their heading (right-aligned columns)', () => {
    // Act
    const lines = renderFrame(overview(), { width: 100, source: 'the local runtime' });

    // Assess: each figure ends where its heading ends
    const heading = lines.find((l) => l.startsWith('TIER '))!;
    const high = lines.find((l) => l.startsWith('high '))!;
    for (const [title, value] of [
      ['VISIBLE', '12'],
      ['PRODUCE/S', '1.20'],
      ['DLQ', '4'],
    ] as const) {
      const end = heading.indexOf(title) + title.length;
      expect(high.slice(end - value.length, end)).toBe(value);
    }
  });

  it("shows each agent type's figures and its limits in use", () => {
    // Act
    const lines = renderFrame(overview(), { width: 100, source: 'the local runtime' });

    // Assess
    expect(row(lines, 'TYPE')).toEqual(['TYPE', 'RUNNING', 'OK/MIN', 'FAIL/MIN', 'P50', 'P95', 'LIMIT']);
    expect(row(lines, 'echo')).toEqual(['echo', '1', '30', '2', '12ms', '1.4s', 'slots 1/2', 'rate 10/1s']);
    expect(row(lines, 'flaky')).toEqual(['flaky', '0', '0', '0', '-', '-', '-']);
  });

  it('names the stack, the source and the time the figures were read', () => {
    // Act
    const [header] = renderFrame(overview(), { width: 100, source: 'stack prod' });

    // Assess
    expect(header).toMatch(/^taskq top - AgentTaskQueue - stack prod +15:04:05 UTC$/);
  });

  it('shows a figure the source does not know as -', () => {
    // Prepare
    const base = overview();
    const unknown = overview({
      tiers: [
        { ...base.tiers[0]!, produced_per_second: null, consumed_per_second: null, oldest_age_seconds: null },
      ],
      agents: [{ ...base.agents[0]!, running: null, limit: { max_concurrency: 4, in_use: null } }],
    });

    // Act
    const lines = renderFrame(unknown, { width: 100, source: 'stack prod' });

    // Assess
    expect(row(lines, 'high')).toEqual(['high', '12', '3', '1', '-', '-', '-', '4']);
    expect(row(lines, 'echo')).toEqual(['echo', '-', '30', '2', '12ms', '1.4s', 'slots -/4']);
  });

  it('adds a QUEUE column when the tiers belong to several TaskQueues', () => {
    // Prepare
    const base = overview();
    const two = overview({ tiers: [base.tiers[0]!, { ...base.tiers[0]!, queue: 'Other/TaskQueue' }] });

    // Act
    const lines = renderFrame(two, { width: 120, source: 'the local runtime' });

    // Assess
    expect(lines).toContainEqual(expect.stringMatching(/^TIERS *$/));
    expect(row(lines, 'QUEUE')[0]).toBe('QUEUE');
    expect(row(lines, 'Other/TaskQueue').slice(0, 3)).toEqual(['Other/TaskQueue', 'high', '12']);
  });

  it('keeps the last figures and shows why a refresh failed, then the hint', () => {
    // Act
    const lines = renderFrame(overview(), {
      width: 80,
      source: 'the local runtime',
      error: 'cannot reach http://127.0.0.1:3000: ECONNREFUSED',
      hint: 'q: quit',
    }).map((l) => l.trimEnd());

    // Assess
    expect(row(lines, 'high')[1]).toBe('12');
    expect(lines.slice(-3)).toEqual([
      'last refresh failed: cannot reach http://127.0.0.1:3000: ECONNREFUSED',
      '',
      'q: quit',
    ]);
  });

  it('says it is reading while there are no figures yet', () => {
    // Act
    const lines = renderFrame(undefined, { width: 60, source: 'stack prod' }).map((l) => l.trimEnd());

    // Assess
    expect(lines).toEqual(['taskq top - stack prod', '', 'reading the first figures...']);
  });
});

describe('Number formats', () => {
  it.each([
    [0, '0'],
    [9999, '9999'],
    [12_345, '12.3k'],
    [123_456, '123k'],
    [1_234_567, '1.2M'],
    [null, '-'],
  ])('formatCount(%p) is %p', (n, text) => {
    expect(formatCount(n)).toBe(text);
  });

  it.each([
    [0, '0'],
    [0.05, '0.05'],
    [1.2, '1.20'],
    [12.46, '12.5'],
    [340.2, '340'],
    [12_345, '12.3k'],
    [null, '-'],
  ])('formatRate(%p) is %p', (r, text) => {
    expect(formatRate(r)).toBe(text);
  });

  it.each([
    [0, '0s'],
    [42.9, '42s'],
    [185, '3m05s'],
    [8040, '2h14m'],
    [266_400, '3d02h'],
    [null, '-'],
  ])('formatSeconds(%p) is %p', (s, text) => {
    expect(formatSeconds(s)).toBe(text);
  });

  it.each([
    [12.4, '12ms'],
    [1430, '1.4s'],
    [12_000, '12s'],
    [125_000, '2m05s'],
    [null, '-'],
  ])('formatMilliseconds(%p) is %p', (ms, text) => {
    expect(formatMilliseconds(ms)).toBe(text);
  });

  it.each([
    [{ max_concurrency: 2, in_use: 1 }, 'slots 1/2'],
    [{ in_use: null, rate_limit: { requests: 100, per_seconds: 60 } }, 'rate 100/60s'],
    [
      { max_concurrency: 4, in_use: 4, rate_limit: { requests: 10, per_seconds: 1 } },
      'slots 4/4  rate 10/1s',
    ],
    [undefined, '-'],
  ])('formatLimit(%j) is %p', (limit, text) => {
    expect(formatLimit(limit)).toBe(text);
  });
});
