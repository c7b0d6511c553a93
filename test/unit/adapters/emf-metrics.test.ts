import { EmfMetrics, recordTransition } from '../../../lambda/adapters/metrics';
import { LimitReason } from '../../../lambda/core/limits';
import { METRIC_NAMESPACE, MetricName } from '../../../lambda/core/metric-names';
import type { TransitionEvent } from '../../../lambda/core/process-delivery';

const NOW_MS = Date.parse('2026-01-01T00:00:00.000Z');
const HIGH_ECHO = { tier: 'high', type: 'echo' };

interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [member: string]: unknown;
}

/** An EmfMetrics whose lines are kept, parsed, instead of written to stdout. */
function capture(): { metrics: EmfMetrics; lines: string[]; docs: () => EmfDocument[] } {
  const lines: string[] = [];
  const metrics = new EmfMetrics((line) => lines.push(line));
  return { metrics, lines, docs: () => lines.map((line) => JSON.parse(line) as EmfDocument) };
}

/**
 * The rules of the EMF specification that CloudWatch enforces: every dimension and metric named in the
 * directive is a top-level member, dimension values are strings, metric values are numbers or arrays of at
 * most 100 numbers.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
function expectValidEmf(doc: EmfDocument): void {
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(doc._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(typeof directive.Namespace).toBe('string');
    for (const dimensionSet of directive.Dimensions) {
      expect(dimensionSet.length).toBeLessThanOrEqual(30);
      for (const dimension of dimensionSet) expect(typeof doc[dimension]).toBe('string');
    }
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const metric of directive.Metrics) {
      const value = doc[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      expect(values.length).toBeGreaterThan(0);
      expect(values.length).toBeLessThanOrEqual(100);
      for (const v of values) expect(typeof v).toBe('number');
    }
  }
}

/** A transition of a high-priority echo task, with `fields` on top. */
function transition(fields: Partial<TransitionEvent> & Pick<TransitionEvent, 'transition'>): TransitionEvent {
  return {
    task_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    type: 'echo',
    priority: 'high',
    attempt: 1,
    ...fields,
  };
}

/** The metric values of every written document, as `{ name: value }` without the EMF envelope. */
function values(docs: EmfDocument[]): Record<string, unknown>[] {
  return docs.map((doc) =>
    Object.fromEntries(doc._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, doc[m.Name]])),
  );
}

