/**
 * A deployed stack's source: the tier queues' and DLQs' depths from SQS `GetQueueAttributes` on every read, and
 * the rates, the lag and the agents' figures from one CloudWatch `GetMetricData` call, made again at most once a
 * minute.
 *
 * Why once a minute: SQS publishes its CloudWatch metrics once a minute, and the handlers' metrics (EMF) are
 * summed per minute too, so a second call within the minute learns nothing and costs as much (GetMetricData is
 * billed per metric requested: about 30 for a stack with two agent types; once a second that is
 * 108,000 metrics an hour, once a minute 1,800).
 *
 * Which minute: CloudWatch receives a minute's figures a minute or two after it ends, and an SQS queue in use
 * reports every minute, zeros included. The figures are those of the newest minute either tier queue has a
 * `NumberOfMessagesSent` data point for (the last complete minute when neither has one); a metric with no data
 * point in that minute was 0 in it (the handlers emit nothing when nothing happens). So "per second" is that
 * minute's sum / 60, and "per minute" its sum.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 */

import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, type QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { METRIC_NAMESPACE, MetricName } from '../../lambda/core/metric-names';
import { PRIORITIES, type Priority } from '../../lambda/core/task';
import { attempt } from '../dlq/aws';
import { resourcesFromStack, type TierResources } from '../stack-resources';
import type { AgentOverview, Overview, TierOverview } from './overview';
import type { OverviewSource } from './source';
import { agentsFromTemplate, type StackAgent } from './stack-agents';

const MINUTE_MS = 60_000;
/** The window of the latency percentiles, as the local dashboard's. */
const LATENCY_WINDOW_MS = 15 * MINUTE_MS;
/** The construct id of the stack's TaskQueue (lib/task-queue-stack.ts), the queue its outputs name. */
const TASK_QUEUE_ID = 'TaskQueue';

export interface DeployedOverviewSourceProps {
  /** The stack's name, shown in the header. */
  readonly stackName: string;
  readonly tiers: Readonly<Record<Priority, TierResources>>;
  readonly agents: readonly StackAgent[];
  readonly sqs: SQSClient;
  readonly cloudwatch: CloudWatchClient;
  /** @default 60 */
  readonly metricsRefreshSeconds?: number;
  /** @default - the system clock */
  readonly now?: () => Date;
}

/** The queue's name, the `QueueName` dimension of its SQS metrics: the last segment of its URL. */
export const queueNameOf = (queueUrl: string): string => queueUrl.replace(/\/+$/, '').split('/').pop() ?? '';

interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/** The data points of one query, by the time of their period's start. */
type Series = ReadonlyMap<number, number>;

interface MetricFigures {
  /** The minute the figures are of (its start, ms since the epoch). */
  readonly minute: number;
  readonly series: ReadonlyMap<string, Series>;
}

/** One query: an id for GetMetricData (`^[a-z][a-zA-Z0-9_]*$`), what it reads. */
function query(
  id: string,
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
  stat: string,
  periodSeconds: number,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: namespace,
        MetricName: metricName,
        Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Stat: stat,
      Period: periodSeconds,
    },
    ReturnData: true,
  };
}

const ids = {
  sent: (tier: Priority) => `${tier}_sent`,
  deleted: (tier: Priority) => `${tier}_deleted`,
  age: (tier: Priority) => `${tier}_age`,
  // Agent types are free text: queries are named by position.
  succeeded: (agent: number, tier: Priority) => `agent${agent}_${tier}_succeeded`,
  failed: (agent: number, tier: Priority) => `agent${agent}_${tier}_failed`,
  p50: (agent: number, tier: Priority) => `agent${agent}_${tier}_p50`,
  p95: (agent: number, tier: Priority) => `agent${agent}_${tier}_p95`,
  slots: (agent: number) => `agent${agent}_slots`,
};

export class DeployedOverviewSource implements OverviewSource {
  public readonly description: string;
  private readonly refreshMs: number;
  private metrics: { readonly at: number; readonly figures: MetricFigures } | undefined;

  public constructor(private readonly props: DeployedOverviewSourceProps) {
    this.description = `stack ${props.stackName}`;
    this.refreshMs = (props.metricsRefreshSeconds ?? 60) * 1000;
  }

