import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMESPACE, type MetricName } from '../lambda/core/metric-names';
import type { Priority } from '../lambda/core/task';

/** A custom task metric of one tier, across task types (the handlers emit a `Tier`-only rollup). */
export function tierMetric(
  tier: Priority,
  name: MetricName,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { Tier: tier },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(1),
    label: options.label ?? name,
  });
}
