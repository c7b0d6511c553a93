/**
 * Custom metrics, shared by the handlers that emit them (EMF) and the constructs that alarm and chart on them.
 * Every metric has the dimensions `Tier` and `TaskType`, and is also rolled up by `Tier` alone.
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
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];