describe('Class: EmfMetrics', () => {
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('writes one valid EMF document with the namespace, both dimension sets, the units and the values', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    metrics.count(MetricName.TasksSucceeded, HIGH_ECHO);
    metrics.add(MetricName.AgentLatency, 250, HIGH_ECHO);
    metrics.flush();

    // Assess
    expect(docs()).toEqual([
      {
        _aws: {
          Timestamp: NOW_MS,
          CloudWatchMetrics: [
            {
              Namespace: METRIC_NAMESPACE,
              Dimensions: [['Tier', 'TaskType'], ['Tier']],
              Metrics: [
                { Name: 'TasksSucceeded', Unit: 'Count' },
                { Name: 'AgentLatency', Unit: 'Milliseconds' },
              ],
            },
          ],
        },
        Tier: 'high',
        TaskType: 'echo',
        TasksSucceeded: 1,
        AgentLatency: 250,
      },
    ]);
    expectValidEmf(docs()[0]!);
  });

  it('writes one line per document, each a single JSON object', () => {
    // Prepare
    const { metrics, lines } = capture();

    // Act
    metrics.count(MetricName.TasksAccepted, HIGH_ECHO);
    metrics.count(MetricName.TasksAccepted, { tier: 'low', type: 'echo' });
    metrics.flush();

    // Assess
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('writes several values of one metric as an array, in the order they were added', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    for (const ms of [30, 10, 20]) metrics.add(MetricName.QueueWait, ms, HIGH_ECHO);
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ QueueWait: [30, 10, 20] }]);
    expectValidEmf(docs()[0]!);
  });

  it('groups values by tier and by task type, one document per pair', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    metrics.count(MetricName.TasksSucceeded, HIGH_ECHO);
    metrics.count(MetricName.TasksSucceeded, { tier: 'high', type: 'summarize' });
    metrics.count(MetricName.TasksSucceeded, { tier: 'low', type: 'echo' });
    metrics.count(MetricName.TasksFailed, HIGH_ECHO);
    metrics.flush();

    // Assess
    const byGroup = Object.fromEntries(docs().map((doc) => [`${doc.Tier}/${doc.TaskType}`, doc]));
    expect(Object.keys(byGroup).sort()).toEqual(['high/echo', 'high/summarize', 'low/echo']);
    expect(values([byGroup['high/echo']!])).toEqual([{ TasksSucceeded: 1, TasksFailed: 1 }]);
    expect(values([byGroup['high/summarize']!])).toEqual([{ TasksSucceeded: 1 }]);
    expect(values([byGroup['low/echo']!])).toEqual([{ TasksSucceeded: 1 }]);
    for (const doc of docs()) expectValidEmf(doc);
  });

  it('forgets what it flushed: a second flush writes nothing', () => {
    // Prepare
    const { metrics, lines } = capture();
    metrics.count(MetricName.TasksAccepted, HIGH_ECHO);
    metrics.flush();

    // Act
    metrics.flush();

    // Assess
    expect(lines).toHaveLength(1);
  });

  it('writes nothing when nothing was added', () => {
    // Prepare
    const { metrics, lines } = capture();

    // Act
    metrics.flush();

    // Assess
    expect(lines).toEqual([]);
  });

  it('starts afresh after a flush', () => {
    // Prepare
    const { metrics, docs } = capture();
    metrics.count(MetricName.TasksRetried, HIGH_ECHO);
    metrics.flush();

    // Act
    metrics.count(MetricName.TasksFailed, HIGH_ECHO);
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ TasksRetried: 1 }, { TasksFailed: 1 }]);
  });

  it('flushes by itself when a metric reaches 100 values, the most one EMF document may hold', () => {
    // Prepare
    const { metrics, docs } = capture();
    for (let i = 0; i < 99; i++) metrics.add(MetricName.AgentLatency, i, HIGH_ECHO);
    expect(docs()).toEqual([]);

    // Act
    metrics.add(MetricName.AgentLatency, 99, HIGH_ECHO);

    // Assess
    expect(docs()).toHaveLength(1);
    expect(docs()[0]!.AgentLatency).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expectValidEmf(docs()[0]!);
  });

  it('keeps no value twice: after the automatic flush, the next values go to a new document', () => {
    // Prepare
    const { metrics, docs } = capture();
    for (let i = 0; i < 100; i++) metrics.add(MetricName.AgentLatency, i, HIGH_ECHO);

    // Act
    metrics.add(MetricName.AgentLatency, 100, HIGH_ECHO);
    metrics.flush();

    // Assess
    expect(docs()).toHaveLength(2);
    expect((docs()[0]!.AgentLatency as number[]).length).toBe(100);
    expect(docs()[1]!.AgentLatency).toBe(100);
  });

  it('sums a counter into one value, however many were counted: its Sum is what alarms and the dashboard read', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act: a batch of 150 successes, more than the 100 values a document may hold
    for (let i = 0; i < 150; i++) metrics.count(MetricName.TasksSucceeded, HIGH_ECHO);
    metrics.count(MetricName.TasksRetried, HIGH_ECHO, 3);
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ TasksSucceeded: 150, TasksRetried: 3 }]);
    expectValidEmf(docs()[0]!);
  });

  it('refuses a metric counted and sampled in one document, which CloudWatch would read as one or the other', () => {
    // Prepare
    const { metrics } = capture();
    metrics.count(MetricName.TasksSucceeded, HIGH_ECHO);

    // Act / Assess
    expect(() => metrics.add(MetricName.TasksSucceeded, 1, HIGH_ECHO)).toThrow(
      'metric TasksSucceeded is a counter; it cannot be both',
    );
  });

  it('hands its documents to a caller that writes them itself, and forgets them', () => {
    // Prepare
    const { metrics, lines } = capture();
    metrics.count(MetricName.TasksAccepted, HIGH_ECHO);

    // Act
    const taken = metrics.takeDocuments();
    metrics.flush();

    // Assess
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ Tier: 'high', TaskType: 'echo', TasksAccepted: 1 });
    expectValidEmf(taken[0] as unknown as EmfDocument);
    expect(lines).toEqual([]);
  });

  it('writes to stdout by default', () => {
    // Prepare
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const metrics = new EmfMetrics();

    // Act
    metrics.count(MetricName.TasksCancelled, HIGH_ECHO);
    metrics.flush();

    // Assess
    expect(write).toHaveBeenCalledTimes(1);
    const line = String(write.mock.calls[0]![0]);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toMatchObject({ Tier: 'high', TaskType: 'echo', TasksCancelled: 1 });
  });
});

