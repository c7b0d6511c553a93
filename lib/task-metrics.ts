import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { LimitReason } from '../lambda/core/limits';
import { METRIC_NAMESPACE, MetricName } from '../lambda/core/metric-names';
import type { Priority } from '../lambda/core/task';

/**
 * A custom task metric of one tier, across task types (the handlers emit a `Tier`-only rollup).
 * Defaults as the CDK's own metric methods: sum over 5 minutes, labelled with the metric name.
 */
export function tierMetric(
  tier: Priority,
  name: MetricName,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: 'Sum',
    period: Duration.minutes(5),
    label: name,
    ...options,
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { ...options.dimensionsMap, Tier: tier },
  });
}

/**
 * Asks of one agent type that a limit refused (`LimitDeferrals`), for one reason or, without `reason`, for all
 * (the rollup by task type). Both tiers together: an agent's limits are shared by them.
 * Defaults: sum over 5 minutes.
 */
export function limitDeferralsMetric(
  type: string,
  reason?: LimitReason,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: 'Sum',
    period: Duration.minutes(5),
    label: reason ?? MetricName.LimitDeferrals,
    ...options,
    namespace: METRIC_NAMESPACE,
    metricName: MetricName.LimitDeferrals,
    dimensionsMap: { ...options.dimensionsMap, TaskType: type, ...(reason && { Reason: reason }) },
  });
}

/**
 * The slots of one agent type in use (`AgentSlotsInUse`), after each grant and release by a consumer: a gauge,
 * so its Maximum is the figure to hold against the agent's `maxConcurrency`. Emitted only for agents with a
 * concurrency limit. Defaults: maximum over 5 minutes.
 */
export function agentSlotsInUseMetric(
  type: string,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: 'Maximum',
    period: Duration.minutes(5),
    label: MetricName.AgentSlotsInUse,
    ...options,
    namespace: METRIC_NAMESPACE,
    metricName: MetricName.AgentSlotsInUse,
    dimensionsMap: { ...options.dimensionsMap, TaskType: type },
  });
}
