/**
 * The construct library's public API: the constructs, and every type that one of their public fields or props
 * uses. Internal helpers (validation, environment wiring) are not exported.
 */

export type {
  AgentMode,
  AgentTargetConfig,
  HttpAgentTarget,
  LambdaAgentTarget,
} from '../lambda/contract/agent-target';
export { LimitReason, MAX_LIMIT, MAX_RATE_WINDOW_SECONDS } from '../lambda/core/limits';
export { METRIC_NAMESPACE, MetricName } from '../lambda/core/metric-names';
export type { Priority } from '../lambda/core/task';
export { PRIORITIES, TaskStatus } from '../lambda/core/task';
export {
  DEFAULT_EVENT_TRANSITIONS,
  TASK_EVENT_SCHEMA_VERSION,
  type TaskEventBody,
  type TaskEventName,
} from '../lambda/core/task-events';
export {
  ACCEPTED_BATCH_SIZE,
  ACCEPTED_BATCHING_WINDOW,
  AcceptedTasksCounter,
  type AcceptedTasksCounterProps,
} from './accepted-tasks-counter';
export {
  type AgentDefinition,
  type AgentLimitOptions,
  type AgentModeOptions,
  type AgentRegistry,
  DEFAULT_AGENT_TIMEOUT,
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_MAX_RUN_TIME,
  type HttpAgent,
  type LambdaAgent,
  type RateLimit,
  TASK_TYPE_PATTERN,
} from './agents';
export { DeadLetterSweeper, type DeadLetterSweeperProps } from './dead-letter-sweeper';
export { HandlerFunction, type HandlerFunctionProps, type LogLevel } from './handler-function';
export { LambdaAgentCompletion, type LambdaAgentCompletionProps } from './lambda-agent-completion';
export { LimitTable, type LimitTableProps } from './limit-table';
export { SettleFunction, type SettleFunctionProps, type SettleOptions } from './settle-function';
export {
  type AgentConfig,
  agentsFromConfig,
  DEFAULT_CONFIG_FILE,
  type EventSubscriptionConfig,
  type EventsConfig,
  eventSubscriptionsFromConfig,
  loadStackConfig,
  type StackConfig,
} from './stack-config';
export { TaskApi, type TaskApiAuth, type TaskApiProps, type TaskApiThrottle } from './task-api';
export {
  type TaskEventFilter,
  TaskEvents,
  type TaskEventsOptions,
  type TaskEventsProps,
} from './task-events';
export { TaskQueue, type TaskQueueProps } from './task-queue';
export { type AlarmThresholds, TaskQueueAlarms, type TaskQueueAlarmsProps } from './task-queue-alarms';
export { TaskQueueDashboard, type TaskQueueDashboardProps } from './task-queue-dashboard';
export { TaskQueueStack, type TaskQueueStackProps } from './task-queue-stack';
export { TaskResults, type TaskResultsProps } from './task-results';
export { TaskTable, type TaskTableProps } from './task-table';
export {
  DEFAULT_CONSUMER_TIMEOUT,
  type ProvisionedPollers,
  TaskTier,
  type TaskTierProps,
  type TierOptions,
  type TierSettings,
} from './task-tier';
