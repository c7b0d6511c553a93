import type { AgentModesResult } from '../../../bench/agent-modes';
import {
  accessLogOf,
  agentModeCost,
  atLambdaCpuShare,
  CALLBACK_ACCESS_LOG_VALUES,
  type CostResult,
  lambdaBilledMs,
  logsUsdPerMillion,
  PRICES_USD,
  provisionedMinimumCost,
  publishedCost,
} from '../../../bench/cost';
import type { PublishedRun } from '../../../bench/published';

/** A figure 5 result with nothing measured but what a test gives. */
function measuredCost(over: Partial<CostResult>): CostResult {
  return {
    tasks: 1,
    payloadBytes: 1024,
    requestCounts: { source: 'test', perTask: {} },
    consumerInvocations: 1,
    meanBatchSize: 1,
    logBytesPerTask: { handlers: 0, platformEstimate: 0 },
    itemBytes: { final: 0 },
    lines: [],
    totalUsdPerMillion: 0,
    meetsTarget: true,
    memoryMB: { producer: 256, consumer: 256 },
    ...over,
  };
}

describe('Bench: Lambda GB-s at the function’s share of a vCPU', () => {
  it('stretches only the CPU-bound part of an invocation by 1769 / memory', () => {
    // Act
    const at256 = lambdaBilledMs({ cpuMs: 4, wallMs: 10, memoryMB: 256 });
    const atOneVcpu = lambdaBilledMs({ cpuMs: 4, wallMs: 10, memoryMB: 1769 });
    const above = lambdaBilledMs({ cpuMs: 4, wallMs: 10, memoryMB: 4096 });

    // Assess: 6 ms of waiting + 4 × 1769 / 256 = 27.64 ms of CPU, rounded up as Lambda bills
    expect({ at256, atOneVcpu, above }).toEqual({ at256: 34, atOneVcpu: 10, above: 10 });
  });

  it('reprices figure 5’s GB-s line and total from figure 9’s times, the consumer at the run’s mean batch', () => {
    // Prepare
    const lines = [
      { item: 'HTTP API', perTask: 1, usdPerMillion: 1, basis: '' },
      { item: 'Lambda GB-s', perTask: 0.00001, usdPerMillion: 0.06, basis: '' },
    ];
    const measured = measuredCost({
      tasks: 100,
      consumerInvocations: 20,
      meanBatchSize: 5.5,
      lines,
      totalUsdPerMillion: 1.06,
    });

    // Act
    const repriced = atLambdaCpuShare(measured, [
      { handler: 'producer', batchSize: 1, cpuMs: 4, wallMs: 10 },
      { handler: 'consumer', batchSize: 1, cpuMs: 4, wallMs: 10 },
      { handler: 'consumer', batchSize: 10, cpuMs: 30, wallMs: 50 },
    ]);

    // Assess: producer 34 ms; consumer 34 ms for 1, 20 + 207.3 → 228 ms for 10, so 131 ms at 5.5, 0.2 a task
    const gbSeconds = (0.034 * 256) / 1024 + (0.131 * 256 * 0.2) / 1024;
    const usd = Math.round(gbSeconds * 1e6 * PRICES_USD.lambdaArmGbSecond * 1000) / 1000;
    const line = repriced.lines.find((l) => l.item === 'Lambda GB-s')!;
    expect({ usd: line.usdPerMillion, total: repriced.totalUsdPerMillion, kept: repriced.lines[0] }).toEqual({
      usd,
      total: Math.round((1 + usd) * 1000) / 1000,
      kept: lines[0],
    });
    expect(line.basis).toContain('Local wall time on a whole core gave $0.06');
  });

  it('refuses to reprice without the rows it needs', () => {
    // Act & Assess
    expect(() =>
      atLambdaCpuShare(measuredCost({}), [{ handler: 'producer', batchSize: 1, cpuMs: 1, wallMs: 1 }]),
    ).toThrow('figure 9 has no consumer row with batches of 1');
  });
});

describe('Bench: the always-on cost of provisioned mode', () => {
  it('prices the minimum pollers for every hour of the month, spread over its tasks', () => {
    // Act
    const two = provisionedMinimumCost(2, 1e6);
    const atHundredMillion = provisionedMinimumCost(2, 100e6);

    // Assess: 2 × 0.00925 × 730 = 13.505
    expect({ two, atHundredMillion }).toEqual({
      two: { usdPerMonth: 13.51, usdPerMillionTasks: 13.505 },
      atHundredMillion: { usdPerMonth: 13.51, usdPerMillionTasks: 0.135 },
    });
  });
});

describe('Bench: a published task’s DynamoDB writes', () => {
  it('prices the fan-out’s creates as counted, beside its read, not a refused create on every task', () => {
    // Prepare: 10 published tasks to two subscribers; the fan-out found no record for 2 of them and created it
    const record = (id: string) => ({
      task_id: id,
      status: 'SUCCEEDED',
      created_at: '',
      item: { task_id: id },
    });
    const run: PublishedRun = {
      tasks: 10,
      wallSeconds: 1,
      topic: 't',
      subscribers: ['echo', 'sleep'],
      awsCalls: {
        'sqs:SendMessage': 10,
        'sqs:SendMessageBatch': 10,
        'dynamodb:PutItem': 12,
        'dynamodb:GetItem': 10,
        'dynamodb:UpdateItem': 40,
      },
      awsCallsByFunction: {},
      eventSourceCalls: {},
      invocations: { Producer: Array(10).fill(5), Consumer: [10, 10, 10] },
      logLines: [],
      publishedRecords: Array.from({ length: 10 }, (_, i) => record(`p${i}`)),
      deliveryRecords: Array.from({ length: 20 }, (_, i) => record(`d${i}`)),
    };

    // Act
    const cost = publishedCost(run, {
      consumerIds: new Set(['Consumer']),
      producerIds: new Set(['Producer']),
      memoryMB: 256,
      producerMs: 5,
      consumerMs: 10,
      payloadBytes: 1024,
      queued: measuredCost({}),
      platformLogBytesPerInvocation: 0,
    });

    // Assess: 1 producer write + 0.2 fan-out creates + 2 claims + 2 results, and one read a task
    const line = (item: string) => cost.lines.find((l) => l.item === item)!;
    expect({
      writes: line('DynamoDB writes').perTask,
      reads: line('DynamoDB reads').perTask,
      modelled: cost.writesModelledPerTask,
      counted: cost.writesCountedPerTask,
    }).toEqual({ writes: 5.2, reads: 1, modelled: 5.2, counted: 5.2 });
  });
});

