import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMESPACE, type MetricName } from '../lambda/core/metric-names';
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
