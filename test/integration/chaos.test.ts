/**
 * The small chaos run of `npm test`: 300 tasks through the local runtime with every fault injected at once
 * (`npm run chaos` runs 2,000). The run checks the delivery guarantees itself and exits 1 on any violation;
 * it runs in a child process because fauxqs is ESM-only.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');

describe('Chaos: every fault at once', () => {
  it('keeps every guarantee for 300 tasks', () => {
    // Act
    const run = spawnSync(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      ['chaos/run.ts', '--tasks', '300', '--seed', '11'],
      {
        cwd: ROOT,
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
    const injected = (fault: string) =>
      Number(new RegExp(`^fault: ${fault}\\s+(\\d+)$`, 'm').exec(report)?.[1] ?? 0);
    const deaths = injected('dieBeforeAgent') + injected('dieAfterAgent') + injected('dieAfterCompletion');
    expect({
      sqsSendFailure: injected('sqsSendFailure') > 0,
      dynamodbThrottle: injected('dynamodbThrottle') > 0,
      duplicateDelivery: injected('duplicateDelivery') > 0,
      workerDeaths: deaths > 0,
    }).toEqual({ sqsSendFailure: true, dynamodbThrottle: true, duplicateDelivery: true, workerDeaths: true });
  });
});