  private now(): Date {
    return this.props.now ? this.props.now() : new Date();
  }

  public async read(): Promise<Overview> {
    const now = this.now();
    const [depths, figures] = await Promise.all([
      Promise.all(
        PRIORITIES.map(async (tier) => ({
          tier,
          queue: await this.depth(this.props.tiers[tier].queueUrl),
          dlq: await this.depth(this.props.tiers[tier].deadLetterQueueUrl),
        })),
      ),
      this.metricFigures(now),
    ]);
    const at = (id: string) => figures.series.get(id)?.get(figures.minute);
    const count = (id: string) => at(id) ?? 0;
    const tiers = depths.map(({ tier, queue, dlq }): TierOverview => {
      const age = at(ids.age(tier));
      const empty = queue.visible + queue.inFlight + queue.delayed === 0;
      return {
        tier,
        queue: TASK_QUEUE_ID,
        visible: queue.visible,
        in_flight: queue.inFlight,
        delayed: queue.delayed,
        produced_per_second: count(ids.sent(tier)) / 60,
        consumed_per_second: count(ids.deleted(tier)) / 60,
        // No data point: 0 for a queue that is empty now, else not known yet.
        oldest_age_seconds: age ?? (empty ? 0 : null),
        dlq_depth: dlq.visible + dlq.inFlight + dlq.delayed,
      };
    });
    const agents = this.props.agents.map((agent, i): AgentOverview => {
      const sum = (id: (a: number, t: Priority) => string) =>
        PRIORITIES.reduce((total, tier) => total + count(id(i, tier)), 0);
      // A tier's percentile cannot be merged with the other's: the slower tier's is shown, an upper bound.
      const percentile = (id: (a: number, t: Priority) => string) => {
        const values = PRIORITIES.flatMap((tier) => [...(figures.series.get(id(i, tier))?.values() ?? [])]);
        return values.length > 0 ? Math.max(...values) : null;
      };
      // AgentSlotsInUse is a gauge sent on each change: its newest point is the level now; with none in the
      // window, the level is not known (an async task may hold a slot for hours).
      const slots = newest(figures.series.get(ids.slots(i)));
      const limited = agent.maxConcurrency !== undefined || agent.rateLimit !== undefined;
      return {
        type: agent.type,
        // Known only where a concurrency limit counts the running tasks.
        running: agent.maxConcurrency !== undefined ? slots : null,
        succeeded_per_minute: sum(ids.succeeded),
        failed_per_minute: sum(ids.failed),
        latency_ms: { p50: percentile(ids.p50), p95: percentile(ids.p95) },
        ...(limited && {
          limit: {
            ...(agent.maxConcurrency !== undefined && { max_concurrency: agent.maxConcurrency }),
            in_use: agent.maxConcurrency !== undefined ? slots : null,
            ...(agent.rateLimit && {
              rate_limit: { requests: agent.rateLimit.requests, per_seconds: agent.rateLimit.perSeconds },
            }),
          },
        }),
      };
    });
    return { generated_at: now.toISOString(), stack: this.props.stackName, tiers, agents };
  }

  public close(): void {
    this.props.sqs.destroy();
    this.props.cloudwatch.destroy();
  }

