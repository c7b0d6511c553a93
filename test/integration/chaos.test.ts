/**
 * The small chaos run of `npm test`: 300 tasks through the local runtime with every fault injected at once
 * (`npm run chaos` runs 2,000), about 12 % of them on the async agent `async-echo` in each of its chaos cases
 * (silent, crash after accept, late heartbeat, complete twice, complete after a newer attempt, stale token,
 * cancelled mid-run), about 5 % on the `limited` agent (2 at once, 10 a second), and 30 % of all of them in four
 * tenants under a cap of 3 running tasks each, and about 8 % published to a topic with a succeeding and a flaky
 * subscriber while a fifth of the SNS publishes of task events fail. The run checks the delivery guarantees, the
 * limits' promises, each delivery of a published task, and that every terminal transition has its event, itself,
 * and exits 1 on any violation; it runs in a child process because fauxqs is ESM-only.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { sharedDynamoDbEndpoint } from './support/shared-dynamodb';
import { SYNTH_ENV } from './support/synth-env';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');

describe('Chaos: every fault at once', () => {
  it('keeps every guarantee for 300 tasks, sync, async, limited and published, and every event', () => {
    // Act
    const run = spawnSync(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [
        'chaos/run.ts',
        '--tasks',
        '300',
        '--seed',
        '11',
        // The integration project's shared DynamoDB Local (support/global-setup.ts), when there is one
        ...(sharedDynamoDbEndpoint() ? ['--dynamodb-endpoint', sharedDynamoDbEndpoint()!] : []),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...SYNTH_ENV },
        encoding: 'utf8',
        timeout: 540_000,
      },
    );

    // Assess: the report's own checks, and that faults really were injected
    const report = run.stdout;
    expect({
      status: run.status,
      violations: report.split('\n').filter((l) => l.startsWith('VIOLATION')),
    }).toEqual({
      status: 0,
      violations: [],
    });
    expect(report).toMatch(/^accepted \(2xx\)\s+\d+$/m);
    const figure = (name: string) => Number(new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(report)?.[1] ?? 0);
    const injected = (fault: string) => figure(`fault: ${fault}`);
    const deaths = injected('dieBeforeAgent') + injected('dieAfterAgent') + injected('dieAfterCompletion');
    expect({
      sqsSendFailure: injected('sqsSendFailure') > 0,
      dynamodbThrottle: injected('dynamodbThrottle') > 0,
      duplicateDelivery: injected('duplicateDelivery') > 0,
      workerDeaths: deaths > 0,
      snsPublishFailure: injected('snsPublishFailure') > 0,
    }).toEqual({
      sqsSendFailure: true,
      dynamodbThrottle: true,
      duplicateDelivery: true,
      workerDeaths: true,
      snsPublishFailure: true,
    });
    // Tasks were published and their flaky deliveries failed too; events were lost to SNS and replayed, and every
    // terminal transition had its event (the report's own check, a violation otherwise)
    expect({
      publishedTasks: figure('published tasks \\(chaos.fanout: echo, flaky\\)') > 0,
      deliveries: figure('deliveries') === 2 * figure('published tasks \\(chaos.fanout: echo, flaky\\)'),
      failedDeliveries: figure('  delivery FAILED') > 0,
      transitions: figure('terminal transitions \\(tasks and deliveries\\)') > 0,
      replayed: figure('events replayed from UnpublishedEvents') > 0,
      missing: figure('terminal transitions without their event'),
    }).toEqual({
      publishedTasks: true,
      deliveries: true,
      failedDeliveries: true,
      transitions: true,
      replayed: true,
      missing: 0,
    });
    // The async cases really ran: lost attempts, refused stale and late callbacks, duplicate completions, cancels
    expect({
      asyncTasks: figure('async tasks') > 0,
      lostAttempts: figure('async lost attempts \\(HeartbeatTimeout\\)') > 0,
      refusedCallbacks: figure('async callbacks refused \\(stale token, late: 401/409\\)') > 0,
      duplicateCompletions: figure('async duplicate completions answered 200') > 0,
      cancels: figure('async cancels accepted \\(202\\)') > 0,
    }).toEqual({
      asyncTasks: true,
      lostAttempts: true,
      refusedCallbacks: true,
      duplicateCompletions: true,
      cancels: true,
    });
    // The limits were under fire: tasks waited for the agent's and the tenants' slots, and workers died holding
    // slots (the report's own checks: the agent never counted more than 2 at once, no wait used an attempt or
    // reached a DLQ, and every slot was free at the end)
    expect({
      limitedTasks: figure('limited tasks') > 0,
      tenantTasks: figure('tasks with a tenant') > 0,
      agentWaits: figure('waits: AgentConcurrencyLimit') > 0,
      tenantWaits: figure('waits: TenantConcurrencyLimit') > 0,
      deathsHoldingSlots: figure('worker deaths while holding slots') > 0,
    }).toEqual({
      limitedTasks: true,
      tenantTasks: true,
      agentWaits: true,
      tenantWaits: true,
      deathsHoldingSlots: true,
    });
  });
});
