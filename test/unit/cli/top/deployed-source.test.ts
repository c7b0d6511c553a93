import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { DeployedOverviewSource, openDeployedSource, queueNameOf } from '../../../../cli/top/deployed-source';
import { renderFrame } from '../../../../cli/top/render';

const sqsMock = mockClient(SQSClient);
const cloudwatchMock = mockClient(CloudWatchClient);
const cloudformationMock = mockClient(CloudFormationClient);

const URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012';
const TIERS = {
  high: { queueUrl: `${URL}/prod-High`, deadLetterQueueUrl: `${URL}/prod-HighDlq` },
  low: { queueUrl: `${URL}/prod-Low`, deadLetterQueueUrl: `${URL}/prod-LowDlq` },
};
const DEPTHS: Record<string, [number, number, number]> = {
  [TIERS.high.queueUrl]: [12, 3, 1],
  [TIERS.high.deadLetterQueueUrl]: [4, 0, 0],
  [TIERS.low.queueUrl]: [0, 0, 0],
  [TIERS.low.deadLetterQueueUrl]: [0, 1, 0],
};

/** 15:04:30 UTC: the figures are asked for up to 15:04:00. */
const NOW = new Date('2026-12-02T15:04:30.000Z');
const minute = (hhmm: string) => new Date(`2026-12-02T${hhmm}:00.000Z`);

/** The query with this metric and these dimensions in a GetMetricData call. */
function queryOf(
  input: GetMetricDataCommandInput,
  metricName: string,
  dims: Record<string, string>,
  stat?: string,
) {
  return (input.MetricDataQueries ?? []).find(
    (q: MetricDataQuery) =>
      q.MetricStat?.Metric?.MetricName === metricName &&
      (stat === undefined || q.MetricStat.Stat === stat) &&
      JSON.stringify(
        Object.fromEntries((q.MetricStat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
      ) === JSON.stringify(dims),
  );
}

/** CloudWatch's answer: `points` per query, found by metric, dimensions and statistic. */
type Points = { metric: string; dims: Record<string, string>; stat?: string; points: [Date, number][] }[];
function answerMetrics(points: Points) {
  cloudwatchMock.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
    MetricDataResults: points.map(({ metric, dims, stat, points: values }) => {
      const found = queryOf(input, metric, dims, stat);
      if (!found) throw new Error(`no query of ${metric} ${JSON.stringify(dims)} ${stat ?? ''}`);
      return {
        Id: found.Id,
        StatusCode: 'Complete',
        Timestamps: values.map(([t]) => t),
        Values: values.map(([, v]) => v),
      };
    }),
  }));
}