  private async depth(queueUrl: string): Promise<QueueDepth> {
    const { Attributes: attributes = {} } = await attempt(`GetQueueAttributes on ${queueUrl}`, () =>
      this.props.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    const number = (name: QueueAttributeName) => Number(attributes[name] ?? 0);
    return {
      visible: number('ApproximateNumberOfMessages'),
      inFlight: number('ApproximateNumberOfMessagesNotVisible'),
      delayed: number('ApproximateNumberOfMessagesDelayed'),
    };
  }

  private async metricFigures(now: Date): Promise<MetricFigures> {
    if (this.metrics && now.getTime() - this.metrics.at < this.refreshMs) return this.metrics.figures;
    const figures = await this.fetchMetrics(now);
    this.metrics = { at: now.getTime(), figures };
    return figures;
  }

  /** The queries of one GetMetricData call: per tier, then per agent type and tier. */
  private queries(): MetricDataQuery[] {
    const latencyPeriod = LATENCY_WINDOW_MS / 1000;
    const list: MetricDataQuery[] = [];
    for (const tier of PRIORITIES) {
      const QueueName = queueNameOf(this.props.tiers[tier].queueUrl);
      list.push(
        query(ids.sent(tier), 'AWS/SQS', 'NumberOfMessagesSent', { QueueName }, 'Sum', 60),
        query(ids.deleted(tier), 'AWS/SQS', 'NumberOfMessagesDeleted', { QueueName }, 'Sum', 60),
        query(ids.age(tier), 'AWS/SQS', 'ApproximateAgeOfOldestMessage', { QueueName }, 'Maximum', 60),
      );
    }
    this.props.agents.forEach((agent, i) => {
      for (const tier of PRIORITIES) {
        const dims = { Tier: tier, TaskType: agent.type };
        list.push(
          query(ids.succeeded(i, tier), METRIC_NAMESPACE, MetricName.TasksSucceeded, dims, 'Sum', 60),
          query(ids.failed(i, tier), METRIC_NAMESPACE, MetricName.TasksFailed, dims, 'Sum', 60),
          query(ids.p50(i, tier), METRIC_NAMESPACE, MetricName.AgentLatency, dims, 'p50', latencyPeriod),
          query(ids.p95(i, tier), METRIC_NAMESPACE, MetricName.AgentLatency, dims, 'p95', latencyPeriod),
        );
      }
      if (agent.maxConcurrency !== undefined)
        list.push(
          query(
            ids.slots(i),
            METRIC_NAMESPACE,
            MetricName.AgentSlotsInUse,
            { TaskType: agent.type },
            'Maximum',
            60,
          ),
        );
    });
    return list;
  }

  private async fetchMetrics(now: Date): Promise<MetricFigures> {
    // Whole minutes, so that every period of 60 s (and the one of 15 minutes) is a minute CloudWatch sums.
    const end = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
    const start = end - LATENCY_WINDOW_MS;
    const queries = this.queries();
    const results: MetricDataResult[] = [];
    let nextToken: string | undefined;
    do {
      const page = await attempt('CloudWatch GetMetricData', () =>
        this.props.cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(start),
            EndTime: new Date(end),
            ...(nextToken && { NextToken: nextToken }),
          }),
        ),
      );
      results.push(...(page.MetricDataResults ?? []));
      nextToken = page.NextToken;
    } while (nextToken);

    const series = new Map<string, Map<number, number>>();
    for (const result of results) {
      if (!result.Id) continue;
      const points = series.get(result.Id) ?? new Map<number, number>();
      (result.Timestamps ?? []).forEach((timestamp, i) => {
        const value = result.Values?.[i];
        if (value !== undefined) points.set(new Date(timestamp).getTime(), value);
      });
      series.set(result.Id, points);
    }
    const reported = PRIORITIES.flatMap((tier) => [...(series.get(ids.sent(tier))?.keys() ?? [])]);
    const minute = reported.length > 0 ? Math.max(...reported) : end - MINUTE_MS;
    return { minute, series };
  }
}

/** The value of a series' newest data point. */
function newest(series: Series | undefined): number | null {
  let found: { at: number; value: number } | undefined;
  for (const [at, value] of series ?? []) if (!found || at > found.at) found = { at, value };
  return found ? found.value : null;
}

/**
 * Opens the source of a deployed stack: its outputs (DescribeStacks) name the queues, its template
 * (GetTemplate) the agent types and their limits; SQS and CloudWatch are then reached in the stack's region.
 */
export async function openDeployedSource(
  stackName: string,
  cloudformation: CloudFormationClient = new CloudFormationClient({}),
): Promise<DeployedOverviewSource> {
  try {
    const resources = await resourcesFromStack(stackName, cloudformation);
    const template = await attempt(`GetTemplate of stack ${stackName}`, () =>
      cloudformation.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' })),
    );
    const region = resources.aws.region;
    return new DeployedOverviewSource({
      stackName,
      tiers: resources.tiers,
      agents: agentsFromTemplate(template.TemplateBody ?? '{}'),
      sqs: new SQSClient(region ? { region } : {}),
      cloudwatch: new CloudWatchClient(region ? { region } : {}),
    });
  } finally {
    cloudformation.destroy();
  }
}