describe('Function: recordTransition', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each([
    ['succeeded', MetricName.TasksSucceeded],
    ['failed', MetricName.TasksFailed],
    ['retrying', MetricName.TasksRetried],
  ] as const)('counts a %s transition as %s, by tier and type', (name, metric) => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: name }));
    metrics.flush();

    // Assess
    expect(docs()).toHaveLength(1);
    expect(docs()[0]).toMatchObject({ Tier: 'high', TaskType: 'echo', [metric]: 1 });
    expect(values(docs())).toEqual([{ [metric]: 1 }]);
    expect(docs()[0]!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: metric, Unit: 'Count' }]);
  });

  it.each(['claimed', 'skipped', 'claim-lost', 'poison-message'] as const)(
    'counts nothing for a %s transition without timings',
    (name) => {
      // Prepare
      const { metrics, lines } = capture();

      // Act
      recordTransition(metrics, transition({ transition: name }));
      metrics.flush();

      // Assess
      expect(lines).toEqual([]);
    },
  );

  it('records the queue wait of a first claim in milliseconds', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'claimed', queue_wait_ms: 1200 }));
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ QueueWait: 1200 }]);
    expect(docs()[0]!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([
      { Name: 'QueueWait', Unit: 'Milliseconds' },
    ]);
  });

  it('records the agent latency and the end-to-end latency of a terminal transition, with its counter', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'succeeded', agent_ms: 300, end_to_end_ms: 4500 }));
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ TasksSucceeded: 1, AgentLatency: 300, EndToEndLatency: 4500 }]);
    expect(docs()[0]!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([
      { Name: 'TasksSucceeded', Unit: 'Count' },
      { Name: 'AgentLatency', Unit: 'Milliseconds' },
      { Name: 'EndToEndLatency', Unit: 'Milliseconds' },
    ]);
  });

  it('records a zero timing rather than dropping it', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'retrying', agent_ms: 0 }));
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ TasksRetried: 1, AgentLatency: 0 }]);
  });

  it.each([
    ['type', { type: undefined }],
    ['priority', { priority: undefined }],
  ])('records nothing for a transition without a %s (a message that could not be read)', (_name, fields) => {
    // Prepare
    const { metrics, lines } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'failed', end_to_end_ms: 10, ...fields }));
    metrics.flush();

    // Assess
    expect(lines).toEqual([]);
  });

  it('adds up the transitions of a batch into one document per tier and type', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'succeeded' }));
    recordTransition(metrics, transition({ transition: 'succeeded' }));
    recordTransition(metrics, transition({ transition: 'failed', priority: 'low' }));
    metrics.flush();

    // Assess
    const byTier = Object.fromEntries(docs().map((doc) => [doc.Tier as string, doc]));
    expect(values([byTier.high!])).toEqual([{ TasksSucceeded: 2 }]);
    expect(values([byTier.low!])).toEqual([{ TasksFailed: 1 }]);
  });
});

