/**
 * A function that runs out of memory fails only its own invocation, as on Lambda: the local runtime
 * replaces its execution environment and carries on. Before, a worker thread that built a 300 MB string
 * took the whole runtime down with it (`FATAL ERROR: Reached heap limit`).
 */
import * as path from 'node:path';
import { LambdaPool, type LocalFunction } from '../../local/lambda-pool';

jest.setTimeout(120_000);

const fn: LocalFunction = {
  logicalId: 'MemoryHog',
  name: 'memory-hog',
  arn: 'arn:aws:lambda:us-east-1:000000000000:function:memory-hog',
  codePath: path.join(__dirname, '..', 'fixtures', 'lambda', 'memory-hog'),
  handler: 'index.handler',
  timeoutSeconds: 60,
  memorySize: 128,
  logGroupName: '/aws/lambda/memory-hog',
  env: { ...(process.env.PATH && { PATH: process.env.PATH }) },
};

describe('Class: LambdaPool, out of memory', () => {
  let pool: LambdaPool;
  const lines: string[] = [];

  beforeEach(() => {
    pool = new LambdaPool(fn, { maxWorkers: 1, log: (line) => lines.push(line) });
  });

  afterEach(async () => {
    await pool.stop();
  });

  it.each(['json', 'objects'])(
    'fails only the invocation that allocates past MemorySize (%s), and the next one works',
    async (allocate) => {
      // Prepare
      const before = await pool.invoke({});
      expect(before).toMatchObject({ ok: true });

      // Act
      const hog = await pool.invoke({ allocate });
      const after = await pool.invoke({});

      // Assess
      expect(hog).toMatchObject({ ok: false, error: { errorType: 'Runtime.OutOfMemory' } });
      expect(after).toMatchObject({ ok: true, result: { ok: true } });
      // A new environment replaced the one that died.
      expect((after as { result: { pid: number } }).result.pid).not.toBe(
        (before as { result: { pid: number } }).result.pid,
      );
    },
  );
});