const source = (props: Partial<ConstructorParameters<typeof DeployedOverviewSource>[0]> = {}) =>
  new DeployedOverviewSource({
    stackName: 'prod',
    tiers: TIERS,
    agents: [
      { type: 'echo', maxConcurrency: 4, rateLimit: { requests: 10, perSeconds: 1 } },
      { type: 'summarize' },
    ],
    sqs: new SQSClient({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    now: () => NOW,
    ...props,
  });

describe('Class: DeployedOverviewSource', () => {
  beforeEach(() => {
    sqsMock.on(GetQueueAttributesCommand).callsFake(({ QueueUrl }: { QueueUrl: string }) => {
      const [visible, inFlight, delayed] = DEPTHS[QueueUrl]!;
      return {
        Attributes: {
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(inFlight),
          ApproximateNumberOfMessagesDelayed: String(delayed),
        },
      };
    });
  });

  afterEach(() => {
    sqsMock.reset();
    cloudwatchMock.reset();
    cloudformationMock.reset();
  });

  it("takes each tier's depths and DLQ depth from GetQueueAttributes", async () => {
    // Prepare
    answerMetrics([]);

    // Act
    const overview = await source().read();

    // Assess
    expect(
      overview.tiers.map(({ tier, visible, in_flight, delayed, dlq_depth }) => [
        tier,
        visible,
        in_flight,
        delayed,
        dlq_depth,
      ]),
    ).toEqual([
      ['high', 12, 3, 1, 4],
      ['low', 0, 0, 0, 1],
    ]);
    expect(
      sqsMock.commandCalls(GetQueueAttributesCommand).map((c) => c.args[0].input.AttributeNames),
    ).toEqual(
      Array(4).fill([
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ]),
    );
    expect(overview.stack).toBe('prod');
    expect(overview.generated_at).toBe(NOW.toISOString());
  });

  it('turns the newest minute SQS reported into rates per second and the lag, per tier', async () => {
    // Prepare: SQS has reported up to 15:02; an older minute must not be taken for the current one
    const High = { QueueName: 'prod-High' };
    answerMetrics([
      {
        metric: 'NumberOfMessagesSent',
        dims: High,
        points: [
          [minute('15:02'), 90],
          [minute('15:01'), 600],
        ],
      },
      {
        metric: 'NumberOfMessagesDeleted',
        dims: High,
        points: [
          [minute('15:02'), 30],
          [minute('15:01'), 6],
        ],
      },
      { metric: 'ApproximateAgeOfOldestMessage', dims: High, points: [[minute('15:02'), 185]] },
      { metric: 'NumberOfMessagesSent', dims: { QueueName: 'prod-Low' }, points: [[minute('15:01'), 60]] },
    ]);

    // Act
    const [high, low] = (await source().read()).tiers;

    // Assess
    expect(high).toEqual(
      expect.objectContaining({
        produced_per_second: 1.5,
        consumed_per_second: 0.5,
        oldest_age_seconds: 185,
      }),
    );
    // The low queue reported nothing in 15:02: nothing was sent; it is empty, so its lag is 0.
    expect(low).toEqual(
      expect.objectContaining({ produced_per_second: 0, consumed_per_second: 0, oldest_age_seconds: 0 }),
    );
  });

  it('does not make up the lag of a queue that holds messages when CloudWatch has no age for it', async () => {
    // Prepare
    answerMetrics([
      { metric: 'NumberOfMessagesSent', dims: { QueueName: 'prod-High' }, points: [[minute('15:03'), 6]] },
    ]);

    // Act
    const [high] = (await source().read()).tiers;

    // Assess
    expect(high!.oldest_age_seconds).toBeNull();
  });

  it('asks for whole minutes: the 15 minutes up to the last whole minute, sums and maxima per 60 s', async () => {
    // Prepare
    answerMetrics([]);

    // Act
    await source().read();

    // Assess
    const [call] = cloudwatchMock.commandCalls(GetMetricDataCommand);
    const input = call!.args[0].input;
    expect(input.EndTime).toEqual(minute('15:04'));
    expect(input.StartTime).toEqual(minute('14:49'));
    expect(queryOf(input, 'NumberOfMessagesSent', { QueueName: 'prod-Low' })?.MetricStat).toEqual(
      expect.objectContaining({ Stat: 'Sum', Period: 60 }),
    );
    expect(queryOf(input, 'ApproximateAgeOfOldestMessage', { QueueName: 'prod-High' })?.MetricStat).toEqual(
      expect.objectContaining({ Stat: 'Maximum', Period: 60 }),
    );
    expect(
      queryOf(input, 'AgentLatency', { Tier: 'low', TaskType: 'summarize' }, 'p95')?.MetricStat?.Period,
    ).toBe(900);
    expect(queryOf(input, 'AgentSlotsInUse', { TaskType: 'echo' })?.MetricStat?.Stat).toBe('Maximum');
    // Only a type with a concurrency limit has slots to count.
    expect(queryOf(input, 'AgentSlotsInUse', { TaskType: 'summarize' })).toBeUndefined();
    expect((input.MetricDataQueries ?? []).every((q) => /^[a-z][a-zA-Z0-9_]*$/.test(q.Id ?? ''))).toBe(true);
  });

  it("sums an agent type's succeeded and failed tasks over both tiers, in the minute of the rates", async () => {
    // Prepare
    const echo = (tier: string) => ({ Tier: tier, TaskType: 'echo' });
    answerMetrics([
      { metric: 'NumberOfMessagesSent', dims: { QueueName: 'prod-High' }, points: [[minute('15:03'), 6]] },
      {
        metric: 'TasksSucceeded',
        dims: echo('high'),
        points: [
          [minute('15:03'), 20],
          [minute('15:02'), 500],
        ],
      },
      { metric: 'TasksSucceeded', dims: echo('low'), points: [[minute('15:03'), 7]] },
      { metric: 'TasksFailed', dims: echo('low'), points: [[minute('15:03'), 2]] },
      // A failure minutes ago is not one of this minute.
      {
        metric: 'TasksFailed',
        dims: { Tier: 'high', TaskType: 'summarize' },
        points: [[minute('14:58'), 9]],
      },
    ]);

    // Act
    const [echoAgent, summarize] = (await source().read()).agents;

    // Assess
    expect(echoAgent).toEqual(expect.objectContaining({ succeeded_per_minute: 27, failed_per_minute: 2 }));
    expect(summarize).toEqual(expect.objectContaining({ succeeded_per_minute: 0, failed_per_minute: 0 }));
  });

  it("shows the slower tier's latency percentiles, and none when no task finished", async () => {
    // Prepare
    const echo = (tier: string) => ({ Tier: tier, TaskType: 'echo' });
    answerMetrics([
      { metric: 'AgentLatency', dims: echo('high'), stat: 'p50', points: [[minute('14:49'), 120]] },
      { metric: 'AgentLatency', dims: echo('low'), stat: 'p50', points: [[minute('14:49'), 80]] },
      { metric: 'AgentLatency', dims: echo('high'), stat: 'p95', points: [[minute('14:49'), 300]] },
      { metric: 'AgentLatency', dims: echo('low'), stat: 'p95', points: [[minute('14:49'), 950]] },
    ]);

    // Act
    const [echoAgent, summarize] = (await source().read()).agents;

    // Assess
    expect(echoAgent!.latency_ms).toEqual({ p50: 120, p95: 950 });
    expect(summarize!.latency_ms).toEqual({ p50: null, p95: null });
  });

  it("shows a limited type's slots in use (the newest level) against its limits, and no limit for the others", async () => {
    // Prepare
    answerMetrics([
      {
        metric: 'AgentSlotsInUse',
        dims: { TaskType: 'echo' },
        points: [
          [minute('14:55'), 4],
          [minute('15:01'), 3],
        ],
      },
    ]);

    // Act
    const [echoAgent, summarize] = (await source().read()).agents;

    // Assess
    expect(echoAgent).toEqual(
      expect.objectContaining({
        running: 3,
        limit: { max_concurrency: 4, in_use: 3, rate_limit: { requests: 10, per_seconds: 1 } },
      }),
    );
    expect(summarize!.running).toBeNull();
    expect(summarize!.limit).toBeUndefined();
  });

  it('asks CloudWatch again only once a minute, while SQS is read on every refresh', async () => {
    // Prepare
    answerMetrics([]);
    let now = NOW;
    const deployed = source({ now: () => now });

    // Act
    await deployed.read();
    now = new Date(NOW.getTime() + 30_000);
    await deployed.read();
    now = new Date(NOW.getTime() + 60_000);
    await deployed.read();

    // Assess
    expect(sqsMock.commandCalls(GetQueueAttributesCommand)).toHaveLength(12);
    expect(cloudwatchMock.commandCalls(GetMetricDataCommand)).toHaveLength(2);
  });

  it('follows NextToken until CloudWatch has answered every query', async () => {
    // Prepare
    cloudwatchMock
      .on(GetMetricDataCommand)
      .callsFakeOnce((input: GetMetricDataCommandInput) => ({
        MetricDataResults: [
          {
            Id: queryOf(input, 'NumberOfMessagesSent', { QueueName: 'prod-High' })!.Id,
            Timestamps: [minute('15:03')],
            Values: [120],
          },
        ],
        NextToken: 'page-2',
      }))
      .callsFakeOnce((input: GetMetricDataCommandInput) => ({
        MetricDataResults: [
          {
            Id: queryOf(input, 'NumberOfMessagesDeleted', { QueueName: 'prod-High' })!.Id,
            Timestamps: [minute('15:03')],
            Values: [60],
          },
        ],
      }));

    // Act
    const [high] = (await source().read()).tiers;

    // Assess
    expect(cloudwatchMock.commandCalls(GetMetricDataCommand)[1]!.args[0].input.NextToken).toBe('page-2');
    expect(high).toEqual(expect.objectContaining({ produced_per_second: 2, consumed_per_second: 1 }));
  });

  it('reports a refused call as the AWS error, which the screen shows and the CLI exits 1 on', async () => {
    // Prepare
    answerMetrics([]);
    sqsMock
      .on(GetQueueAttributesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));

    // Act
    const read = source().read();

    // Assess
    await expect(read).rejects.toMatchObject({
      name: 'AwsCallError',
      code: 'AccessDenied',
      message: expect.stringContaining(`GetQueueAttributes on ${TIERS.high.queueUrl} failed: not authorized`),
    });
  });

  it('gives figures the renderer can show', async () => {
    // Prepare
    answerMetrics([]);

    // Act
    const lines = renderFrame(await source().read(), { width: 100, source: 'stack prod' });

    // Assess
    expect(
      lines
        .find((l) => l.startsWith('echo '))
        ?.trim()
        .split(/ {2,}/),
    ).toEqual(['echo', '-', '0', '0', '-', '-', 'slots -/4', 'rate 10/1s']);
  });
});

describe('Function: openDeployedSource', () => {
  afterEach(() => {
    cloudformationMock.reset();
  });

  it("finds the queues in the stack's outputs and the agent types in its template", async () => {
    // Prepare
    cloudformationMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'prod',
          StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/prod/uuid',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'HighQueueUrl', OutputValue: TIERS.high.queueUrl },
            { OutputKey: 'LowQueueUrl', OutputValue: TIERS.low.queueUrl },
            { OutputKey: 'HighDeadLetterQueueUrl', OutputValue: TIERS.high.deadLetterQueueUrl },
            { OutputKey: 'LowDeadLetterQueueUrl', OutputValue: TIERS.low.deadLetterQueueUrl },
            { OutputKey: 'TaskTableName', OutputValue: 'prod-Tasks' },
          ],
        },
      ],
    });
    cloudformationMock.on(GetTemplateCommand).resolves({
      TemplateBody: JSON.stringify({
        Resources: {
          Consumer: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Environment: {
                Variables: {
                  AGENTS: '{"echo":{"kind":"http","url":"x","timeoutSeconds":5,"maxConcurrency":2}}',
                },
              },
            },
          },
        },
      }),
    });
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    answerMetrics([]);

    // Act
    const deployed = await openDeployedSource('prod', new CloudFormationClient({ region: 'us-east-1' }));
    const overview = await deployed.read();
    deployed.close();

    // Assess
    expect(deployed.description).toBe('stack prod');
    expect(overview.agents.map((a) => [a.type, a.limit?.max_concurrency])).toEqual([['echo', 2]]);
    expect(
      sqsMock
        .commandCalls(GetQueueAttributesCommand)
        .map((c) => c.args[0].input.QueueUrl)
        .sort(),
    ).toEqual(Object.keys(DEPTHS).sort());
    expect(await cloudwatchMock.commandCalls(GetMetricDataCommand)[0]!.thisValue.config.region()).toBe(
      'eu-west-1',
    );
  });
});

describe('Function: queueNameOf', () => {
  it('is the last segment of the queue URL, the QueueName dimension of its metrics', () => {
    expect(queueNameOf(`${URL}/prod-High`)).toBe('prod-High');
  });
});