describe('Function: recordTransition, limits', () => {
  it.each(Object.values(LimitReason))(
    'counts a waiting transition for %s as LimitDeferrals by task type and reason, rolled up by task type, with no tier',
    (reason) => {
      // Prepare
      const { metrics, docs } = capture();

      // Act
      recordTransition(metrics, transition({ transition: 'waiting', detail: reason }));
      metrics.flush();

      // Assess
      expect(docs()).toEqual([
        {
          _aws: {
            Timestamp: expect.any(Number),
            CloudWatchMetrics: [
              {
                Namespace: METRIC_NAMESPACE,
                Dimensions: [['TaskType', 'Reason'], ['TaskType']],
                Metrics: [{ Name: 'LimitDeferrals', Unit: 'Count' }],
              },
            ],
          },
          TaskType: 'echo',
          Reason: reason,
          LimitDeferrals: 1,
        },
      ]);
      expectValidEmf(docs()[0]!);
    },
  );

  it('adds up the deferrals of one type and reason, and keeps each reason in a document of its own', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    for (const reason of [
      LimitReason.AgentConcurrencyLimit,
      LimitReason.AgentConcurrencyLimit,
      LimitReason.AgentRateLimit,
    ]) {
      recordTransition(metrics, transition({ transition: 'waiting', detail: reason }));
    }
    recordTransition(
      metrics,
      transition({ transition: 'waiting', detail: LimitReason.AgentConcurrencyLimit, priority: 'low' }),
    );
    metrics.flush();

    // Assess: both tiers' deferrals of a reason share one document (the limits are shared by the tiers)
    const byReason = Object.fromEntries(docs().map((doc) => [doc.Reason as string, doc.LimitDeferrals]));
    expect(byReason).toEqual({ AgentConcurrencyLimit: 3, AgentRateLimit: 1 });
    for (const doc of docs()) expect(doc).not.toHaveProperty('Tier');
  });

  it.each(['claimed', 'released'] as const)(
    'records agent_slots_in_use of a %s transition as the AgentSlotsInUse gauge by task type only',
    (name) => {
      // Prepare
      const { metrics, docs } = capture();

      // Act
      recordTransition(metrics, transition({ transition: name, agent_slots_in_use: 3 }));
      metrics.flush();

      // Assess
      expect(docs()).toEqual([
        {
          _aws: {
            Timestamp: expect.any(Number),
            CloudWatchMetrics: [
              {
                Namespace: METRIC_NAMESPACE,
                Dimensions: [['TaskType']],
                Metrics: [{ Name: 'AgentSlotsInUse', Unit: 'Count' }],
              },
            ],
          },
          TaskType: 'echo',
          AgentSlotsInUse: 3,
        },
      ]);
      expectValidEmf(docs()[0]!);
    },
  );

  it('records zero slots in use rather than dropping it (the last slot given back)', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'released', agent_slots_in_use: 0 }));
    metrics.flush();

    // Assess
    expect(values(docs())).toEqual([{ AgentSlotsInUse: 0 }]);
  });

  it('keeps the task metrics of a claim by tier and type beside the slots gauge by type', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    recordTransition(
      metrics,
      transition({ transition: 'claimed', queue_wait_ms: 40, agent_slots_in_use: 2 }),
    );
    metrics.flush();

    // Assess
    const byDimensions = Object.fromEntries(
      docs().map((doc) => [JSON.stringify(doc._aws.CloudWatchMetrics[0]!.Dimensions), values([doc])[0]]),
    );
    expect(byDimensions).toEqual({
      [JSON.stringify([['Tier', 'TaskType'], ['Tier']])]: { QueueWait: 40 },
      [JSON.stringify([['TaskType']])]: { AgentSlotsInUse: 2 },
    });
    for (const doc of docs()) expectValidEmf(doc);
  });

  it('counts no deferral for a waiting transition without a reason, nor a gauge for a release without a count', () => {
    // Prepare
    const { metrics, lines } = capture();

    // Act
    recordTransition(metrics, transition({ transition: 'waiting' }));
    recordTransition(metrics, transition({ transition: 'released' }));
    metrics.flush();

    // Assess
    expect(lines).toEqual([]);
  });
});
