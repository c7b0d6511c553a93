/**
 * Custom metrics, shared by the handlers that emit them (EMF) and the constructs that alarm and chart on them.
 * A task metric has the dimensions `Tier` and `TaskType`, and is also rolled up by `Tier` alone; the limiter's
 * metrics (`LimitDeferrals`, `AgentSlotsInUse`) say their own.
 */
export const METRIC_NAMESPACE = 'AgentTaskQueue';

export const MetricName = {
  TasksAccepted: 'TasksAccepted',
  TasksSucceeded: 'TasksSucceeded',
  TasksFailed: 'TasksFailed',
  TasksRetried: 'TasksRetried',
  TasksCancelled: 'TasksCancelled',
  /** Milliseconds the agent took to answer, per attempt. */
  AgentLatency: 'AgentLatency',
  /** Milliseconds from enqueue to the first attempt's start. */
  QueueWait: 'QueueWait',
  /** Milliseconds from enqueue to the task's terminal state. */
  EndToEndLatency: 'EndToEndLatency',
  /**
   * A limit held a task back (limits.ts): one per refused ask. Dimensions `TaskType` and `Reason` (the
   * LimitReason), rolled up by `TaskType`.
   */
  LimitDeferrals: 'LimitDeferrals',
  /**
   * An agent type's slots in use, after each grant and release (a gauge: chart its Maximum against the agent's
   * `maxConcurrency`). Dimension `TaskType` only: the slots are shared by both tiers.
   */
  AgentSlotsInUse: 'AgentSlotsInUse',
  /** Task events published to the events topic. Dimension `Event` (`task.failed`, …). */
  EventsPublished: 'EventsPublished',
  /**
   * Task events the topic refused, kept in the unpublished-events queue for `taskq events replay`. Dimension
   * `Event`.
   */
  EventsUnpublished: 'EventsUnpublished',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];
