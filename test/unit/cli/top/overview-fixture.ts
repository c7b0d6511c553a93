/** An overview document as the local runtime's dashboard API answers it (DASHBOARD-API contract). */
export const overviewDocument = (visibleHigh = 7) => ({
  generated_at: '2026-12-02T15:00:00.000Z',
  stack: 'AgentTaskQueue',
  tiers: [
    {
      tier: 'high',
      queue: 'TaskQueue',
      visible: visibleHigh,
      in_flight: 2,
      delayed: 0,
      produced_per_second: 0.5,
      consumed_per_second: 0.25,
      oldest_age_seconds: 42,
      dlq_depth: 3,
    },
    {
      tier: 'low',
      queue: 'TaskQueue',
      visible: 0,
      in_flight: 0,
      delayed: 5,
      produced_per_second: 0,
      consumed_per_second: 0,
      oldest_age_seconds: 0,
      dlq_depth: 0,
    },
  ],
  agents: [
    {
      type: 'echo',
      running: 2,
      succeeded_per_minute: 15,
      failed_per_minute: 1,
      latency_ms: { p50: 8, p95: 40 },
      limit: { max_concurrency: 2, in_use: 2, rate_limit: { requests: 10, per_seconds: 1 } },
    },
    {
      type: 'async-echo',
      running: 1,
      succeeded_per_minute: 0,
      failed_per_minute: 0,
      latency_ms: { p50: null, p95: null },
      async_running: [{ task_id: 'abc', progress: { percent: 40 } }],
    },
  ],
  series: { interval_seconds: 5, points: [] },
});