describe('Bench: the access log priced at its log group’s class', () => {
  const format = JSON.stringify({ requestId: '$context.requestId', status: '$context.status' });
  const resources = (logGroupClass?: string) => ({
    Stage: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: {
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': ['AccessLogs', 'Arn'] }, Format: format },
      },
    },
    AccessLogs: {
      Type: 'AWS::Logs::LogGroup',
      Properties: logGroupClass ? { LogGroupClass: logGroupClass } : {},
    },
  });

  test('reads the class of the group the stage writes to, and none when the template sets none', () => {
    expect(accessLogOf(resources('INFREQUENT_ACCESS'))).toEqual({
      accessLogBytesPerRequest: expect.any(Number),
      accessLogClass: 'INFREQUENT_ACCESS',
    });
    expect(accessLogOf(resources()).accessLogClass).toBeUndefined();
    expect(accessLogOf({})).toEqual({ accessLogBytesPerRequest: 0 });
  });

  test('a callback’s line is the heartbeat route’s, longer than POST /tasks by its route key', () => {
    const withRoute = JSON.stringify({ routeKey: '$context.routeKey', status: '$context.status' });
    const stage = resources('INFREQUENT_ACCESS');
    stage.Stage.Properties.AccessLogSettings.Format = withRoute;
    const post = accessLogOf(stage).accessLogBytesPerRequest;
    const callback = accessLogOf(stage, CALLBACK_ACCESS_LOG_VALUES);
    expect(callback.accessLogClass).toBe('INFREQUENT_ACCESS');
    expect(callback.accessLogBytesPerRequest - post).toBe(
      'POST /tasks/{id}/heartbeat'.length - 'POST /tasks'.length,
    );
  });

  test('an async agent’s callbacks pay one access-log line each, at the group’s class', () => {
    const modes = (accessLogClass?: string): AgentModesResult => ({
      tasksPerCell: 1,
      heartbeatSeconds: 60,
      heartbeatTimeoutSeconds: 180,
      consumerMemoryMB: 256,
      callbackMemoryMB: 256,
      cells: [
        { mode: 'sync', agentSeconds: 1, consumerMsPerTask: 1010 },
        { mode: 'async', agentSeconds: 1, consumerMsPerTask: 20 },
      ] as unknown as AgentModesResult['cells'],
      callbackMs: { heartbeat: 10, complete: 20 },
      awsCalls: { syncConsumerPerTask: {}, asyncConsumerPerTask: {}, perCompletion: {}, perHeartbeat: {} },
      callbackLogBytesPerInvocation: 0,
      callbackAccessLog: { accessLogBytesPerRequest: 1000, ...(accessLogClass && { accessLogClass }) },
      itemBytes: 900,
    });
    const options = { agentSeconds: 120, heartbeatSeconds: 60, platformLogBytesPerInvocation: 0 };
    const accessLine = (m: AgentModesResult) =>
      agentModeCost(m, options)
        .modes.find((mode) => mode.mode === 'async')!
        .lines.find((l) => l.item === 'CloudWatch Logs (callbacks, API access log)')!;
    // Two heartbeats and the completion: three requests through the stage.
    expect(accessLine(modes()).perTask).toBe(3000);
    expect(accessLine(modes()).usdPerMillion).toBeCloseTo(logsUsdPerMillion(3000), 3);
    expect(accessLine(modes('INFREQUENT_ACCESS')).usdPerMillion).toBeCloseTo(
      logsUsdPerMillion(3000, 'INFREQUENT_ACCESS'),
      3,
    );
    // A heartbeat's price includes its line (perHeartbeatUsd is rounded to 1e-9).
    const perHeartbeat = (m: AgentModesResult) => agentModeCost(m, options).perHeartbeatUsd;
    const without = { ...modes(), callbackAccessLog: { accessLogBytesPerRequest: 0 } };
    expect(perHeartbeat(modes()) - perHeartbeat(without)).toBeCloseTo(logsUsdPerMillion(1000) / 1e6, 9);
  });

  test('Infrequent Access costs half of Standard per byte', () => {
    // 1 GiB a million tasks: 1,073.741824 bytes a task.
    const gibPerMillion = 2 ** 30 / 1e6;
    expect(logsUsdPerMillion(gibPerMillion)).toBeCloseTo(PRICES_USD.logsIngestionPerGB, 9);
    expect(logsUsdPerMillion(gibPerMillion, 'STANDARD')).toBeCloseTo(0.5, 9);
    expect(logsUsdPerMillion(gibPerMillion, 'INFREQUENT_ACCESS')).toBeCloseTo(0.25, 9);
  });
});
