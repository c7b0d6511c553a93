/**
 * The sequencer that starts the longest suites first on a clean clone (test/support/longest-first-sequencer.cjs).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const EXPECTED_SECONDS: Record<string, number> = require('../../support/suite-seconds.cjs');
const Sequencer = require('../../support/longest-first-sequencer.cjs');

interface FakeTest {
  path: string;
  duration?: number;
  context: { config: { cacheDirectory: string; name: string }; hasteFS: { getSize(p: string): number } };
}

function suite(relative: string, bytes: number): FakeTest {
  return {
    path: path.join(ROOT, relative),
    context: {
      config: { cacheDirectory: path.join(ROOT, 'no-such-cache'), name: 'test' },
      hasteFS: { getSize: () => bytes },
    },
  };
}

describe('the longest-first test sequencer', () => {
  it('names only suites that exist', () => {
    // Act
    const missing = Object.keys(EXPECTED_SECONDS).filter((file) => !existsSync(path.join(ROOT, file)));

    // Assess
    expect(Object.keys(EXPECTED_SECONDS).length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('puts a long suite in a small file before big files of short suites when jest has no durations', () => {
    // Prepare: file sizes as jest's own order would use them
    const tests = [
      suite('test/unit/core/process-delivery.test.ts', 90_000),
      suite('test/integration/limits.test.ts', 40_000),
      suite('test/integration/chaos.test.ts', 5_000),
    ];

    // Act
    const order = new Sequencer({ contexts: [], globalConfig: {} })
      .sort(tests)
      .map((t: FakeTest) => path.relative(ROOT, t.path));

    // Assess
    expect(order).toEqual([
      'test/integration/chaos.test.ts',
      'test/integration/limits.test.ts',
      'test/unit/core/process-delivery.test.ts',
    ]);
  });
});
